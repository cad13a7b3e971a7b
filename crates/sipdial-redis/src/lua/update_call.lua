-- Compare-and-set of one call: writes ARGV[3] only if the call is still ARGV[2], and,
-- where the API's event log and timers are this Redis's, appends the change's stream
-- entry and sets its timers in the same step (core's `backend::change_record`).
-- ARGV: prefix, expected json, new json, session ttl ms, ended ttl ms, max ended,
-- call id, session, connection, 1 if this update ends the call, the stream's max
-- length ('' appends no entry: the API appends it to its own log), then the change's
-- timer changes (timers_lib.lua's pairs; none: the caller sets them).
-- Returns {1, entry id or ''} written, {0, ''} when the call is no longer ARGV[2].
-- Per update: GET, SET, PTTL; an end adds DECR, the live slots' HMGET, ZREMs and DEL,
-- PEXPIRE, INCR, ZADD, PEXPIRE, ZCARD (and, past the session's kept ended calls, the
-- oldest one's removal); the entry XADD and PEXPIRE; per timer a ZADD or ZREM.
local id, sid = ARGV[7], ARGV[8]
if redis.call('GET', k('call', id)) ~= ARGV[2] then return {0, ''} end
local session_ttl = tonumber(ARGV[4])
if ARGV[10] == '1' then
  local ended_ttl = tonumber(ARGV[5])
  decr_floor(k('active', sid), session_ttl)
  free_live(id)
  redis.call('SET', k('call', id), ARGV[3], 'PX', ended_ttl)
  redis.call('PEXPIRE', k('conn', ARGV[9]), ended_ttl)
  index_ended(id, sid, session_ttl, tonumber(ARGV[6]))
else
  redis.call('SET', k('call', id), ARGV[3], 'KEEPTTL')
end
touch_session(sid, session_ttl)
local entry = ''
if ARGV[11] ~= '' then
  local stream = k('events', sid)
  entry = redis.call('XADD', stream, 'MAXLEN', '~', ARGV[11], '*', 'call', ARGV[3])
  redis.call('PEXPIRE', stream, session_ttl)
end
if #ARGV >= 12 then schedule_timers(id, 12) end
return {1, entry}
