-- Arms and disarms one call's timers (timers_lib.lua).
-- ARGV: prefix, call id, then pairs (kind, ms from now; negative = disarm)
schedule_timers(ARGV[2], 3)
return 1
