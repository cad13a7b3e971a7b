-- ARGV: prefix, room, owner. Deletes the claim only if the owner still holds it.
if redis.call('GET', k('roomclaim', ARGV[2])) == ARGV[3] then
  redis.call('DEL', k('roomclaim', ARGV[2]))
end
return 1
