-- ARGV: prefix, holder, ttl ms. Renews the dispatch lease of `holder` (1), takes it
-- when nobody holds it (2), or says another replica holds it (0).
local lease = k('webhooks', 'lease')
local holder = redis.call('GET', lease)
if holder == ARGV[2] then
  redis.call('PEXPIRE', lease, ARGV[3])
  return 1
end
if not holder then
  redis.call('SET', lease, ARGV[2], 'PX', ARGV[3])
  return 2
end
return 0
