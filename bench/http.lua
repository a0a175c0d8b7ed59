-- wrk script of `sessions bench-http` (embedded in the binary). One flow per run, named by
-- the first argument after `--`; the second is the session cookie's name:
--   keep   send back the session cookie the server set, so every request loads and saves
--          one session file (one session per wrk thread; its connections share it);
--   fresh  never send a cookie, so every request creates a new session;
--   hello  no session at all.
-- Every response must be a 200 and, in a session flow, set the session cookie; anything
-- else is counted as unexpected. done() prints one JSON line: the counts, the latency
-- percentiles in µs, and the most requests one instance had served (the web app's
-- x-instance-requests header: 1 when every request gets a fresh instance).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  mode = args[1] or "keep"
  cookie_name = args[2] or "sessionid"
  unexpected = 0
  cookies = 0
  instance_max = 0
end

function request()
  return wrk.format()
end

function response(status, headers, body)
  local key = nil
  for name, value in pairs(headers) do
    local lower = string.lower(name)
    if lower == "set-cookie" then
      key = key or string.match(value, "^" .. cookie_name .. "=([a-z0-9]+)")
    elseif lower == "x-instance-requests" then
      instance_max = math.max(instance_max, tonumber(value) or 0)
    end
  end
  if status ~= 200 or (mode ~= "hello" and not key) then
    unexpected = unexpected + 1
    return
  end
  if key then
    cookies = cookies + 1
    if mode == "keep" then
      wrk.headers["Cookie"] = cookie_name .. "=" .. key
    end
  end
end

function done(summary, latency, requests)
  local bad, set, most = 0, 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("unexpected")
    set = set + t:get("cookies")
    most = math.max(most, t:get("instance_max"))
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"unexpected":%d,"cookies_set":%d,"instance_requests_max":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, bad, set, most,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
