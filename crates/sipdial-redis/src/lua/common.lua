-- Shared helpers; ARGV[1] is always the key prefix.
local P = ARGV[1]
local function k(kind, id) return P .. kind .. ':' .. id end
local function decr_floor(key)
  local v = redis.call('DECR', key)
  if v < 0 then redis.call('SET', key, 0) end
end
-- The live-call set of a client ('c'), a target ('t') or of all ('a'): in-flight
-- tickets and live call ids, scored by when they lapse (a lost end frees at last).
local function live_key(kind, id)
  if kind == 'a' then return P .. 'alllive' end
  return k(kind .. 'live', id)
end
-- The live sets a dial ticket or call id `member` is held in (by its holder record).
local function held_in(member)
  local h = redis.call('HMGET', k('holder', member), 'c', 't')
  if not h[1] then return nil end
  local keys = {live_key('c', h[1]), live_key('a', '')}
  if h[2] and h[2] ~= '' then keys[3] = live_key('t', h[2]) end
  return keys, h
end
-- Frees the client, target and total slots of the call `id` (it ended).
local function free_live(id)
  local keys = held_in(id)
  if not keys then return end
  for _, key in ipairs(keys) do redis.call('ZREM', key, id) end
  redis.call('DEL', k('holder', id))
end
-- Hands the slots of dial `ticket` over to call `id` (live for `ttl` ms more), or
-- frees them when the call is recorded ended.
local function hand_over(ticket, id, ended, ttl)
  local keys, h = held_in(ticket)
  if not keys then return end
  redis.call('DEL', k('holder', ticket))
  local t = redis.call('TIME')
  local lapse = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + ttl
  for _, key in ipairs(keys) do
    redis.call('ZREM', key, ticket)
    if not ended then
      redis.call('ZADD', key, lapse, id)
      if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
    end
  end
  if not ended then
    redis.call('HSET', k('holder', id), 'c', h[1], 't', h[2] or '')
    redis.call('PEXPIRE', k('holder', id), ttl)
  end
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
  if ticket ~= '' then
    redis.call('ZREM', k('inflight', sid), ticket)
    hand_over(ticket, id, ended, session_ttl)
  end
  if ended then free_live(id) end
  touch_session(sid, session_ttl)
end
