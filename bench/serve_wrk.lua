-- wrk's requests for bench/serve.sh: POSTs the bodies of $BENCH_BODIES, one per line, in turn.
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
local content_type = os.getenv("BENCH_CONTENT_TYPE") or "application/json"
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = content_type}, bodies[i])
end
