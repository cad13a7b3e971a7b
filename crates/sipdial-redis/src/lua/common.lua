-- Shared helpers; ARGV[1] is always the key prefix.
--
-- Cost: every redis.call from Lua costs about 1-2 µs of redis-server CPU over the
-- command itself (arguments and answer converted both ways), and a cjson.decode of a
-- call record a few more; the helpers below avoid both where the caller knows the
-- answer (ids and states come as arguments, not out of the JSON).
local P = ARGV[1]
local function k(kind, id) return P .. kind .. ':' .. id end
-- Counts down `key` to no less than 0 (a key it creates gets the expiry `ttl`).
local function decr_floor(key, ttl)
  local v = redis.call('DECR', key)
  if v < 0 then redis.call('SET', key, 0, 'PX', ttl) end
end
-- The connection id in a stored call's JSON (serde's `CallRecord`; ids hold no quote
-- or backslash, and a quote inside any string value is escaped, so the pattern can
-- only match the field itself).
local function conn_of(json) return string.match(json, '"connectionId":"([^"]+)"') end
-- The live-call set of a client ('c'), a target ('t') or of all ('a'): the tickets of
-- dials in flight and of live calls, scored by when they lapse (a lost end frees at
-- last).
local function live_key(kind, id)
  if kind == 'a' then return P .. 'alllive' end
  return k(kind .. 'live', id)
end
-- The server's clock in ms, read once per script run: a script's steps all happen at
-- one instant, and each TIME is a command.
local clock
local function now_ms()
  if not clock then
    local t = redis.call('TIME')
    clock = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return clock
end
-- How many members of sorted set `key` score above `floor` (the rest have lapsed or
-- left the window), exact whenever it could change an answer: the lapsed members are
-- dropped when the count reaches `max`, and otherwise once every 32 members added, so
-- a set under a high limit stays within 32 of its live size. One ZCARD per check
-- instead of a ZREMRANGEBYSCORE and a ZCARD.
local function counted(key, floor, max)
  local n = redis.call('ZCARD', key)
  if n >= max or (n > 0 and n % 32 == 0) then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', floor)
    n = redis.call('ZCARD', key)
  end
  return n
end
-- A sliding window of dial (or session) times in a list, oldest first: `key` gets
-- `now` appended (RPUSH) by each admitted request, and each script run reads the
-- server's clock afresh, so the list stays in time order. Appending and counting are
-- O(1), where a sorted set's ZADD is a skiplist insert (about 3 µs at the 240,000
-- members a high limit lets a window hold). Returns how many times are newer than
-- `floor`, exact whenever it could change an answer: the old ones at the head are
-- dropped when the count reaches `max`, and otherwise once every 32 appends. (Were the
-- server's clock ever set back, a time appended before it would be dropped only once
-- the times ahead of it are: the window would count too much for at most its length,
-- never too little.)
local function in_window(key, floor, max)
  local n = redis.call('LLEN', key)
  if n == 0 or (n < max and n % 32 ~= 0) then return n end
  if tonumber(redis.call('LINDEX', key, -1)) <= floor then
    redis.call('DEL', key)
    return 0
  end
  while true do
    local head = redis.call('LRANGE', key, 0, 63)
    local old = 0
    for _, t in ipairs(head) do
      if tonumber(t) > floor then break end
      old = old + 1
    end
    if old == 0 then return n end
    redis.call('LTRIM', key, old, -1)
    n = n - old
    if old < #head then return n end
  end
end
-- The wait until the oldest time of window `key` (`len` ms long) leaves it.
local function window_wait(key, len, now)
  return tonumber(redis.call('LINDEX', key, 0)) + len - now
end
-- The live sets a dial ticket or call id holds a slot in (by its holder record), the
-- holder's fields, and the sets' member: a dial's ticket stays its slots' member for
-- the call's whole life (the call's holder names it in `m`).
local function held_in(holder)
  local h = redis.call('HMGET', k('holder', holder), 'c', 't', 'm')
  if not h[1] then return nil end
  local keys = {live_key('c', h[1]), live_key('a', '')}
  if h[2] and h[2] ~= '' then keys[3] = live_key('t', h[2]) end
  return keys, h[3] or holder
end
-- Frees the client, target and total slots held by `holder` (a call that ended, or a
-- dial that placed none).
local function free_live(holder)
  local keys, member = held_in(holder)
  if not keys then return end
  for _, key in ipairs(keys) do redis.call('ZREM', key, member) end
  redis.call('DEL', k('holder', holder))
end
-- Hands the slots of dial `ticket` over to call `id`, live for `ttl` ms more: the
-- ticket stays the member and only its lapse moves (the sets' expiry, set when the
-- dial was admitted, already covers it), and the holder record moves to the call. A
-- call recorded ended frees them instead.
local function hand_over(ticket, id, ended, ttl)
  if ended then return free_live(ticket) end
  local keys = held_in(ticket)
  if not keys then return end
  local lapse = now_ms() + ttl
  for _, key in ipairs(keys) do redis.call('ZADD', key, 'XX', lapse, ticket) end
  local holder = k('holder', id)
  redis.call('RENAME', k('holder', ticket), holder)
  redis.call('HSET', holder, 'm', ticket)
  redis.call('PEXPIRE', holder, ttl)
end
-- Forgets the oldest ended calls of a session beyond `max`.
local function trim_ended(sid, max)
  local ended = k('ended', sid)
  local n = redis.call('ZCARD', ended)
  if n <= max then return end
  local old = redis.call('ZRANGE', ended, 0, n - max - 1)
  for _, id in ipairs(old) do
    local j = redis.call('GET', k('call', id))
    local conn = j and conn_of(j)
    if conn and redis.call('GET', k('conn', conn)) == id then
      redis.call('DEL', k('conn', conn))
    end
    redis.call('DEL', k('call', id))
  end
  redis.call('ZREM', k('calls', sid), unpack(old))
  redis.call('ZREMRANGEBYRANK', ended, 0, n - max - 1)
end
-- Keeps a session's keys (and its room's) alive for `ttl` ms more. Six commands, so
-- skipped while the session's call index was refreshed within the last 1/64 of `ttl`
-- (e.g. 2.6 h of 7 days): every key it refreshes was refreshed with it then, and a key
-- created since (`active`, `ended`) gets its expiry where it is created. So the keys
-- expire between 63/64 of `ttl` and `ttl` after the session's last change.
local function touch_session(sid, ttl)
  if redis.call('PTTL', k('calls', sid)) > ttl - math.floor(ttl / 64) then return end
  for _, kind in ipairs({'calls', 'active', 'ended', 'session'}) do
    redis.call('PEXPIRE', k(kind, sid), ttl)
  end
  local room = redis.call('GET', k('session', sid))
  if room and room ~= '' then redis.call('PEXPIRE', k('room', room), ttl) end
end
-- Ends the count of a live call of `sid`, and indexes it as ended (with the session's
-- retention `session_ttl`), keeping at most `max_ended`.
local function index_ended(id, sid, session_ttl, max_ended)
  local seq = redis.call('INCR', P .. 'seq')
  redis.call('ZADD', k('ended', sid), seq, id)
  redis.call('PEXPIRE', k('ended', sid), session_ttl)
  trim_ended(sid, max_ended)
  return seq
end
-- Writes call `id` of session `sid` on connection `conn` (`json`; `ended`: its state
-- is ended) with its indexes, replacing `old` (its earlier record's JSON, or false),
-- and hands the in-flight slot `ticket` (or '') over to it. `written`: the record
-- itself is stored already (SET NX by the caller).
local function put_call(json, id, sid, conn, ended, ttls, ticket, old, written)
  local session_ttl, ended_ttl, max_ended = ttls[1], ttls[2], ttls[3]
  if old then
    local o = cjson.decode(old)
    if redis.call('GET', k('conn', o.connectionId)) == id then
      redis.call('DEL', k('conn', o.connectionId))
    end
    if o.state ~= 'ended' then decr_floor(k('active', o.sessionId), session_ttl) end
    redis.call('ZREM', k('calls', o.sessionId), id)
    redis.call('ZREM', k('ended', o.sessionId), id)
  end
  local ttl = session_ttl
  if ended then ttl = ended_ttl end
  if not written then redis.call('SET', k('call', id), json, 'PX', ttl) end
  redis.call('SET', k('conn', conn), id, 'PX', ttl)
  local seq
  if ended then
    seq = index_ended(id, sid, session_ttl, max_ended)
  else
    seq = redis.call('INCR', P .. 'seq')
    -- A count that was 0 may be a new key: it needs its expiry now.
    if redis.call('INCR', k('active', sid)) == 1 then
      redis.call('PEXPIRE', k('active', sid), session_ttl)
    end
  end
  redis.call('ZADD', k('calls', sid), seq, id)
  if ticket ~= '' then
    redis.call('ZREM', k('inflight', sid), ticket)
    hand_over(ticket, id, ended, session_ttl)
  end
  if ended then free_live(id) end
  touch_session(sid, session_ttl)
end
