-- ARGV: prefix, session, max length, ttl ms, call json. The new entry's id.
local key = k('events', ARGV[2])
local id = redis.call('XADD', key, 'MAXLEN', '~', ARGV[3], '*', 'call', ARGV[5])
redis.call('PEXPIRE', key, ARGV[4])
return id
