-- ARGV: prefix, call json, session ttl ms, ended ttl ms, max ended per session, and
-- the dial ticket whose in-flight slot the call now takes over (or "").
local c = cjson.decode(ARGV[2])
local id, sid = c.id, c.sessionId
local session_ttl, ended_ttl, max_ended = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local old = redis.call('GET', k('call', id))
if old then
  local o = cjson.decode(old)
  if redis.call('GET', k('conn', o.connectionId)) == id then
    redis.call('DEL', k('conn', o.connectionId))
  end
  if o.state ~= 'ended' then decr_floor(k('active', o.sessionId)) end
  redis.call('ZREM', k('calls', o.sessionId), id)
  redis.call('ZREM', k('ended', o.sessionId), id)
end
local seq = redis.call('INCR', P .. 'seq')
local ended = c.state == 'ended'
local ttl = session_ttl
if ended then ttl = ended_ttl end
redis.call('SET', k('call', id), ARGV[2], 'PX', ttl)
redis.call('SET', k('conn', c.connectionId), id, 'PX', ttl)
redis.call('ZADD', k('calls', sid), seq, id)
if ended then
  redis.call('ZADD', k('ended', sid), seq, id)
  trim_ended(sid, max_ended)
else
  redis.call('INCR', k('active', sid))
end
if ARGV[6] ~= '' then redis.call('ZREM', k('inflight', sid), ARGV[6]) end
touch_session(sid, session_ttl)
return 1
