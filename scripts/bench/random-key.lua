-- wrk script: POST $BODY_FILE with a fresh random, well-formed tenant key on every request (an
-- attacker guessing keys), and print one machine-readable line (WRKJSON {...}) at the end.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
local body = f:read("*a")
f:close()
local alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

function init(args)
  math.randomseed(os.time() * 1000 + math.floor(os.clock() * 1000000))
end

function request()
  local t = {}
  for i = 1, 43 do
    local n = math.random(1, 62)
    t[i] = alphabet:sub(n, n)
  end
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["X-API-Key"] = "llm-gw-" .. table.concat(t),
  }, body)
end

local statuses = {}
function response(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary)
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"non_2xx":%d}\n',
    summary.requests, summary.duration, summary.errors.status))
end
