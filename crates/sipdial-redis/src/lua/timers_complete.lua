-- Forgets a claimed timer unless it was armed again since the claim.
-- ARGV: prefix, member, lease end the claim gave
local key = P .. 'timers'
local score = redis.call('ZSCORE', key, ARGV[2])
if score and tonumber(score) == tonumber(ARGV[3]) then
  redis.call('ZREM', key, ARGV[2])
  return 1
end
return 0
