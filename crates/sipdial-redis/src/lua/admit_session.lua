-- Counts one new session of a client in a sliding window, on the server's clock.
-- ARGV: prefix, client, sessions per window, window ms, member (unique). Returns
-- {0, 0} admitted, {1, retry_after_ms} refused.
local key, per, window = k('csess', ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local now = now_ms()
if counted(key, now - window, per) >= per then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {1, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', key, now, ARGV[5])
redis.call('PEXPIRE', key, window)
return {0, 0}
