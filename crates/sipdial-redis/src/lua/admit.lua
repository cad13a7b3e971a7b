-- The dial limits of one session, checked and counted in one step, on the server's
-- clock, after checking that the store knows the session. ARGV: prefix, session, max
-- active, dials per window, window ms, in-flight ttl ms, ticket. Returns {0, 0}
-- admitted, {1, counted} too many calls, {2, retry_after_ms} rate limited, {3, 0}
-- unknown session.
-- Per admitted dial: MGET, TIME, ZREMRANGEBYSCORE x2, ZCARD x2, ZADD x2, PEXPIRE x2:
-- 10 commands.
local sid, max_active, per_window = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local window, inflight_ttl, ticket = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
-- The session's mark and its live-call count in one command ('' marks a session
-- registered without a room; nil, one this store does not know).
local known = redis.call('MGET', k('session', sid), k('active', sid))
if not known[1] then return {3, 0} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local inflight, rate = k('inflight', sid), k('rate', sid)
redis.call('ZREMRANGEBYSCORE', inflight, '-inf', now)
redis.call('ZREMRANGEBYSCORE', rate, '-inf', now - window)
local active = tonumber(known[2] or '0')
local counted = active + redis.call('ZCARD', inflight)
if counted >= max_active then return {1, counted} end
if redis.call('ZCARD', rate) >= per_window then
  local oldest = redis.call('ZRANGE', rate, 0, 0, 'WITHSCORES')
  return {2, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', rate, now, ticket)
redis.call('ZADD', inflight, now + inflight_ttl, ticket)
redis.call('PEXPIRE', rate, window)
redis.call('PEXPIRE', inflight, inflight_ttl)
return {0, 0}
