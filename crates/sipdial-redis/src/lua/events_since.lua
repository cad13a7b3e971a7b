-- ARGV: prefix, session, after id, count. {0} when the stream does not exist, else
-- {1, max deleted id, last generated id, entries after `after`, whether `after` itself
-- is still in the stream}.
local key = k('events', ARGV[2])
if redis.call('EXISTS', key) == 0 then return {0} end
local info = redis.call('XINFO', 'STREAM', key)
local maxdel, last = '0-0', '0-0'
for i = 1, #info, 2 do
  if info[i] == 'max-deleted-entry-id' then maxdel = info[i + 1]
  elseif info[i] == 'last-generated-id' then last = info[i + 1] end
end
local entries = redis.call('XRANGE', key, '(' .. ARGV[3], '+', 'COUNT', ARGV[4])
local hit = redis.call('XRANGE', key, ARGV[3], ARGV[3], 'COUNT', 1)
return {1, maxdel, last, entries, #hit}
