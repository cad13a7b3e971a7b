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
