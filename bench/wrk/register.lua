-- POST /v1/users with a distinct email each time (thread id + counter + a run nonce).
local counter = 0
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("id", threads)
end
function request()
    counter = counter + 1
    local email = string.format("bench-%s-%d-%d@example.com", os.getenv("BENCH_NONCE"), id, counter)
    local body = string.format('{"email":"%s","password":"bench-password-1"}', email)
    return wrk.format("POST", "/v1/users", { ["Content-Type"] = "application/json" }, body)
end
