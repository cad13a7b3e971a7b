-- The dial limits of one session, its client, its target and the whole fleet, checked
-- and counted in one step, on the server's clock, after checking that the store knows
-- the session. ARGV: prefix, session, max active, dials per window, window ms,
-- in-flight ttl ms, ticket, client, target ('' none), then max active and dials per
-- window of the client, the total and the target. Returns {0, 0} admitted, {1,
-- counted} too many calls, {2, retry_after_ms} rate limited, {3, 0} unknown session;
-- beyond the session's: {4 + 2i, 0} too many calls and {5 + 2i, retry_after_ms} rate
-- limited, for i = 0 client, 1 total, 2 target.
local sid, max_active, per_window = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local window, inflight_ttl, ticket = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local client, target = ARGV[8], ARGV[9]
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
local function over_rate(key, per)
  if redis.call('ZCARD', key) < per then return nil end
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return tonumber(oldest[2]) + window - now
end
local wait = over_rate(rate, per_window)
if wait then return {2, wait} end
-- {live set, rate set, max live, dials per window} of the client, total and target:
-- live sets hold in-flight tickets and then live call ids, scored by when they lapse.
local scopes = {
  {live_key('c', client), k('crate', client), tonumber(ARGV[10]), tonumber(ARGV[11])},
  {live_key('a', ''), P .. 'allrate', tonumber(ARGV[12]), tonumber(ARGV[13])},
}
if target ~= '' then
  scopes[3] = {live_key('t', target), k('trate', target), tonumber(ARGV[14]), tonumber(ARGV[15])}
end
for i, s in ipairs(scopes) do
  redis.call('ZREMRANGEBYSCORE', s[1], '-inf', now)
  redis.call('ZREMRANGEBYSCORE', s[2], '-inf', now - window)
  if redis.call('ZCARD', s[1]) >= s[3] then return {2 + 2 * i, 0} end
  wait = over_rate(s[2], s[4])
  if wait then return {3 + 2 * i, wait} end
end
redis.call('ZADD', rate, now, ticket)
redis.call('ZADD', inflight, now + inflight_ttl, ticket)
redis.call('PEXPIRE', rate, window)
redis.call('PEXPIRE', inflight, inflight_ttl)
for _, s in ipairs(scopes) do
  redis.call('ZADD', s[2], now, ticket)
  redis.call('PEXPIRE', s[2], window)
  redis.call('ZADD', s[1], now + inflight_ttl, ticket)
  if redis.call('PTTL', s[1]) < inflight_ttl then redis.call('PEXPIRE', s[1], inflight_ttl) end
end
redis.call('HSET', k('holder', ticket), 'c', client, 't', target)
redis.call('PEXPIRE', k('holder', ticket), inflight_ttl)
return {0, 0}
