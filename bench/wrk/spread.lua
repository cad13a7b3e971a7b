-- wrk script for the spread dial rows (bench/run.sh): dials spread round-robin over
-- many sessions (one id a line in WRK_SESSIONS_FILE), and every call placed is hung up
-- again (DELETE) by the next request of its wrk thread, so calls end as real traffic's
-- do and no session grows. WRK_PREFIX is the API's mount (default /sip).
-- Prints one `WRKRESULT {...}` line like the shared bench.lua, with the dials (201) and
-- hang-ups (204) counted, so a row's CPU can be given per dial (with its hang-up).
local prefix = os.getenv("WRK_PREFIX") or "/sip"
local threads = {}
local sessions = {}
local queue = {}
local next_session = 0
dials, hangups, others = 0, 0, 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("WRK_SESSIONS_FILE"), "r"))
  for line in f:lines() do
    if line ~= "" then sessions[#sessions + 1] = line end
  end
  f:close()
  assert(#sessions > 0, "no sessions in WRK_SESSIONS_FILE")
  -- Threads start at different sessions.
  next_session = (tid or 0) * math.floor(#sessions / 2 + 1)
end

local json = { ["Content-Type"] = "application/json" }
local none = {}

function request()
  local call = table.remove(queue)
  if call then
    return wrk.format("DELETE", prefix .. "/calls/" .. call, none, nil)
  end
  next_session = next_session + 1
  local s = sessions[(next_session % #sessions) + 1]
  return wrk.format("POST", prefix .. "/dial", json, '{"sessionId":"' .. s .. '"}')
end

function response(status, headers, body)
  if status == 201 then
    local id = string.match(body, '"id":"([^"]+)"')
    if id then
      dials = dials + 1
      table.insert(queue, id)
    else
      others = others + 1
    end
  elseif status == 204 then
    hangups = hangups + 1
  else
    others = others + 1
  end
end

function done(summary, latency, requests)
  local d, h, o = 0, 0, 0
  for _, t in ipairs(threads) do
    d = d + t:get("dials"); h = h + t:get("hangups"); o = o + t:get("others")
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'WRKRESULT {"requests":%d,"duration_s":%.3f,"rps":%.1f,"bytes":%d,' ..
    '"lat_mean_us":%.1f,"lat_p50_us":%d,"lat_p90_us":%d,"lat_p99_us":%d,"lat_max_us":%d,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_timeout":%d,"err_status":%d,' ..
    '"dials":%d,"hangups":%d,"other_answers":%d}\n',
    summary.requests, secs, summary.requests / secs, summary.bytes,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, e.status, d, h, o))
end
