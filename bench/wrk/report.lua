-- Shared by the benchmark's wrk scripts: counts answers whose status differs from BENCH_EXPECT
-- and, when wrk is done, writes the run's totals and its latency histogram to BENCH_RESULT
-- so that bench/api.py can merge runs into exact percentiles. The histogram is wrk's after its
-- coordinated-omission correction, which adds samples below each slow request;
-- bench/api.py takes them out again (_measured_latencies) from the totals written here.

threads = {}
expect = tonumber(os.getenv("BENCH_EXPECT") or "200")
unexpected = 0
last_unexpected = ""

function setup(thread)
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status ~= expect then
    unexpected = unexpected + 1
    last_unexpected = tostring(status) .. " " .. string.sub(body or "", 1, 200)
  end
end

function done(summary, latency, requests)
  local total, sample = 0, ""
  for _, thread in ipairs(threads) do
    total = total + (thread:get("unexpected") or 0)
    local last = thread:get("last_unexpected")
    if last and last ~= "" then sample = last end
  end
  local errors = summary.errors
  local out = assert(io.open(os.getenv("BENCH_RESULT"), "w"))
  out:write(string.format("requests %d\n", summary.requests))
  out:write(string.format("duration_us %d\n", summary.duration))
  out:write(string.format("socket_errors %d\n",
    errors.connect + errors.read + errors.write + errors.timeout))
  out:write(string.format("unexpected %d\n", total))
  out:write("sample " .. (sample:gsub("[\r\n\t]", " ")) .. "\n")
  for index = 1, #latency do
    local value, count = latency(index)
    out:write(string.format("latency %d %d\n", value, count))
  end
  out:close()
end
