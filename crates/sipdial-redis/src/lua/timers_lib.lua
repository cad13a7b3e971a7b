-- The call timers' schedule, as a function: the timers' own script calls it, and so
-- does the store's dial script when it sets a dial's first timers with its record (the
-- timers' code, composed in; the store only passes their arguments on).
-- Arms and disarms call `id`'s timers, on the server's clock, from ARGV pairs (kind, ms
-- from now; negative = disarm) starting at ARGV[first]. Per timer: ZADD or ZREM, and
-- the server's clock read once per script (common.lua's `now_ms`).
local function schedule_timers(id, first)
  local key = P .. 'timers'
  local now = now_ms()
  for i = first, #ARGV, 2 do
    local member = ARGV[i] .. ':' .. id
    local after = tonumber(ARGV[i + 1])
    if after < 0 then
      redis.call('ZREM', key, member)
    else
      redis.call('ZADD', key, now + after, member)
    end
  end
end
