-- Shared helpers; ARGV[1] is always the key prefix.
local P = ARGV[1]
local function k(kind, id) return P .. kind .. ':' .. id end
local function decr_floor(key)
  local v = redis.call('DECR', key)
  if v < 0 then redis.call('SET', key, 0) end
end
-- Forgets the oldest ended calls of a session beyond `max`.
local function trim_ended(sid, max)
  local ended = k('ended', sid)
  local n = redis.call('ZCARD', ended)
  if n <= max then return end
  local old = redis.call('ZRANGE', ended, 0, n - max - 1)
  for _, id in ipairs(old) do
    local j = redis.call('GET', k('call', id))
    if j then
      local c = cjson.decode(j)
      if redis.call('GET', k('conn', c.connectionId)) == id then
        redis.call('DEL', k('conn', c.connectionId))
      end
    end
    redis.call('DEL', k('call', id))
    redis.call('ZREM', k('calls', sid), id)
  end
  redis.call('ZREMRANGEBYRANK', ended, 0, n - max - 1)
end
-- Keeps a session's keys (and its room's) alive for `ttl` ms more.
local function touch_session(sid, ttl)
  for _, kind in ipairs({'calls', 'active', 'ended', 'session'}) do
    redis.call('PEXPIRE', k(kind, sid), ttl)
  end
  local room = redis.call('GET', k('session', sid))
  if room then redis.call('PEXPIRE', k('room', room), ttl) end
end
-- Writes the call `json` (decoded: `c`) with its indexes, replacing an earlier record
-- of it, and hands the in-flight slot `ticket` (or '') over to it.
local function put_call(json, c, session_ttl, ended_ttl, max_ended, ticket)
  local id, sid = c.id, c.sessionId
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
  redis.call('SET', k('call', id), json, 'PX', ttl)
  redis.call('SET', k('conn', c.connectionId), id, 'PX', ttl)
  redis.call('ZADD', k('calls', sid), seq, id)
  if ended then
    redis.call('ZADD', k('ended', sid), seq, id)
    trim_ended(sid, max_ended)
  else
    redis.call('INCR', k('active', sid))
  end
  if ticket ~= '' then redis.call('ZREM', k('inflight', sid), ticket) end
  touch_session(sid, session_ttl)
end
