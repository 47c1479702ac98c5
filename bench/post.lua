-- post.lua - wrk script for scripts/bench: POST a webhook body to aurora-recv.
--
-- Environment:
--   AURORA_BENCH_BODY   file holding the body; each "@@@@SEQ@@@@@" in it is
--                       replaced by a 12-digit number unique to the request,
--                       so the receiver's body-hash deduplication (platform +
--                       sha256 within --dedup-window) stores every request
--   AURORA_BENCH_TOKEN  sent as "Authorization: Bearer TOKEN" (optional)
--   AURORA_BENCH_CLOSE  "1" sends "Connection: close" (one request per connection)
--
-- The URL (and so the path) comes from wrk's command line. done() prints one
-- "wrk-result" line of key=value pairs that scripts/bench reads.

local threads = {}

function setup(thread)
	table.insert(threads, thread)
	thread:set("tid", #threads)
end

function init(args)
	local path = os.getenv("AURORA_BENCH_BODY")
	local f = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
	local body = f:read("*a")
	f:close()
	local at = string.find(body, "@@@@SEQ@@@@@", 1, true)
	if at then
		pre = string.sub(body, 1, at - 1)
		post = string.sub(body, at + 12)
	else
		pre, post = body, nil
	end
	-- thread id, then the time of day, then a per-thread counter: unique
	-- across the threads of this run and across runs within a dedup window
	base = tid * 1e11 + (os.time() % 1000) * 1e8
	n = 0
	headers = { ["Content-Type"] = "application/json" }
	local token = os.getenv("AURORA_BENCH_TOKEN")
	if token and token ~= "" then
		headers["Authorization"] = "Bearer " .. token
	end
	if os.getenv("AURORA_BENCH_CLOSE") == "1" then
		headers["Connection"] = "close"
	end
end

function request()
	local body
	if post then
		n = n + 1
		body = pre .. string.format("%012.0f", base + n) .. post
	else
		body = pre
	end
	return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"wrk-result requests=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d " ..
		"p50_ms=%.3f p99_ms=%.3f\n",
		summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
		latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
