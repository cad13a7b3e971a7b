-- Hands out due timers once: each moves to the end of its lease (its claim's token),
-- so no other caller sees it due until the lease runs out.
-- ARGV: prefix, max, lease ms. Returns {lease end, member...}.
local key = P .. 'timers'
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local lease = now + tonumber(ARGV[3])
local out = { tostring(lease) }
for _, member in ipairs(due) do
  redis.call('ZADD', key, lease, member)
  out[#out + 1] = member
end
return out
