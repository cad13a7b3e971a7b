-- The idempotency keys of dials. ARGV: prefix, op, key, then per op:
--   begin:    in-flight value, in-flight ms  -> the value held, or nil when claimed
--   complete: in-flight value expected, done value, retention ms
--   release:  the start of the in-flight value expected (`i|{token}|`)
-- One script per step, so two replicas racing one key cannot both claim it (WATCH
-- does not work on the shared multiplexed connection). Every write has an expiry.
local key = k('idem', ARGV[3])
local op = ARGV[2]
if op == 'begin' then
  local held = redis.call('GET', key)
  if held then return held end
  redis.call('SET', key, ARGV[4], 'PX', ARGV[5])
  return false
elseif op == 'complete' then
  if redis.call('GET', key) == ARGV[4] then
    redis.call('SET', key, ARGV[5], 'PX', ARGV[6])
    return 1
  end
  return 0
elseif op == 'release' then
  local held = redis.call('GET', key)
  if held and string.sub(held, 1, #ARGV[4]) == ARGV[4] then
    redis.call('DEL', key)
    return 1
  end
  return 0
end
return redis.error_reply('unknown op')
