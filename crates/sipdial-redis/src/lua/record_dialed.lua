-- A call dial just placed, in one step: recorded (freeing its dial slot), appended
-- to its session's event stream, and the events parked for it taken.
-- ARGV: prefix, call json, session ttl ms, ended ttl ms, max ended per session, dial
-- ticket, the earlier record expected ('' for none), stream max length, parked-by-call
-- key, parked-by-connection key, call id, session, connection, 1 if the call has ended,
-- then the dial's timer changes (timers_lib.lua's pairs; none: the caller sets them).
-- Returns {1, entry id, parked events, 1 if the timers were set}, or {0, earlier
-- record, {}, 0} when the call's record is not the one expected (the caller merges and
-- tries again). The timers are set only for the dial's own record: one recorded over
-- an earlier record may be further along, and its caller plans its timers anew.
-- Per dial (no earlier record, nothing parked): SET NX, INCR x2, SET, ZADD, ZREM, PTTL,
-- XADD, PEXPIRE, EXISTS: 10 commands, and the timers' TIME and one ZADD per timer.
local json, id, sid, conn = ARGV[2], ARGV[11], ARGV[12], ARGV[13]
local ended = ARGV[14] == '1'
local ttls = {tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])}
local key = k('call', id)
local old, written = false, false
if ARGV[7] == '' then
  -- The usual case: no record yet. Written and checked in one command.
  local ttl = ttls[1]
  if ended then ttl = ttls[2] end
  if not redis.call('SET', key, json, 'NX', 'PX', ttl) then
    return {0, redis.call('GET', key), {}, 0}
  end
  written = true
else
  local cur = redis.call('GET', key) or ''
  if cur ~= ARGV[7] then return {0, cur, {}, 0} end
  old = cur
end
put_call(json, id, sid, conn, ended, ttls, ARGV[6], old, written)
local stream = k('events', sid)
local entry = redis.call('XADD', stream, 'MAXLEN', '~', ARGV[8], '*', 'call', json)
redis.call('PEXPIRE', stream, ttls[1])
local parked = {}
if redis.call('EXISTS', ARGV[9], ARGV[10]) > 0 then
  parked = redis.call('LRANGE', ARGV[9], 0, -1)
  for _, e in ipairs(redis.call('LRANGE', ARGV[10], 0, -1)) do table.insert(parked, e) end
  redis.call('DEL', ARGV[9], ARGV[10])
end
local timers_set = 0
if written and #ARGV >= 15 then
  schedule_timers(id, 15)
  timers_set = 1
end
return {1, entry, parked, timers_set}
