-- Appended to a copy of the kit's post.lua for the cache-miss scenario: every request carries a
-- distinct "seed" (an output-affecting parameter, so part of the cache key), so each one is a real
-- lookup miss followed by the provider call and a store. The run's start time keeps rounds apart.
local counter = 0
local run = os.time() % 100000
function request()
  counter = counter + 1
  local body = wrk.body:gsub("^{", '{"seed":' .. (run * 1000000 + counter) .. ",", 1)
  return wrk.format(nil, nil, nil, body)
end
