-- ARGV: prefix, call json, session ttl ms, ended ttl ms, max ended per session, the
-- dial ticket whose in-flight slot the call now takes over (or ""), call id, session,
-- connection, 1 if the call has ended.
local id = ARGV[7]
put_call(ARGV[2], id, ARGV[8], ARGV[9], ARGV[10] == '1',
  {tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])}, ARGV[6],
  redis.call('GET', k('call', id)), false)
return 1
