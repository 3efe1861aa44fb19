#!/usr/bin/env python3
"""The edge (issue 13) end to end, against the stack scripts/smoke-up.sh starts (`make up`
defaults: the edge's limits at their defaults, one replica each, LOG_LEVEL info).

1. Problem+json: every request nginx refuses by itself (a 9 KB header, a 10 KB URI,
   Transfer-Encoding: gzip, a duplicate Content-Length, no Host, an unknown method, …) is answered
   with RFC 9457 problem+json shaped like the services' errors, with a stable `code`; so are 502/504
   on a throw-away edge whose upstreams are down or silent, and every error page of the config.
2. Request ids: a valid X-Request-ID is kept, an invalid one (`has space`, `q"uote`, 200 × `x`)
   replaced; the id in the response is the one in the edge's access log and users-api's log.
3. Per-address limits at their defaults: requests in progress, requests per second, and the bcrypt
   routes' tighter rate; another address is never affected.
4. Strict bodies through the edge: 415 for `;;;`, no Content-Type, application/merge-patch+json;
   400 for duplicate members.
5. Slowloris: one address holds thousands of half-sent requests while other addresses keep making
   normal requests: all are served, p99 within 2 × the idle p99; the edge drops the half-sent
   connections once client_header_timeout has passed.
6. /docs in headless Chromium with every name resolution failing but 127.0.0.1: Swagger UI renders
   every operation of the document from our own origin, no request leaves 127.0.0.1, no Content
   Security Policy violation; a screenshot is kept in .run/docs-screenshot.png.

A client is a loopback source address (127.A.B.C, A random per run, as in scripts/abuse.py).
Prints one line per check and a final "edge: N passed, M failed" line; exits 1 on any failure.

Environment: EDGE_URL, EDGE_RUN_DIR (the stack's RUN_DIR: logs), EDGE_SWAGGER_UI_DIR, and the
limits when they are not the defaults (EDGE_CONNECTIONS_PER_ADDRESS, EDGE_RATE, EDGE_BURST,
EDGE_PASSWORD_RATE, EDGE_PASSWORD_BURST, as scripts/render-edge-config.sh reads them).
"""
import glob
import http.client
import json
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

EDGE = os.environ["EDGE_URL"]
RUN_DIR = os.environ["EDGE_RUN_DIR"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = urllib.parse.urlsplit(EDGE).hostname
PORT = urllib.parse.urlsplit(EDGE).port or 80

CONNECTIONS_PER_ADDRESS = int(os.environ.get("EDGE_CONNECTIONS_PER_ADDRESS", "32"))
RATE = os.environ.get("EDGE_RATE", "10r/s")
BURST = int(os.environ.get("EDGE_BURST", "50"))
PASSWORD_RATE = os.environ.get("EDGE_PASSWORD_RATE", "1r/s")
PASSWORD_BURST = int(os.environ.get("EDGE_PASSWORD_BURST", "20"))
HEADER_TIMEOUT = 10  # client_header_timeout in deploy/local/nginx.conf.template
SLOWLORIS_CONNECTIONS = int(os.environ.get("EDGE_SLOWLORIS_CONNECTIONS", "8500"))
SCREENSHOT = os.path.join(ROOT, ".run", "docs-screenshot.png")
TIMEOUT = 10
RESULTS = {"passed": 0, "failed": 0}
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def check(name, condition, detail=""):
    RESULTS["passed" if condition else "failed"] += 1
    print(("ok    " if condition else "FAIL  ") + name + ("" if condition else f" -- {detail}"), flush=True)


def info(text):
    print(f"info  {text}", flush=True)


def per_second(rate):
    number, unit = re.fullmatch(r"(\d+)r/([sm])", rate).groups()
    return int(number) / (1 if unit == "s" else 60)


from loopback import Clients  # noqa: E402 - the scripts folder is on sys.path when run as a script


CLIENTS = Clients()


class Answer:
    def __init__(self, status, headers, body, elapsed=0.0):
        self.status, self.headers, self.body, self.elapsed = status, headers, body, elapsed

    def header(self, name):
        return self.headers.get(name.lower())

    @property
    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def code(self):
        value = self.json
        return value.get("code") if isinstance(value, dict) else None

    def __repr__(self):
        return f"{self.status} {self.header('content-type')} {self.body[:160]!r}"


def raw(data, client=None, port=PORT, timeout=TIMEOUT):
    """Sends `data` as is on a new connection (from `client`'s address) and reads one response."""
    start = time.monotonic()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        if client:
            sock.bind((client, 0))
        sock.connect((HOST, port))
        sock.sendall(data)
        response = http.client.HTTPResponse(sock, method=data.split(b" ", 1)[0].decode("latin-1"))
        response.begin()
        body = response.read()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, headers, body, time.monotonic() - start)
    except (OSError, http.client.HTTPException) as error:
        return Answer(0, {}, f"{type(error).__name__}: {error}".encode(), time.monotonic() - start)
    finally:
        sock.close()


def request(method, path, client=None, headers=None, body=None, port=PORT, timeout=TIMEOUT):
    """One well-formed HTTP/1.1 request on a new connection."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: close"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
    return raw(data, client, port, timeout)


def is_problem(answer, status, code):
    """RFC 9457 problem+json with the services' shape: type urn:registrar:problem:<code>, title,
    status, detail, code; and an X-Request-ID."""
    body = answer.json
    return (
        answer.status == status
        and (answer.header("content-type") or "").split(";")[0] == "application/problem+json"
        and isinstance(body, dict)
        and PROBLEM_KEYS <= body.keys()
        and body["status"] == status
        and body["code"] == code
        and body["type"] == f"urn:registrar:problem:{code}"
        and isinstance(body["title"], str)
        and isinstance(body["detail"], str)
        and bool(answer.header("x-request-id"))
    )


# 1. Problem+json for every error the edge makes itself.
def malformed_requests():
    cases = [
        ("a 9 KB header", b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9216 + b"\r\n\r\n", 431, "header_too_large"),
        ("a 10 KB URI", b"GET /health?" + b"a" * 10240 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
        ("Transfer-Encoding: gzip", b"POST /v1/users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "not_implemented"),
        (
            "a duplicate Content-Length",
            b"POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
            400,
            "bad_request",
        ),
        (
            "Content-Length with Transfer-Encoding",
            b"POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
            "bad_request",
        ),
        ("no Host (HTTP/1.1)", b"GET /health HTTP/1.1\r\n\r\n", 400, "bad_request"),
        ("a lower-case method", b"get /health HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
        ("an unknown method", b"FOO /v1/users HTTP/1.1\r\nHost: x\r\n\r\n", 501, "not_implemented"),
        ("TRACE", b"TRACE /v1/users HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed"),
        ("QUERY (a method the routes do not take)", b"QUERY /v1/users/me HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed"),
        ("PUT /v1/users", b"PUT /v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405, "method_not_allowed"),
        ("POST /health", b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405, "method_not_allowed"),
        ("TRACE on a path that is no route", b"TRACE /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, "not_found"),
        ("HTTP/2.0 in an HTTP/1 request line", b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n", 505, "http_version_not_supported"),
        (
            "a 70 KB body",
            b"POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n" + b" " * 70000,
            413,
            "body_too_large",
        ),
        (
            "a control character in Authorization (the services' parser would answer an empty 400)",
            b"GET /v1/users/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\x01b\r\n\r\n",
            400,
            "bad_request",
        ),
        ("an unknown path", b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, "not_found"),
        ("/internal/*", b"GET /internal/v1/users/x HTTP/1.1\r\nHost: x\r\n\r\n", 404, "not_found"),
    ]
    allow = {"TRACE": "POST", "QUERY": "GET, HEAD, DELETE", "PUT /v1/users": "POST", "POST /health": "GET, HEAD"}
    for name, data, status, code in cases:
        answer = raw(data, CLIENTS.new())
        wanted = next((value for key, value in allow.items() if name.startswith(key)), None) if status == 405 else None
        check(
            f"1 problem+json: {name} → {status} {code}" + (f" + Allow: {wanted}" if wanted else ""),
            is_problem(answer, status, code) and answer.header("allow") == wanted,
            f"{answer!r}; Allow {answer.header('allow')!r}",
        )
    other = raw(b"GET /v1/users/me HTTP/1.1\r\nHost: x\r\nX-Other: a\x01b\r\n\r\n", CLIENTS.new())
    check(
        "1 a header the services do not read is not passed on (a control character in it changes nothing: 401 from auth-api)",
        is_problem(other, 401, "invalid_token"),
        repr(other),
    )
    head = raw(b"HEAD /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", CLIENTS.new())
    check("1 HEAD on a GET route is answered like GET, without a body (200)", head.status == 200 and head.body == b"", repr(head))


def error_pages_in_config():
    """Every error_page of the rendered config leads to a problem+json body of the services' shape."""
    rendered = subprocess.run(
        [os.path.join(ROOT, "scripts", "render-edge-config.sh"), "compose"], capture_output=True, text=True, check=True
    ).stdout
    pages = {}
    for statuses, location in re.findall(r"error_page ([\d ]+) (?:= )?(@\w+|/[\w./]+);", rendered):
        for status in statuses.split():
            pages[int(status)] = location
    wanted = {400, 404, 405, 408, 413, 414, 429, 494, 500, 501, 502, 503, 504}
    check(
        f"1 problem+json: the edge has an error page for {sorted(wanted)}",
        wanted <= pages.keys(),
        f"missing {sorted(wanted - pages.keys())}",
    )
    limit_bodies = re.findall(r"^\s+(?:REJECTED|default) '(.*)';$", rendered, re.M)
    bad = []
    for location in sorted(set(pages.values())):
        block = re.search(r"location (?:= )?" + re.escape(location) + r" \{(.*?)\n        \}", rendered, re.S)
        text = block.group(1) if block else ""
        returned = re.search(r"return (\d+) '(.*)';", text)
        bodies = []
        if returned and returned.group(2) == "{$registrar_limit_problem}":
            bodies = ["{" + body + "}" for body in limit_bodies]
        elif returned:
            bodies = [returned.group(2)]
        for body in bodies:
            try:
                value = json.loads(body)
            except ValueError:
                value = {}
            if not (
                PROBLEM_KEYS <= value.keys()
                and value["status"] == int(returned.group(1))
                and value["type"] == f"urn:registrar:problem:{value['code']}"
                and "default_type application/problem+json;" in text
                and "add_header X-Request-ID $registrar_request_id always;" in text
            ):
                bad.append(location)
        if not bodies:
            bad.append(location)
        if int(returned.group(1) if returned else 0) in (429, 503) and "add_header Retry-After" not in text:
            bad.append(f"{location} (no Retry-After)")
    check("1 problem+json: every error page returns type/title/status/detail/code, X-Request-ID (and Retry-After for 429, 503)", not bad, bad)


def unreachable_upstreams():
    """A throw-away edge from the same template whose users-api is down (connection refused) and
    whose auth-api accepts but never answers: 503 service_unavailable + Retry-After, 504."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    held = []

    def accept():
        while True:
            try:
                held.append(silent.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()
    ports = []
    for _ in range(2):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        ports.append(probe.getsockname()[1])
        probe.close()
    work = tempfile.mkdtemp(prefix="edge-check-")
    for folder in ("nginx/tmp", "logs", "pids"):
        os.makedirs(os.path.join(work, folder))
    rendered = subprocess.run(
        [
            os.path.join(ROOT, "scripts", "render-edge-config.sh"), "local", work, str(ports[0]),
            f"server 127.0.0.1:{dead_port};", f"server 127.0.0.1:{silent.getsockname()[1]};", str(ports[1]),
        ],
        capture_output=True, text=True, check=True,
    ).stdout
    rendered = rendered.replace("user www-data;", "").replace("proxy_read_timeout 30s;", "proxy_read_timeout 1s;")
    with open(os.path.join(work, "nginx.conf"), "w") as handle:
        handle.write(rendered)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    started = subprocess.run([nginx, "-p", os.path.join(work, "nginx"), "-c", os.path.join(work, "nginx.conf")], capture_output=True, text=True)
    try:
        if started.returncode != 0:
            check("1 problem+json: a throw-away edge starts", False, started.stderr[-300:])
            return
        for _ in range(50):
            if request("GET", "/health", port=ports[0]).status == 200:
                break
            time.sleep(0.1)
        down = request("GET", "/openapi.json", port=ports[0])
        check(
            "1 problem+json: no users-api replica reachable → 503 service_unavailable + Retry-After",
            is_problem(down, 503, "service_unavailable") and down.header("retry-after") == "1",
            repr(down),
        )
        slow = request("GET", "/v1/users/me", port=ports[0])
        check("1 problem+json: auth-api silent past proxy_read_timeout → 504 gateway_timeout", is_problem(slow, 504, "gateway_timeout"), repr(slow))
    finally:
        pid_file = os.path.join(work, "pids", "edge.pid")
        if os.path.exists(pid_file):
            with open(pid_file) as handle:
                pid = int(handle.read())
            os.kill(pid, 15)
            for _ in range(50):
                try:
                    os.kill(pid, 0)
                except OSError:
                    break
                time.sleep(0.1)
        silent.close()
        for connection in held:
            connection.close()
        shutil.rmtree(work, ignore_errors=True)


# 2. Request ids.
def log_lines(pattern):
    lines = []
    for path in glob.glob(os.path.join(RUN_DIR, "logs", pattern)):
        with open(path, errors="replace") as handle:
            lines += handle.readlines()
    return lines


def service_log_entries(request_id):
    """users-api's JSON log lines whose request.id is `request_id`."""
    entries = []
    for line in log_lines("users-api-*.log"):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("request.id") == request_id:
            entries.append(entry)
    return entries


def request_ids():
    cases = [
        ("a valid id", f"edge-check.{random.getrandbits(32):08x}_A", True),
        ("the longest valid id (128)", "x" * 127 + f"{random.randrange(10)}", True),
        ("`has space`", "has space", False),
        ('`q"uote`', 'q"uote', False),
        ("200 × `x`", "x" * 200, False),
        ("`a/b` (outside [A-Za-z0-9._-])", "a/b", False),
    ]
    for name, sent, kept in cases:
        email = f"edge+{random.getrandbits(40):x}@example.com"
        body = json.dumps({"email": email, "password": "s3cret-passw0rd"}).encode()
        answer = request("POST", "/v1/users", CLIENTS.new(), {"Content-Type": "application/json", "X-Request-ID": sent}, body)
        returned = answer.header("x-request-id") or ""
        expected = returned == sent if kept else (returned != sent and re.fullmatch(r"[0-9a-f]{32}", returned) is not None)
        deadline = time.monotonic() + 3
        in_edge_log = in_service_log = False
        while time.monotonic() < deadline and not (in_edge_log and in_service_log):
            in_edge_log = any(f'"POST /v1/users" ' in line and line.rstrip().endswith(f"id={returned}") for line in log_lines("edge-access.log"))
            in_service_log = any(entry.get("msg") == "registration accepted" for entry in service_log_entries(returned))
            time.sleep(0.1)
        check(
            f"2 request id: {name} is {'kept' if kept else 'replaced by the edge'}; the same id in the response, "
            "the edge's access log and users-api's log",
            answer.status == 202 and bool(returned) and expected and in_edge_log and in_service_log,
            f"{answer!r}; returned {returned[:40]!r}; edge log {in_edge_log}; users-api log {in_service_log}",
        )
        if not kept:
            leaked = [line for line in log_lines("*.log") if sent in line and len(sent) > 3]
            check(f"2 request id: {name} appears in no log", not leaked, leaked[:2])


# 3. Per-address limits.
def rate_limits():
    client, other = CLIENTS.new(), CLIENTS.new()
    count = PASSWORD_BURST + 6
    start = time.monotonic()
    answers = [request("POST", "/v1/users/login", client, body=b"") for _ in range(count)]
    elapsed = time.monotonic() - start
    passed = [answer for answer in answers if answer.status == 401]
    limited = [answer for answer in answers if answer.status == 429]
    refill = int(per_second(PASSWORD_RATE) * elapsed) + 1
    check(
        f"3 bcrypt routes: {count} logins at once from one address: the first {PASSWORD_BURST + 1} reach auth-api (401), "
        f"the rest 429 too_many_requests + Retry-After ({PASSWORD_RATE}, burst {PASSWORD_BURST})",
        PASSWORD_BURST + 1 <= len(passed) <= PASSWORD_BURST + 1 + refill
        and len(passed) + len(limited) == count
        and all(is_problem(answer, 429, "too_many_requests") and answer.header("retry-after") == "1" for answer in limited),
        f"{len(passed)} × 401, {len(limited)} × 429 in {elapsed:.2f} s; e.g. {limited[:1]} {[a for a in answers if a.status not in (401, 429)][:2]}",
    )
    elsewhere = request("POST", "/v1/users/login", other, body=b"")
    same_other_route = request("GET", "/v1/users/me", client)
    check(
        "3 bcrypt routes: meanwhile another address logs in (401, not 429) and the limited address still reaches /me (401)",
        elsewhere.status == 401 and same_other_route.status == 401,
        f"other address {elsewhere!r}; /me {same_other_route!r}",
    )

    client = CLIENTS.new()
    count = BURST + 10
    start = time.monotonic()
    answers = [request("GET", "/v1/users/me", client) for _ in range(count)]
    elapsed = time.monotonic() - start
    passed = [answer for answer in answers if answer.status == 401]
    limited = [answer for answer in answers if answer.status == 429]
    refill = int(per_second(RATE) * elapsed) + 1
    check(
        f"3 every route: {count} requests at once from one address: the first {BURST + 1} pass, the rest 429 too_many_requests ({RATE}, burst {BURST})",
        BURST + 1 <= len(passed) <= BURST + 1 + refill
        and len(passed) + len(limited) == count
        and all(is_problem(answer, 429, "too_many_requests") for answer in limited),
        f"{len(passed)} × 401, {len(limited)} × 429 in {elapsed:.2f} s",
    )


def connection_limit():
    """Requests in progress per address: requests whose body never comes hold their slot."""
    client = CLIENTS.new()
    held = []
    head = f"POST /v1/users/logout HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n".encode()
    try:
        for _ in range(CONNECTIONS_PER_ADDRESS):
            sock = socket.socket()
            sock.settimeout(TIMEOUT)
            sock.bind((client, 0))
            sock.connect((HOST, PORT))
            sock.sendall(head)
            held.append(sock)
        time.sleep(0.3)  # the edge has read every header
        over = request("GET", "/v1/users/me", client)
        other = request("GET", "/v1/users/me", CLIENTS.new())
        check(
            f"3 requests in progress: with {CONNECTIONS_PER_ADDRESS} unfinished requests from one address, the next is "
            "429 too_many_connections + Retry-After; another address is served",
            is_problem(over, 429, "too_many_connections") and over.header("retry-after") == "1" and other.status == 401,
            f"over {over!r}; other {other!r}",
        )
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.3)
    after = request("GET", "/v1/users/me", client)
    check("3 requests in progress: once they are closed, the address is served again (401)", after.status == 401, repr(after))


# 4. Strict bodies, through the edge.
def strict_bodies():
    body = json.dumps({"email": f"edge+{random.getrandbits(40):x}@example.com", "password": "s3cret-passw0rd"}).encode()
    for name, headers in [
        ("`Content-Type: ;;;`", {"Content-Type": ";;;"}),
        ("no Content-Type", {}),
        ("application/merge-patch+json", {"Content-Type": "application/merge-patch+json"}),
        ("application/json; charset=latin1", {"Content-Type": "application/json; charset=latin1"}),
    ]:
        answer = request("POST", "/v1/users", CLIENTS.new(), headers, body)
        check(f"4 strict bodies: {name} with a JSON body → 415 unsupported_media_type", is_problem(answer, 415, "unsupported_media_type"), repr(answer))
    duplicate = b'{"email":"a@example.com","email":"b@example.com","password":"s3cret-passw0rd"}'
    answer = request("POST", "/v1/users", CLIENTS.new(), {"Content-Type": "application/json"}, duplicate)
    check('4 strict bodies: {"email":A,"email":B,…} → 400 malformed_body', is_problem(answer, 400, "malformed_body"), repr(answer))
    nested = b'{"code":"1234","x":{"a":1,"\\u0061":2}}'
    answer = request("POST", "/v1/users/activate", CLIENTS.new(), {"Content-Type": "application/json", "Authorization": "Basic eDp5"}, nested)
    check("4 strict bodies: a nested duplicate spelled with an escape → 400 malformed_body", is_problem(answer, 400, "malformed_body"), repr(answer))
    answer = request("POST", "/v1/users", CLIENTS.new(), {"Content-Type": "Application/JSON; Charset=\"UTF-8\""}, body)
    check("4 strict bodies: `Application/JSON; Charset=\"UTF-8\"` is JSON (202)", answer.status == 202, repr(answer))


# 5. Slowloris.
def p99(values):
    values = sorted(values)
    return values[min(len(values) - 1, int(0.99 * len(values)))] if values else float("nan")


def normal_traffic(clients, seconds, pace):
    """Each client, on a new connection per request, alternates GET /health (the edge) and
    GET /openapi.json (users-api), `pace` requests a second, for `seconds`; every latency and
    every request that was not answered 200."""
    latencies, failures, lock = [], [], threading.Lock()
    stop = time.monotonic() + seconds

    def run(client):
        index = 0
        while time.monotonic() < stop:
            path = "/health" if index % 2 == 0 else "/openapi.json"
            index += 1
            answer = request("GET", path, client, timeout=5)
            with lock:
                latencies.append(answer.elapsed)
                if answer.status != 200:
                    failures.append(answer)
            time.sleep(max(0.0, 1 / pace - answer.elapsed) * random.uniform(0.8, 1.2))

    threads = [threading.Thread(target=run, args=(client,), daemon=True) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 10)
    return latencies, failures


def open_state(sock):
    """'open' (nothing to read yet), 'closed' (EOF or reset) or 'data' (the edge answered)."""
    sock.setblocking(False)
    try:
        data = sock.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK)
        return "data" if data else "closed"
    except BlockingIOError:
        return "open"
    except OSError:
        return "closed"


def edge_workers():
    with open(os.path.join(RUN_DIR, "pids", "edge.pid")) as handle:
        master = handle.read().strip()
    workers = []
    for status in glob.glob("/proc/[0-9]*/status"):
        try:
            with open(status) as handle:
                text = handle.read()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{master}$", text, re.M):
            workers.append(int(re.search(r"^VmRSS:\s+(\d+)", text, re.M).group(1)))
    return workers


def slowloris():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    count = min(SLOWLORIS_CONNECTIONS, hard - 500)
    attacker = CLIENTS.new()
    normals = [CLIENTS.new() for _ in range(8)]
    pace = min(8.0, per_second(RATE) * 0.8)  # each normal client stays under the per-address rate
    idle, idle_failures = normal_traffic(normals, 4, pace)
    rss_before = edge_workers()

    sockets = []
    partial = b"GET /health HTTP/1.1\r\nHost: x\r\nX-a: "
    started = time.monotonic()
    refused = 0
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.settimeout(5)
            try:
                sock.bind((attacker, 0))
                sock.connect((HOST, PORT))
                sock.sendall(partial)
                sockets.append(sock)
            except OSError:
                refused += 1
                sock.close()
        opened_in = time.monotonic() - started
        info(f"5 slowloris: {len(sockets)} half-sent requests opened from {attacker} in {opened_in:.2f} s ({refused} failed)")
        attack, attack_failures = normal_traffic(normals, 6, pace)
        states = [open_state(sock) for sock in sockets]
        held = states.count("open")
        rss_during = edge_workers()
        idle_p99, attack_p99 = p99(idle), p99(attack)
        info(
            f"5 slowloris: normal requests from {len(normals)} other addresses: idle p50 {statistics.median(idle) * 1000:.1f} ms, "
            f"p99 {idle_p99 * 1000:.1f} ms ({len(idle)} requests); under attack p50 {statistics.median(attack) * 1000:.1f} ms, "
            f"p99 {attack_p99 * 1000:.1f} ms ({len(attack)} requests); edge workers' RSS {sum(rss_before) // 1024} → {sum(rss_during) // 1024} MB"
        )
        check(
            f"5 slowloris: one address holds {held} half-sent requests (of {count}) while 8 other addresses are all served",
            held >= min(count, 5000) and not idle_failures and not attack_failures and len(attack) > 100,
            f"held {held}; states {dict((s, states.count(s)) for s in set(states))}; failures idle {idle_failures[:2]} attack {attack_failures[:2]}",
        )
        check(
            # Starved clients wait seconds (until a timeout); at a few ms, a millisecond of scheduling
            # noise is not starvation, so the bound is 2 × idle or idle + 25 ms, whichever is larger
            # (the latency itself is make bench's to prove).
            f"5 slowloris: p99 under attack {attack_p99 * 1000:.1f} ms within max(2 × idle p99, idle + 25 ms) (idle {idle_p99 * 1000:.1f} ms)",
            attack_p99 <= max(2 * idle_p99, idle_p99 + 0.025),
            f"idle {sorted(idle)[-5:]} attack {sorted(attack)[-5:]}",
        )
        wait = started + HEADER_TIMEOUT + 3 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        states = [open_state(sock) for sock in sockets]
        check(
            f"5 slowloris: after client_header_timeout ({HEADER_TIMEOUT} s) the edge has dropped every half-sent request",
            states.count("closed") == len(sockets),
            f"{dict((s, states.count(s)) for s in set(states))}",
        )
    finally:
        for sock in sockets:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# 6. /docs in a browser.
def browser_docs():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        check("6 /docs in Chromium", False, "chromium is not installed (make test installs it as root: apt-get install chromium)")
        return
    document = json.loads(request("GET", "/openapi.json").body)
    operations = [(path, method) for path, item in document["paths"].items() for method in item if method in ("get", "post", "put", "patch", "delete")]
    page = request("GET", "/docs")
    policy = page.header("content-security-policy") or ""
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    check(
        "6 /docs: Content-Security-Policy allows nothing from another origin and no inline script; the page has none",
        page.status == 200
        and directives.get("default-src") == ["'none'"]
        and directives.get("script-src") == ["'self'"]
        and directives.get("connect-src") == ["'self'"]
        and not re.search(r"https?:|\*|unsafe", policy)
        and not re.search(rb"<script(?![^>]*\bsrc=)[^>]*>", page.body)
        and not re.search(rb"(src|href)=\"(https?:)?//", page.body)
        and b'<meta charset="utf-8">' in page.body,
        f"{policy!r}; {page.body[:300]!r}",
    )
    init = request("GET", "/docs/init.js")
    check("6 /docs: credentials are not persisted (persistAuthorization: false)", b"persistAuthorization: false" in init.body, repr(init))
    assets = {path: request("GET", path) for path in ("/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css")}
    check(
        "6 /docs: Swagger UI's files come from our origin",
        all(answer.status == 200 and len(answer.body) > 100_000 for answer in assets.values()),
        {path: repr(answer)[:120] for path, answer in assets.items()},
    )

    work = tempfile.mkdtemp(prefix="edge-chromium-")
    netlog = os.path.join(work, "netlog.json")
    url = f"http://127.0.0.1:{PORT}/docs"
    common = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
        "--disable-extensions", "--disable-domain-reliability", "--no-pings", "--disable-breakpad",
        f"--user-data-dir={os.path.join(work, 'profile')}",
        # Any name but 127.0.0.1 fails to resolve: an external script or stylesheet could not load.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--virtual-time-budget=15000", "--window-size=1280,1800",
        "--enable-logging=stderr", "--v=0",
    ]
    try:
        dom = subprocess.run(common + [f"--log-net-log={netlog}", "--dump-dom", url], capture_output=True, text=True, timeout=90)
        shot = subprocess.run(common + [f"--screenshot={SCREENSHOT}", url], capture_output=True, text=True, timeout=90)
        rendered = re.findall(r'class="opblock opblock-(get|post|put|patch|delete)[ "]', dom.stdout)
        check(
            f"6 /docs in headless Chromium: every operation of the document is rendered ({len(rendered)} of {len(operations)} opblocks)",
            len(rendered) == len(operations) and "Failed to load API definition" not in dom.stdout,
            f"exit {dom.returncode}; {dom.stdout[:300]!r}; {dom.stderr[-500:]!r}",
        )
        page_urls, browser_urls = set(), set()
        try:
            with open(netlog) as handle:
                log = json.load(handle)
            names = {number: name for name, number in log["constants"]["logEventTypes"].items()}
            for event in log["events"]:
                params = event.get("params") or {}
                if names.get(event["type"]) == "URL_REQUEST_START_JOB" and "url" in params:
                    # The page's own requests name it as their initiator; the navigation and the
                    # browser's background requests (time, updates, sign-in) have none.
                    if params.get("initiator", "not an origin") != "not an origin" or params["url"] == url:
                        page_urls.add(params["url"])
                    else:
                        browser_urls.add(params["url"])
        except (OSError, ValueError, KeyError) as error:
            info(f"6 cannot read the net log: {error}")
        external = sorted(u for u in page_urls if not re.match(r"(https?|wss?)://127\.0\.0\.1[:/]", u) and not u.startswith(("data:", "blob:")))
        if browser_urls:
            info(f"6 the browser's own background requests, not the page's (all unresolvable here): {sorted(u.split('?')[0] for u in browser_urls)}")
        check(
            f"6 /docs in headless Chromium: no request of the page leaves 127.0.0.1 ({len(page_urls)} requests in the net log)",
            bool(page_urls) and not external and any(u.endswith("/openapi.json") for u in page_urls),
            f"external {external[:5]}; all {sorted(page_urls)[:8]}",
        )
        violations = [line for line in (dom.stderr + shot.stderr).splitlines() if "Content Security Policy" in line or "Refused to" in line]
        check("6 /docs in headless Chromium: no Content Security Policy violation", not violations, violations[:3])
        check(f"6 /docs in headless Chromium: screenshot kept in {os.path.relpath(SCREENSHOT, ROOT)}", shot.returncode == 0 and os.path.getsize(SCREENSHOT) > 20_000, shot.stderr[-300:])
    except (subprocess.TimeoutExpired, OSError) as error:
        check("6 /docs in headless Chromium", False, f"{type(error).__name__}: {error}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(label, function):
    try:
        function()
    except Exception as error:  # noqa: BLE001 - a broken check fails, the others still run
        check(label, False, f"{type(error).__name__}: {error}")


def main():
    started = time.monotonic()
    run("1 malformed requests", malformed_requests)
    run("1 error pages", error_pages_in_config)
    run("1 unreachable upstreams", unreachable_upstreams)
    run("2 request ids", request_ids)
    run("3 rate limits", rate_limits)
    run("3 connection limit", connection_limit)
    run("4 strict bodies", strict_bodies)
    run("6 /docs in a browser", browser_docs)
    run("5 slowloris", slowloris)
    info(f"finished in {time.monotonic() - started:.1f} s")
    print(f"edge: {RESULTS['passed']} passed, {RESULTS['failed']} failed", flush=True)
    return 0 if RESULTS["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
