-- Counts one new session of a client in a sliding window, on the server's clock.
-- ARGV: prefix, client, sessions per window, window ms. Returns {0, 0} admitted, {1,
-- retry_after_ms} refused.
local key, per, window = k('csessions', ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local now = now_ms()
if in_window(key, now - window, per) >= per then return {1, window_wait(key, window, now)} end
redis.call('RPUSH', key, now)
redis.call('PEXPIRE', key, window)
return {0, 0}
