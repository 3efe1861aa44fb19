-- GET /v1/users/me with tokens read from $BENCH_TOKENS (one per line), round-robin per thread.
local tokens = {}
local index = 0
function init(args)
    for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
    index = math.random(#tokens)
end
function request()
    index = index % #tokens + 1
    return wrk.format("GET", "/v1/users/me", { ["Authorization"] = "Bearer " .. tokens[index] })
end
