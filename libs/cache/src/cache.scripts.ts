/*
 * The cache's Lua scripts. Each runs as one round trip. The entry key embeds the global and the
 * tenant's flush generations, so a flush is one INCR and old entries are never read again (they
 * age out by TTL). The entry key is built inside the script because it depends on generations
 * read there; it shares the tenant's `{t:<id>}` hash tag with KEYS[1], so in cluster mode it lives
 * in the same slot. The global generation (KEYS[last]) is only passed on a standalone Redis; in
 * cluster mode it is in another slot and the caller passes its mirrored value in ARGV instead.
 */

/**
 * The lookup, which is also the lock attempt. KEYS: tenant gen, lock, [global gen]. ARGV: entry
 * prefix, digest, mirrored global gen, token, lease ms, mode (`join`: answer from an entry or wait
 * for a leader; `fresh`: no-cache, never read or wait, but still lead if nobody does). Returns {state, entry[, value]}; a follower marks
 * the lock as awaited so the leader publishes only when someone listens.
 */
export const ACQUIRE_LUA = `
local g = redis.call('GET', KEYS[1]) or '0'
local G = ARGV[3]
if #KEYS > 2 then G = redis.call('GET', KEYS[3]) or '0' end
local entry = ARGV[1] .. G .. ':' .. g .. ':' .. ARGV[2]
local join = ARGV[6] == 'join'
if join then
  local v = redis.call('GET', entry)
  if v then return {'hit', entry, v} end
end
if redis.call('SET', KEYS[2], ARGV[4], 'NX', 'PX', ARGV[5]) then return {'leader', entry} end
if join then
  redis.call('SET', KEYS[2] .. ':w', '1', 'PX', ARGV[5])
  return {'follower', entry}
end
return {'solo', entry}
`;

/**
 * The leader's last step. KEYS: lock, entry. ARGV: value ('' = nothing to store), ttl ms, token,
 * channel, message. Stores, releases the lock only if still ours, and tells waiters.
 */
export const FINISH_LUA = `
if ARGV[1] ~= '' then redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2]) end
if redis.call('GET', KEYS[1]) == ARGV[3] then
  redis.call('DEL', KEYS[1])
  if redis.call('DEL', KEYS[1] .. ':w') == 1 then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
end
return 1
`;

/** A waiter's safety net when no message came. KEYS: lock, entry. */
export const POLL_LUA = `
local v = redis.call('GET', KEYS[2])
if v then return {'hit', v} end
if redis.call('EXISTS', KEYS[1]) == 1 then return {'wait'} end
return {'gone'}
`;

/**
 * The leader's heartbeat while its provider call runs: the lock is a short lease, so a crashed
 * leader is noticed within one lease, while a slow but live one keeps it. KEYS: lock. ARGV: token,
 * lease ms.
 */
export const RENEW_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[1] .. ':w', ARGV[2])
  return 1
end
return 0
`;
