-- ARGV: prefix, session id. The session's call records in the order they were placed.
local ids = redis.call('ZRANGE', k('calls', ARGV[2]), 0, -1)
if #ids == 0 then return {} end
local keys = {}
for i, id in ipairs(ids) do keys[i] = k('call', id) end
return redis.call('MGET', unpack(keys))
