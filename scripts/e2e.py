#!/usr/bin/env python3
"""Whole-system checks through the edge, against a stack started by scripts/e2e.sh.

Runs the README's demo script, the seed's psql snippet, Swagger UI and the OpenAPI document
through the edge, then the per-service scaling checks with two replicas of each service:
requests spread over both replicas, sessions work across auth-api replicas, every email is
delivered exactly once, and `kill -9` of one replica of each kind loses no retried request and
no mail. Prints one line per check and a final "N passed, N failed" line.
"""
import base64
import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

EDGE = os.environ["E2E_EDGE"]
SMTP = os.environ["E2E_SMTP"]
DATABASE_URL = os.environ["E2E_DATABASE_URL"]
RUN_DIR = os.environ["E2E_RUN_DIR"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = {"passed": 0, "failed": 0}


def http(method, url, body=None, headers=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def retrying(method, url, body=None, headers=None, attempts=8):
    """A client that retries 502/503 and connection errors, as a real client would."""
    for attempt in range(attempts):
        try:
            status, response_headers, text = http(method, url, body, headers)
            if status not in (502, 503):
                return status, response_headers, text
        except OSError:
            pass
        time.sleep(0.2 * (attempt + 1))
    return http(method, url, body, headers)


def basic(email, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


def check(name, condition, detail=""):
    RESULTS["passed" if condition else "failed"] += 1
    print(("ok    " if condition else "FAIL  ") + name + ("" if condition else f"  -- {detail}"), flush=True)


def inbox(email):
    status, _, text = http("GET", f"{SMTP}/messages?to={urllib.request.quote(email)}")
    return json.loads(text) if status == 200 else []


def wait_for_code(email, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for message in inbox(email):
            match = re.search(r"Your code is (\d{4})", message["body"])
            if match:
                return match.group(1)
        time.sleep(0.1)
    return None


def mail_counts(addresses, timeout):
    """Messages in the inbox per address, once every address has one (or `timeout` passed), plus
    a second's grace for any late duplicate to show up."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all(len(inbox(address)) >= 1 for address in addresses):
            break
        time.sleep(0.3)
    time.sleep(1)
    return {address: len(inbox(address)) for address in addresses}


def upstreams(since_line, path_prefix):
    with open(os.path.join(RUN_DIR, "logs", "edge-access.log")) as log:
        lines = log.readlines()[since_line:]
    served = set()
    for line in lines:
        parts = line.split()
        # $remote_addr [$time] "$method $uri" $status $bytes $request_time $upstream_addr id=…
        if len(parts) >= 8 and parts[3].rstrip('"').startswith(path_prefix) and parts[4] in ("200", "202", "204"):
            served.add(parts[7])
    return served


def log_length():
    with open(os.path.join(RUN_DIR, "logs", "edge-access.log")) as log:
        return len(log.readlines())


def register_and_activate(password="s3cret-passw0rd"):
    email = f"e2e+{random.getrandbits(40):x}@example.com"
    status, _, _ = retrying("POST", f"{EDGE}/v1/users", {"email": email, "password": password})
    code = wait_for_code(email)
    status2, _, _ = retrying("POST", f"{EDGE}/v1/users/activate", {"code": code}, basic(email, password))
    return email, status, status2


def main():
    # 1. The README's demo script, through the edge.
    demo = subprocess.run([os.path.join(ROOT, "scripts", "demo.sh"), EDGE, SMTP], capture_output=True, text=True)
    check("demo script: register → activate → login → /me → sessions → password change → forgotten password → email change → logout → delete",
          demo.returncode == 0, demo.stdout[-400:] + demo.stderr[-400:])

    # 2. The seed README's psql snippet for the latest code, verbatim.
    email = f"psql+{random.getrandbits(32):x}@example.com"
    http("POST", f"{EDGE}/v1/users/", {"email": email, "password": "s3cret-passw0rd"})
    snippet = f"""psql {DATABASE_URL} -tA \\
  -c "select payload->>'body' from outbox
      where topic='user.verification_code' and payload->>'to'='{email}'
      order by created_at desc limit 1;" \\
  | grep -Eo '[0-9]{{4}}' | tail -1"""
    code = subprocess.run(["bash", "-c", snippet], capture_output=True, text=True).stdout.strip()
    status, _, _ = http("POST", f"{EDGE}/v1/users/activate", {"code": code}, basic(email, "s3cret-passw0rd"))
    check("the seed's psql snippet reads a code that activates", re.fullmatch(r"\d{4}", code or "") is not None and status == 200, f"code={code!r} status={status}")

    # 3. Swagger UI and the OpenAPI document through the edge; the document validates and lists every public route.
    status, _, page = http("GET", f"{EDGE}/docs")
    check("/docs serves Swagger UI for /openapi.json through the edge", status == 200 and "/openapi.json" in page and "swagger-ui" in page)
    status, _, text = http("GET", f"{EDGE}/openapi.json")
    document = json.loads(text) if status == 200 else {}
    try:
        from openapi_spec_validator import validate

        validate(document)
        valid = True
        reason = ""
    except Exception as error:  # noqa: BLE001 - any validation failure fails the check
        valid, reason = False, str(error)[:300]
    check("the OpenAPI document validates (openapi-spec-validator)", valid, reason)
    expected = {
        ("/v1/users", "post"), ("/v1/users/", "post"), ("/v1/users/activate", "post"), ("/v1/users/activate/resend", "post"),
        ("/v1/users/login", "post"), ("/v1/users/me", "get"), ("/v1/users/logout", "post"),
        ("/v1/users/me/sessions", "get"), ("/v1/users/me/sessions", "delete"), ("/v1/users/me/sessions/{id}", "delete"),
        ("/v1/users/password/forgot", "post"), ("/v1/users/password/reset", "post"), ("/v1/users/me/password", "post"),
        ("/v1/users/me/email", "post"), ("/v1/users/me/email/confirm", "post"), ("/v1/users/me", "delete"),
    }
    documented = {(path, method) for path, item in document.get("paths", {}).items() for method in item}
    check("every public route is documented", expected <= documented, f"missing {expected - documented}")
    statuses = {code for item in document.get("paths", {}).values() for operation in item.values() for code in operation.get("responses", {})}
    check("every public status is documented", {"200", "202", "204", "400", "401", "403", "409", "413", "415", "422", "429", "503"} <= statuses, f"have {sorted(statuses)}")
    status, headers, text = http("GET", f"{EDGE}/internal/v1/users/00000000-0000-4000-8000-000000000000")
    check("the edge answers 404 for /internal/*", status == 404 and "problem+json" in headers.get("Content-Type", ""))
    status, _, _ = http("POST", f"{EDGE}/v1/users", {"email": "x" * 70000})
    check("the edge caps bodies at 64 KiB (413)", status == 413)

    # 4. Scaling: two replicas of each service.
    start = log_length()
    for _ in range(30):
        http("GET", f"{EDGE}/openapi.json")
    check("requests spread over both users-api replicas", len(upstreams(start, "/openapi.json")) == 2, upstreams(start, "/openapi.json"))

    email, registered, activated = register_and_activate()
    status, _, text = http("POST", f"{EDGE}/v1/users/login", headers=basic(email, "s3cret-passw0rd"))
    token = json.loads(text).get("token") if status == 200 else None
    start = log_length()
    me = [http("GET", f"{EDGE}/v1/users/me", headers={"Authorization": f"Bearer {token}"})[0] for _ in range(30)]
    check("a session made on one auth-api replica works on the other", all(s == 200 for s in me) and len(upstreams(start, "/v1/users/me")) == 2, f"{set(me)} {upstreams(start, '/v1/users/me')}")

    emails = [f"scale+{i}-{random.getrandbits(32):x}@example.com" for i in range(40)]
    for address in emails:
        retrying("POST", f"{EDGE}/v1/users", {"email": address, "password": "s3cret-passw0rd"})
    counts = mail_counts(emails, timeout=30)
    check("two mailers and two SMTP mocks deliver every email exactly once", all(count == 1 for count in counts.values()), {a: c for a, c in counts.items() if c != 1})

    # 5. kill -9 one replica of each kind in the middle of traffic; retried requests and mail survive.
    victims = ["users-api-2", "auth-api-2", "mailer-2", "smtp-mock-2"]
    chaos = [f"chaos+{i}-{random.getrandbits(32):x}@example.com" for i in range(60)]
    outcomes = []
    for index, address in enumerate(chaos):
        if index == 20:
            for victim in victims:
                with open(os.path.join(RUN_DIR, "pids", f"{victim}.pid")) as pid_file:
                    os.kill(int(pid_file.read()), 9)
        status, _, _ = retrying("POST", f"{EDGE}/v1/users", {"email": address, "password": "s3cret-passw0rd"})
        # 429 on a retry means an earlier attempt went through (the throttle remembers it).
        outcomes.append(status in (202, 429))
        status, _, _ = retrying("POST", f"{EDGE}/v1/users/login", headers=basic(email, "s3cret-passw0rd"))
        outcomes.append(status == 200)
    check("no retried request is lost while one replica of each kind is killed", all(outcomes), f"{outcomes.count(False)} failed")
    counts = mail_counts(chaos, timeout=60)
    check("no mail is lost or doubled across the kills", all(count == 1 for count in counts.values()), {a: c for a, c in counts.items() if c != 1})

    print(f"e2e: {RESULTS['passed']} passed, {RESULTS['failed']} failed", flush=True)
    return 0 if RESULTS["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
