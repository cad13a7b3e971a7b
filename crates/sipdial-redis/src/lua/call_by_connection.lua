-- ARGV: prefix, connection id.
local id = redis.call('GET', k('conn', ARGV[2]))
if not id then return false end
return redis.call('GET', k('call', id))
