-- ARGV: prefix, 'park' key json ttl cap | 'take' call-key conn-key
if ARGV[2] == 'park' then
  redis.call('RPUSH', ARGV[3], ARGV[4])
  redis.call('LTRIM', ARGV[3], -tonumber(ARGV[6]), -1)
  redis.call('PEXPIRE', ARGV[3], ARGV[5])
  return {}
end
local out = redis.call('LRANGE', ARGV[3], 0, -1)
for _, e in ipairs(redis.call('LRANGE', ARGV[4], 0, -1)) do table.insert(out, e) end
redis.call('DEL', ARGV[3], ARGV[4])
return out
