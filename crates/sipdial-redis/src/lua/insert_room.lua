-- ARGV: prefix, room, session, ttl ms. The mapping that holds afterwards.
local cur = redis.call('GET', k('room', ARGV[2]))
if cur then return cur end
redis.call('SET', k('room', ARGV[2]), ARGV[3], 'PX', ARGV[4])
redis.call('SET', k('session', ARGV[3]), ARGV[2], 'PX', ARGV[4])
return ARGV[3]
