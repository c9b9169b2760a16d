-- wrk script: GETs prepared requests in turn (each connection starting at a different one).
-- BENCH_REQUESTS names a file with one request per line, tab-separated:
--   path, Authorization value or "-", If-None-Match value or "-"

dofile(debug.getinfo(1, "S").source:sub(2):gsub("[^/]*$", "") .. "report.lua")

local prepared = {}
local position = 0

function init(args)
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local path, authorization, etag = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)$")
    local headers = {}
    if authorization ~= "-" then headers["Authorization"] = authorization end
    if etag ~= "-" then headers["If-None-Match"] = etag end
    table.insert(prepared, wrk.format("GET", path, headers))
  end
  position = ((thread_number or 0) * 7919) % #prepared
end

function request()
  position = position % #prepared + 1
  return prepared[position]
end
