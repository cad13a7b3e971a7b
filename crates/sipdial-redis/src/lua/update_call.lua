-- Compare-and-set of one call: writes ARGV[3] only if the call is still ARGV[2].
-- ARGV: prefix, expected json, new json, session ttl ms, ended ttl ms, max ended,
-- call id, session, connection, 1 if this update ends the call.
-- Per update: GET, SET, PTTL; an end adds DECR, INCR, ZADD, PEXPIRE x2, ZCARD (and,
-- past the session's kept ended calls, the oldest one's removal).
local id, sid = ARGV[7], ARGV[8]
if redis.call('GET', k('call', id)) ~= ARGV[2] then return 0 end
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
return 1
