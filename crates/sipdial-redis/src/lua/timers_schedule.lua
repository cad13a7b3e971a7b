-- Arms and disarms one call's timers, on the server's clock.
-- ARGV: prefix, call id, then pairs (kind, ms from now; negative = disarm)
local key = P .. 'timers'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 3, #ARGV, 2 do
  local member = ARGV[i] .. ':' .. ARGV[2]
  local after = tonumber(ARGV[i + 1])
  if after < 0 then
    redis.call('ZREM', key, member)
  else
    redis.call('ZADD', key, now + after, member)
  end
end
return 1
