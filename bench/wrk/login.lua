-- POST /v1/users/login with Basic credentials from $BENCH_BASIC ("Basic …"); each request is a
-- real login (one bcrypt verify in users-api) and creates a session.
function request()
    return wrk.format("POST", "/v1/users/login", { ["Authorization"] = os.getenv("BENCH_BASIC") })
end
