-- ARGV: prefix, call json, session ttl ms, ended ttl ms, max ended per session, and
-- the dial ticket whose in-flight slot the call now takes over (or "").
put_call(ARGV[2], cjson.decode(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]),
  tonumber(ARGV[5]), ARGV[6])
return 1
