-- ARGV: prefix, call, capacity, counter ttl ms, destination ('' = global), change.
-- Numbers the change in its call and queues it unless the outbox is full (the
-- number is used either way, so a receiver sees a gap). {queued 1|0, sequence}.
local counter = k('webhook-seq', ARGV[2])
local seq = redis.call('INCR', counter)
redis.call('PEXPIRE', counter, ARGV[4])
local outbox = k('webhooks', 'outbox')
if redis.call('XLEN', outbox) >= tonumber(ARGV[3]) then return {0, seq} end
redis.call('XADD', outbox, '*', 'call', ARGV[2], 'seq', seq, 'dest', ARGV[5], 'change', ARGV[6])
return {1, seq}
