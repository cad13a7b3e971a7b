-- Compare-and-set of one call: writes ARGV[3] only if the call is still ARGV[2].
-- ARGV: prefix, expected json, new json, session ttl ms, ended ttl ms, max ended
local o = cjson.decode(ARGV[2])
if redis.call('GET', k('call', o.id)) ~= ARGV[2] then return 0 end
local n = cjson.decode(ARGV[3])
local sid = n.sessionId
if o.state ~= 'ended' and n.state == 'ended' then
  local ended_ttl = tonumber(ARGV[5])
  decr_floor(k('active', sid))
  free_live(n.id)
  local seq = redis.call('INCR', P .. 'seq')
  redis.call('ZADD', k('ended', sid), seq, n.id)
  redis.call('SET', k('call', n.id), ARGV[3], 'PX', ended_ttl)
  redis.call('PEXPIRE', k('conn', n.connectionId), ended_ttl)
  trim_ended(sid, tonumber(ARGV[6]))
else
  redis.call('SET', k('call', n.id), ARGV[3], 'KEEPTTL')
end
touch_session(sid, tonumber(ARGV[4]))
return 1
