/*
 * The Lua scripts of admission control. Each runs atomically on the Redis node that owns the
 * tenant's hash-tag slot (all KEYS of one call share `{t:<tenant>}`), reads the time from Redis
 * (TIME: one clock for every instance), and touches only the keys it is given, so they work
 * unchanged on Redis Cluster. Times are microseconds; money is integer units of 1e-10 USD.
 *
 * Numbers written back go through istr() (`%d`): Redis would otherwise format a Lua number like
 * 1.7e+15, which HINCRBY refuses and which loses digits. All values stay below 2^53, so Lua's
 * doubles hold them exactly.
 *
 * Keys of a tenant (docs/limits-and-budgets.md):
 *   rl:req            ZSET  request slots: member = slot id, score = admission time
 *   rl:tok            ZSET  token entries: member = slot id, score = admission time
 *   rl:tokn           HASH  slot id → tokens counted; `#sum` = total of the live entries
 *   bud:<YYYY-MM>     HASH  spend, reserved, built (when rebuilt from Postgres),
 *                           r:<id> = reserved units, a:<threshold> = alert claimed, x:<id> = replay applied
 *   bud:<YYYY-MM>:res ZSET  reservation id → expiry time
 */

const PRELUDE = `
if redis.replicate_commands then redis.replicate_commands() end
local function istr(n) return string.format('%d', n) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local deadline = tonumber(ARGV[1])
if deadline > 0 and now > deadline then return {'STALE', now} end
`;

/* Drops token entries that left the window, keeping `#sum` equal to the live entries' total. */
const EXPIRE_TOKENS = `
local function expireTokens(zkey, hkey, cutoff)
  if redis.call('ZCARD', zkey) == 0 then
    redis.call('DEL', hkey)
    return 0
  end
  while true do
    local old = redis.call('ZRANGEBYSCORE', zkey, '-inf', cutoff, 'LIMIT', 0, 500)
    if #old == 0 then break end
    local amounts = redis.call('HMGET', hkey, unpack(old))
    local dec = 0
    for i = 1, #amounts do if amounts[i] then dec = dec + tonumber(amounts[i]) end end
    redis.call('ZREM', zkey, unpack(old))
    redis.call('HDEL', hkey, unpack(old))
    redis.call('HINCRBY', hkey, '#sum', istr(-dec))
    if #old < 500 then break end
  end
  local used = tonumber(redis.call('HGET', hkey, '#sum') or '0')
  if used < 0 then used = 0 end
  return used
end
`;

/*
 * Releases reservations whose holder never settled them (a killed instance), so a crash cannot
 * hold budget forever.
 */
const EXPIRE_RESERVATIONS = `
local function expireReservations(mkey, rkey, now)
  while true do
    local ex = redis.call('ZRANGEBYSCORE', rkey, '-inf', now, 'LIMIT', 0, 500)
    if #ex == 0 then break end
    local fields = {}
    for i = 1, #ex do fields[i] = 'r:' .. ex[i] end
    local amounts = redis.call('HMGET', mkey, unpack(fields))
    local dec = 0
    for i = 1, #amounts do if amounts[i] then dec = dec + tonumber(amounts[i]) end end
    redis.call('HDEL', mkey, unpack(fields))
    redis.call('ZREM', rkey, unpack(ex))
    redis.call('HINCRBY', mkey, 'reserved', istr(-dec))
    if #ex < 500 then break end
  end
end
`;

/*
 * ADMIT — one round trip for every admission check of a request.
 * KEYS: 1 rl:req, 2 rl:tok, 3 rl:tokn, 4 bud:<month>, 5 bud:<month>:res
 * ARGV: 1 deadline (µs, 0 = none), 2 window (µs), 3 request limit, 4 tokens per window (-1 = none),
 *       5 slot/reservation id, 6 '1' = cache miss (reserve tokens and budget), '2' = a speculative
 *       miss (sent while the cache lookup is still out: refused by the budget, it takes nothing
 *       and claims nothing, so a hit can still take just its slot), '0' = a hit, 7 token demand,
 *       8 worst-case cost, 9 budget (-1 = unlimited), 10 month start (µs), 11 month end (µs),
 *       12 month hash expiry (unix ms), 13 reservation lifetime (µs), 14 spend from Postgres to
 *       create a missing month with ('' = none yet), 15 '1' = track the budget, 16 threshold a
 *       budget refusal claims ('' = none), 17.. pairs (threshold name, units) claimed silently
 *       when the month is rebuilt (they were crossed before the data was lost).
 * Replies (Redis's time always second):
 *          {'OK', now, count, oldestSlot, spend, reserved, tokensUsed, oldestTokenEntry}
 *          {'RATE', now, count, waitUs}        requests exhausted: nothing taken
 *          {'TOKENS', now, tokensUsed, waitUs, count, oldestSlot}  tokens exhausted: nothing taken
 *          {'BUDGET', now, count, oldestSlot, spend, reserved, claimed}  slot taken, nothing reserved
 *          {'UNDECIDED', now}  a speculative miss the budget refuses: nothing taken, nothing claimed
 *          {'REBUILD', now}  month hash missing: call again with ARGV[14]
 *          {'MONTH', now}    the caller's month is not Redis's month: call again
 *          {'STALE', now}    ran after its deadline (Redis was frozen): did nothing
 */
export const ADMIT_LUA = `${PRELUDE}${EXPIRE_TOKENS}${EXPIRE_RESERVATIONS}
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local tpm = tonumber(ARGV[4])
local id = ARGV[5]
local miss = ARGV[6] ~= '0'
local speculative = ARGV[6] == '2'
local tokDemand = tonumber(ARGV[7])
local worst = tonumber(ARGV[8])
local budget = tonumber(ARGV[9])
local trackBudget = miss and ARGV[15] == '1'
local cutoff = now - window
local windowMs = math.floor(window / 1000) + 1000

if trackBudget then
  if now < tonumber(ARGV[10]) or now >= tonumber(ARGV[11]) then return {'MONTH', now} end
  if redis.call('EXISTS', KEYS[4]) == 0 then
    if ARGV[14] == '' then return {'REBUILD', now} end
    local initial = tonumber(ARGV[14])
    redis.call('HSET', KEYS[4], 'spend', ARGV[14], 'reserved', '0', 'built', istr(now))
    redis.call('PEXPIREAT', KEYS[4], ARGV[12])
    for i = 17, #ARGV, 2 do
      local units = tonumber(ARGV[i + 1])
      if units > 0 and initial >= units then
        redis.call('HSETNX', KEYS[4], 'a:' .. ARGV[i], istr(now))
      end
    end
  end
end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  -- The slot frees when enough entries leave for count to drop below the limit: entry count-limit.
  local wait = window
  if limit > 0 then
    local e = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
    wait = tonumber(e[2]) + window - now
  end
  return {'RATE', now, count, wait}
end

local tokUsed = -1
if tpm >= 0 then
  tokUsed = expireTokens(KEYS[2], KEYS[3], cutoff)
  if miss and tokUsed + tokDemand > tpm then
    local wait = window
    if tokDemand <= tpm then
      local need = tokUsed + tokDemand - tpm
      local freed = 0
      local offset = 0
      local found = false
      while not found do
        local es = redis.call('ZRANGE', KEYS[2], offset, offset + 199, 'WITHSCORES')
        if #es == 0 then break end
        local ids = {}
        for i = 1, #es, 2 do ids[#ids + 1] = es[i] end
        local amounts = redis.call('HMGET', KEYS[3], unpack(ids))
        for j = 1, #ids do
          freed = freed + tonumber(amounts[j] or '0')
          if freed >= need then
            wait = tonumber(es[2 * j]) + window - now
            found = true
            break
          end
        end
        offset = offset + 200
      end
    end
    local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    local oldestSlot = -1
    if #first > 0 then oldestSlot = tonumber(first[2]) end
    return {'TOKENS', now, tokUsed, wait, count, oldestSlot}
  end
end

local spend = 0
local reserved = 0
local budgetOk = true
if trackBudget then
  expireReservations(KEYS[4], KEYS[5], now)
  local m = redis.call('HMGET', KEYS[4], 'spend', 'reserved')
  spend = tonumber(m[1] or '0')
  reserved = tonumber(m[2] or '0')
  if budget >= 0 and spend + reserved + worst > budget then budgetOk = false end
end

-- A hit would pass where this miss is refused: the caller asks again once it knows which it is.
if not budgetOk and speculative then return {'UNDECIDED', now} end

-- Past the limiter: the request takes its slot whatever happens next (docs/api.md §4 and §7).
redis.call('ZADD', KEYS[1], istr(now), id)
redis.call('PEXPIRE', KEYS[1], windowMs)
local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])

if not budgetOk then
  local claimed = ''
  if ARGV[16] ~= '' and redis.call('HSETNX', KEYS[4], 'a:' .. ARGV[16], istr(now)) == 1 then
    claimed = ARGV[16]
  end
  return {'BUDGET', now, count + 1, oldest, spend, reserved, claimed}
end

local tokOldest = -1
if tpm >= 0 then
  if miss then
    redis.call('ZADD', KEYS[2], istr(now), id)
    redis.call('HSET', KEYS[3], id, istr(tokDemand))
    tokUsed = redis.call('HINCRBY', KEYS[3], '#sum', istr(tokDemand))
    redis.call('PEXPIRE', KEYS[2], windowMs)
    redis.call('PEXPIRE', KEYS[3], windowMs)
  end
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  if #first > 0 then tokOldest = tonumber(first[2]) end
end

if trackBudget then
  redis.call('HSET', KEYS[4], 'r:' .. id, istr(worst))
  reserved = redis.call('HINCRBY', KEYS[4], 'reserved', istr(worst))
  redis.call('ZADD', KEYS[5], istr(now + tonumber(ARGV[13])), id)
  redis.call('PEXPIREAT', KEYS[5], ARGV[12])
end
return {'OK', now, count + 1, oldest, spend, reserved, tokUsed, tokOldest}
`;

/*
 * SETTLE — turns a reservation into spend (or releases it) and settles the token entry. Spend goes
 * to the month the request finished in (Redis's clock), like the audit record's created_at, so a
 * request straddling midnight on the 1st counts where the ledger counts it; the reservation is
 * released from the month it was taken in.
 * KEYS: 1 rl:tok, 2 rl:tokn, 3 bud:<reservation month>, 4 bud:<reservation month>:res,
 *       5 bud:<current month>
 * ARGV: 1 deadline, 2 reservation id, 3 mode, 4 actual tokens (-1 = leave as is),
 *       5 actual cost (0 = release only), 6 not-after (µs; mode 'unsent'), 7 threshold to claim
 *       regardless of spend ('' = none; a refusal seen while Redis was away), 8 current month
 *       start (µs), 9 current month end (µs), 10.. pairs (threshold name, units).
 * Modes — how to count a cost whose reservation is not in the hash:
 *   live       the first and only attempt: the reservation expired or was lost with Redis's data,
 *              and the request's audit record cannot be in the Postgres snapshot the month was
 *              rebuilt from (that snapshot predates the hash, which predates this call) → count it.
 *   unsent     replayed after an outage; the first attempt never reached Redis. Count it only if
 *              the month hash was built before ARGV[6] (a rebuild after that may already include
 *              the audit record), and only once (x:<id> marks it applied).
 *   ambiguous  replayed; the first attempt may have run (it timed out). Its reservation being gone
 *              means it did → count nothing.
 * Reply: {'OK', now, spend, reserved, applied, claimed...} | {'NOKEY', now} | {'MONTH', now}
 *        | {'STALE', now}. NOKEY: the current month has no hash yet; the reservation is released
 *        and the cost is left to the month's rebuild from Postgres, which will include it.
 */
export const SETTLE_LUA = `${PRELUDE}
if now < tonumber(ARGV[8]) or now >= tonumber(ARGV[9]) then return {'MONTH', now} end
local id = ARGV[2]
local mode = ARGV[3]
local tokens = tonumber(ARGV[4])
if tokens >= 0 then
  local old = redis.call('HGET', KEYS[2], id)
  if old then
    redis.call('HSET', KEYS[2], id, istr(tokens))
    redis.call('HINCRBY', KEYS[2], '#sum', istr(tokens - tonumber(old)))
  end
end
local held = redis.call('HGET', KEYS[3], 'r:' .. id)
if held then
  redis.call('HDEL', KEYS[3], 'r:' .. id)
  redis.call('HINCRBY', KEYS[3], 'reserved', istr(-tonumber(held)))
  redis.call('ZREM', KEYS[4], id)
end
if redis.call('EXISTS', KEYS[5]) == 0 then return {'NOKEY', now} end
local cost = tonumber(ARGV[5])
local apply = false
if held or mode == 'live' then
  apply = true
elseif mode == 'unsent' then
  local built = tonumber(redis.call('HGET', KEYS[5], 'built') or '0')
  apply = built < tonumber(ARGV[6]) and redis.call('HSETNX', KEYS[5], 'x:' .. id, istr(now)) == 1
end
local spend
if apply and cost > 0 then
  spend = redis.call('HINCRBY', KEYS[5], 'spend', istr(cost))
else
  spend = tonumber(redis.call('HGET', KEYS[5], 'spend') or '0')
end
local reply = {'OK', now, spend, tonumber(redis.call('HGET', KEYS[5], 'reserved') or '0'), apply and 1 or 0}
if ARGV[7] ~= '' and redis.call('HSETNX', KEYS[5], 'a:' .. ARGV[7], istr(now)) == 1 then
  reply[#reply + 1] = ARGV[7]
end
for i = 10, #ARGV, 2 do
  local units = tonumber(ARGV[i + 1])
  if units > 0 and spend >= units and redis.call('HSETNX', KEYS[5], 'a:' .. ARGV[i], istr(now)) == 1 then
    reply[#reply + 1] = ARGV[i]
  end
end
return reply
`;

/*
 * RELEASE — hands back the tokens and budget of speculative admissions whose lookup hit (their
 * slots stay), several of one tenant and month per call. Nothing to spend and nothing to claim, so
 * none of SETTLE's modes: a reservation no longer held (expired, lost with Redis's data) is skipped.
 * KEYS: 1 rl:tokn, 2 bud:<reservation month>, 3 bud:<reservation month>:res   ARGV: ids
 * Reply: number of budget reservations released.
 */
export const RELEASE_LUA = `
local tokens = 0
local units = 0
local released = 0
for i = 1, #ARGV do
  local id = ARGV[i]
  local t = redis.call('HGET', KEYS[1], id)
  if t and t ~= '0' then
    redis.call('HSET', KEYS[1], id, '0')
    tokens = tokens + tonumber(t)
  end
  local held = redis.call('HGET', KEYS[2], 'r:' .. id)
  if held then
    redis.call('HDEL', KEYS[2], 'r:' .. id)
    redis.call('ZREM', KEYS[3], id)
    units = units + tonumber(held)
    released = released + 1
  end
end
if tokens ~= 0 then redis.call('HINCRBY', KEYS[1], '#sum', -tokens) end
if units ~= 0 then redis.call('HINCRBY', KEYS[2], 'reserved', -units) end
return released
`;

/*
 * REASSERT — a reservation taken in Postgres while Redis was away becomes visible to Redis again,
 * so shared admissions count it while its request is still running.
 * KEYS: 1 bud:<month>, 2 bud:<month>:res   ARGV: 1 deadline, 2 id, 3 units, 4 expiry (µs)
 * Reply: {'OK', now} | {'NOKEY', now} | {'STALE', now}
 */
export const REASSERT_LUA = `${PRELUDE}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOKEY', now} end
if redis.call('HSETNX', KEYS[1], 'r:' .. ARGV[2], ARGV[3]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'reserved', ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
end
return {'OK', now}
`;

/*
 * RENEW — pushes the expiry of reservations still held to now + lifetime, for requests that
 * legitimately outlive the lifetime (a stream lasts as long as its provider keeps sending). Never
 * shortens an expiry, and never re-creates a reservation already gone (settled, released, or
 * expired and dropped by an admission): a reservation still in the hash is counted in `reserved`
 * whatever its expiry, so moving its expiry forward only keeps it counted.
 * KEYS: 1 bud:<reservation month>, 2 bud:<reservation month>:res   ARGV: 1 lifetime (µs), 2.. ids
 * Reply: {renewed, now}
 */
export const RENEW_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local expiry = now + tonumber(ARGV[1])
local renewed = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local score = redis.call('ZSCORE', KEYS[2], id)
  if score and redis.call('HEXISTS', KEYS[1], 'r:' .. id) == 1 then
    if tonumber(score) < expiry then
      redis.call('ZADD', KEYS[2], string.format('%d', expiry), id)
    end
    renewed = renewed + 1
  end
end
return {renewed, now}
`;

/*
 * PEEK — read-only window state for non-completion routes.
 * KEYS: 1 rl:req, 2 rl:tok, 3 rl:tokn   ARGV: 1 window (µs), 2 '1' = tokens limited
 * Reply: {now, count, oldestSlot (-1), tokensUsed, oldestTokenEntry (-1)}
 */
export const PEEK_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cutoff = now - tonumber(ARGV[1])
local count = redis.call('ZCOUNT', KEYS[1], '(' .. string.format('%d', cutoff), '+inf')
local first = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. string.format('%d', cutoff), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
local oldest = -1
if #first > 0 then oldest = tonumber(first[2]) end
local used = 0
local tokOldest = -1
if ARGV[2] == '1' then
  used = tonumber(redis.call('HGET', KEYS[3], '#sum') or '0')
  local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', string.format('%d', cutoff))
  for i = 1, #old do used = used - tonumber(redis.call('HGET', KEYS[3], old[i]) or '0') end
  if used < 0 then used = 0 end
  local tf = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. string.format('%d', cutoff), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if #tf > 0 then tokOldest = tonumber(tf[2]) end
end
return {now, count, oldest, used, tokOldest}
`;

/*
 * SPEND — this month's spend and live reservations (expired ones left out), read-only.
 * KEYS: 1 bud:<month>, 2 bud:<month>:res   Reply: {exists (0/1), spend, reserved}
 */
export const SPEND_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0, 0} end
local m = redis.call('HMGET', KEYS[1], 'spend', 'reserved')
local reserved = tonumber(m[2] or '0')
local ex = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', string.format('%d', now))
for i = 1, #ex do reserved = reserved - tonumber(redis.call('HGET', KEYS[1], 'r:' .. ex[i]) or '0') end
if reserved < 0 then reserved = 0 end
return {1, tonumber(m[1] or '0'), reserved}
`;
