-- The dial limits of one session, its client, its target and the whole fleet, checked
-- and counted in one step, on the server's clock, after checking that the store knows
-- the session. ARGV: prefix, session, max active, dials per window, window ms,
-- in-flight ttl ms, ticket, client, target ('' none), then max active and dials per
-- window of the client, the total and the target, then the live sets' expiry ms (the
-- session retention plus the in-flight ttl: a dial's ticket stays its slots' member
-- for as long as its call may live, see common.lua's `hand_over`). Returns {0, 0}
-- admitted, {1, counted} too many calls, {2, retry_after_ms} rate limited, {3, 0}
-- unknown session; beyond the session's: {4 + 2i, 0} too many calls and {5 + 2i,
-- retry_after_ms} rate limited, for i = 0 client, 1 total, 2 target.
-- Per admitted dial (nothing lapsed to drop): MGET, TIME, ZCARD and LLEN and 4 writes
-- (ZADD, RPUSH, PEXPIRE x2) for the session, the same per other scope, HSET and
-- PEXPIRE of the holder. The rate windows are lists of times (common.lua's
-- `in_window`), the live sets sorted sets (members leave by id when a call ends).
local sid, max_active, per_window = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local window, inflight_ttl, ticket = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local client, target = ARGV[8], ARGV[9]
local live_ttl = tonumber(ARGV[16])
-- The session's mark and its live-call count in one command ('' marks a session
-- registered without a room; nil, one this store does not know).
local known = redis.call('MGET', k('session', sid), k('active', sid))
if not known[1] then return {3, 0} end
local now = now_ms()
local inflight, rate = k('inflight', sid), k('dials', sid)
local active = tonumber(known[2] or '0')
local in_flight = counted(inflight, now, max_active - active)
if active + in_flight >= max_active then return {1, active + in_flight} end
local function over_rate(key, per)
  if in_window(key, now - window, per) < per then return nil end
  return window_wait(key, window, now)
end
local wait = over_rate(rate, per_window)
if wait then return {2, wait} end
-- {live set, rate window, max live, dials per window} of the client, total and target:
-- live sets hold the tickets of dials in flight and of live calls, scored by when they
-- lapse.
local scopes = {
  {live_key('c', client), k('cdials', client), tonumber(ARGV[10]), tonumber(ARGV[11])},
  {live_key('a', ''), P .. 'alldials', tonumber(ARGV[12]), tonumber(ARGV[13])},
}
if target ~= '' then
  scopes[3] = {live_key('t', target), k('tdials', target), tonumber(ARGV[14]), tonumber(ARGV[15])}
end
for i, s in ipairs(scopes) do
  if counted(s[1], now, s[3]) >= s[3] then return {2 + 2 * i, 0} end
  wait = over_rate(s[2], s[4])
  if wait then return {3 + 2 * i, wait} end
end
redis.call('RPUSH', rate, now)
redis.call('ZADD', inflight, now + inflight_ttl, ticket)
redis.call('PEXPIRE', rate, window)
redis.call('PEXPIRE', inflight, inflight_ttl)
for _, s in ipairs(scopes) do
  redis.call('RPUSH', s[2], now)
  redis.call('PEXPIRE', s[2], window)
  redis.call('ZADD', s[1], now + inflight_ttl, ticket)
  -- Never shorter than any member's lapse: a call's lapse is its session retention.
  redis.call('PEXPIRE', s[1], live_ttl)
end
redis.call('HSET', k('holder', ticket), 'c', client, 't', target)
redis.call('PEXPIRE', k('holder', ticket), inflight_ttl)
return {0, 0}
