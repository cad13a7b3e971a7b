-- Frees the slots of a dial that placed no call: its session's in-flight slot and its
-- client, target and total ones. ARGV: prefix, session, ticket.
redis.call('ZREM', k('inflight', ARGV[2]), ARGV[3])
free_live(ARGV[3])
return 1
