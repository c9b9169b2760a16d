-- wrk script: POSTs bulk attempt batches, rotating over the agents' keys; every attempt gets an
-- external id unique to this run.
-- BENCH_BODY names a JSON body in which each "@ID@" is replaced by a fresh id;
-- BENCH_KEYS names a file with one Authorization value per line;
-- BENCH_RUN makes this run's ids differ from any other run's.

dofile(debug.getinfo(1, "S").source:sub(2):gsub("[^/]*$", "") .. "report.lua")

local parts = {}
local keys = {}
local sent = 0
local run = os.getenv("BENCH_RUN") or "run"

function init(args)
  local file = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
  local body = file:read("*a")
  file:close()
  local start = 1
  while true do
    local first, last = body:find("@ID@", start, true)
    if not first then break end
    table.insert(parts, body:sub(start, first - 1))
    start = last + 1
  end
  table.insert(parts, body:sub(start))
  for line in io.lines(os.getenv("BENCH_KEYS")) do
    table.insert(keys, line)
  end
end

function request()
  sent = sent + 1
  local prefix = run .. "-" .. tostring(thread_number or 0) .. "-" .. tostring(sent) .. "-"
  local pieces = { parts[1] }
  for index = 2, #parts do
    pieces[#pieces + 1] = prefix .. tostring(index - 1)
    pieces[#pieces + 1] = parts[index]
  end
  local headers = {
    ["Authorization"] = keys[(sent - 1) % #keys + 1],
    ["Content-Type"] = "application/json",
  }
  return wrk.format("POST", "/api/v1/attempts/bulk/", headers, table.concat(pieces))
end
