-- A call dial just placed, in one step: recorded (freeing its dial slot), appended
-- to its session's event stream, and the events parked for it taken.
-- ARGV: prefix, call json, session ttl ms, ended ttl ms, max ended per session, dial
-- ticket, the earlier record expected ('' for none), stream max length, parked-by-call
-- key, parked-by-connection key.
-- Returns {1, entry id, parked events}, or {0, earlier record, {}} when the call's
-- record is not the one expected (the caller merges and tries again).
local c = cjson.decode(ARGV[2])
local cur = redis.call('GET', k('call', c.id)) or ''
if cur ~= ARGV[7] then return {0, cur, {}} end
local session_ttl = tonumber(ARGV[3])
put_call(ARGV[2], c, session_ttl, tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6])
local stream = k('events', c.sessionId)
local id = redis.call('XADD', stream, 'MAXLEN', '~', ARGV[8], '*', 'call', ARGV[2])
redis.call('PEXPIRE', stream, session_ttl)
local parked = redis.call('LRANGE', ARGV[9], 0, -1)
for _, e in ipairs(redis.call('LRANGE', ARGV[10], 0, -1)) do table.insert(parked, e) end
redis.call('DEL', ARGV[9], ARGV[10])
return {1, id, parked}
