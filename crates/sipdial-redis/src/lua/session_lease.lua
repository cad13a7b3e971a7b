-- The reconcile lease of a session. ARGV: prefix, op, session, holder[, ttl ms].
--   take:    1 when `holder` has it now (taken, or renewed), 0 when another has it
--   release: deletes it if `holder` has it
local key = k('reconcile-lease', ARGV[3])
if ARGV[2] == 'take' then
  local held = redis.call('GET', key)
  if held and held ~= ARGV[4] then return 0 end
  redis.call('SET', key, ARGV[4], 'PX', ARGV[5])
  return 1
end
if redis.call('GET', key) == ARGV[4] then redis.call('DEL', key) end
return 1
