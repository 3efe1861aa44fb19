#!/usr/bin/env python3
"""Issue 12, end to end: nothing is lost when Redis or Postgres crashes. Run by scripts/e2e.sh
after e2e.py, against the same stack (two replicas of each service behind the edge).

1. Redis is killed with -9 in the middle of a burst of registrations and logins, and started again
   by `scripts/stack.sh up` (it restarts what is dead). A session made before the crash still
   works, a code mailed before it still activates, a login failure budget spent before it is
   still spent, no answer is a 500, and every accepted registration gets exactly one mail.
2. Postgres (its postmaster) is killed with -9 in the middle of a burst of registrations, three
   times, and started again the same way. No answer is a 500, and no request is held past the
   edge's 30 s (a 504: DATABASE_TIMEOUT_MS should answer long before); every accepted registration has
   exactly one users row, one outbox row and one mail; a plain 503 never hides committed work
   (no row for an address that got only such 503s); an `outcome_unknown` 503 has 0 or 1 rows,
   and a mail exactly when it has a row.
3. Afterwards every service's replica 1 is ready again.

The client retries 502/503 and connection errors with a short backoff, as a real one would, and
keeps every answer it got (a 504 is not retried: it may or may not have taken effect). Failure
lines name each bad answer's X-Request-ID and what the services logged for it. Every request has a timeout and the whole run stops itself after
OVERALL_SECONDS. Prints one line per check and a final "crash: N passed, M failed"; exits 1 on
any failure.

Environment (set by scripts/e2e.sh): E2E_EDGE, E2E_SMTP, E2E_DATABASE_URL, E2E_RUN_DIR,
E2E_REDIS_PORT, E2E_PG_ADMIN_URL, and what `scripts/stack.sh up` needs to find the same stack
(RUN_DIR, PORT_OFFSET, REGISTRAR_PG_PORT, REGISTRAR_REDIS_PORT, the replica counts, SKIP_BUILD).
CRASH_KEEP_LOGS=DIR copies the services' and Postgres's logs there at the end.
"""
import base64
import collections
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse

from loopback import redis_socket  # the scripts folder is on sys.path when run as a script

EDGE = os.environ["E2E_EDGE"]
SMTP = os.environ["E2E_SMTP"]
DATABASE_URL = os.environ["E2E_DATABASE_URL"]
RUN_DIR = os.environ["E2E_RUN_DIR"]
REDIS_PORT = int(os.environ.get("E2E_REDIS_PORT", "16381"))
PG_ADMIN_URL = os.environ.get("E2E_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:15434/postgres")
PORT_OFFSET = int(os.environ.get("PORT_OFFSET", "10000"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STACK = os.path.join(ROOT, "scripts", "stack.sh")

LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "10"))
CODE_TTL_SECONDS = int(os.environ.get("CODE_TTL_SECONDS", "60"))

PASSWORD = "s3cret-passw0rd"
RUN = f"{random.getrandbits(32):08x}"  # in every address this run makes: crash-<RUN>-…@example.com
OVERALL_SECONDS = 150
TIMEOUT = 35  # above the edge's proxy_read_timeout (30 s): the edge answers first
STACK_UP_TIMEOUT = 60
RETRY_ATTEMPTS = 14  # with the backoff below: ~12 s of waiting, more than a restart takes
REDIS_REGISTRATIONS, REDIS_WORKERS = 40, 6
PG_ROUNDS, PG_REGISTRATIONS, PG_WORKERS = 3, 30, 8
MAIL_WAIT_SECONDS = 30
HEALTH_WAIT_SECONDS = 20
# 503 codes that promise nothing was done (`outcome_unknown` is the one that does not).
NOTHING_DONE = {"service_unavailable", "overloaded", "mail_capacity_reached"}

RESULTS = {"passed": 0, "failed": 0}
PG_DATA = []  # Postgres's data directory, once asked
STARTED = time.monotonic()
ANSWERS = []  # every answer any request got, for the "never a 500" checks
ANSWERS_LOCK = threading.Lock()


def check(name, condition, detail=""):
    RESULTS["passed" if condition else "failed"] += 1
    print(("ok    " if condition else "FAIL  ") + name + ("" if condition else f"  -- {detail}"), flush=True)


def info(text):
    print(f"info  {text}", flush=True)


def elapsed():
    return time.monotonic() - STARTED


def remaining():
    return OVERALL_SECONDS - elapsed()


class Answer:
    def __init__(self, method, path, status, headers, text, started, duration):
        self.method, self.path, self.status, self.headers, self.text = method, path, status, headers, text
        self.at, self.duration = started, duration  # seconds since the run started, and how long it took

    @property
    def body(self):
        try:
            value = json.loads(self.text)
            return value if isinstance(value, dict) else {}
        except ValueError:
            return {}

    @property
    def code(self):
        return self.body.get("code")

    @property
    def plain_unavailable(self):
        """A 503 that says nothing was done."""
        return self.status == 503 and self.code in NOTHING_DONE

    @property
    def outcome_unknown(self):
        return self.status == 503 and self.code == "outcome_unknown"

    def __repr__(self):
        what = self.code or self.text[:60]
        if self.status >= 500 and self.status != 503:
            what += f" [{self.method} {self.path} X-Request-ID {self.headers.get('X-Request-ID', '?')}]"
        if self.status == 503:  # whose 503: the edge's own (no upstream answered) or a service's
            what += f" ({self.body.get('detail', '')[:70]})"
        return f"{self.status} {what} @{self.at:.1f}s+{self.duration:.1f}s"


def call(base, method, path, body=None, headers=None, timeout=TIMEOUT, record=True):
    """One request; status 0 when it failed outright (refused, reset, timed out)."""
    url = urllib.parse.urlsplit(base)
    data = json.dumps(body).encode() if body is not None else None
    headers = dict(headers or {})
    if data is not None:
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=timeout)
    start = time.monotonic()
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        text = response.read().decode(errors="replace")
        answer = Answer(method, path, response.status, response.headers, text, start - STARTED, time.monotonic() - start)
    except (OSError, http.client.HTTPException) as error:
        answer = Answer(method, path, 0, {}, f"{type(error).__name__}: {error}", start - STARTED, time.monotonic() - start)
    finally:
        conn.close()
    if record:
        with ANSWERS_LOCK:
            ANSWERS.append(answer)
    return answer


def retrying(method, path, body=None, headers=None, attempts=RETRY_ATTEMPTS):
    """Every answer of a client that retries 502, 503 and connection errors with a short backoff
    (the last one is the outcome)."""
    answers = []
    for attempt in range(attempts):
        answer = call(EDGE, method, path, body, headers)
        answers.append(answer)
        if answer.status not in (0, 502, 503) or remaining() < 20:
            break
        time.sleep(min(0.2 * (attempt + 1), 1.0))
    return answers


def basic(email, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


def new_email(tag):
    return f"crash-{RUN}-{tag}@example.com"


def register(email):
    return retrying("POST", "/v1/users", {"email": email, "password": PASSWORD})


def login(email, password=PASSWORD):
    return retrying("POST", "/v1/users/login", headers=basic(email, password))


def statuses(answers):
    return [f"{a.status} {a.code or ''}".strip() for a in answers]


def trace(answers):
    """Every answer in full (whose 503, when, how long), for a failure's detail."""
    return [repr(a) for a in answers]


def psql(sql, url=DATABASE_URL, timeout=15):
    """Rows of a query (lists of column strings), or None when psql failed."""
    try:
        result = subprocess.run(["psql", url, "-tAX", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return [line.split("|") for line in result.stdout.splitlines() if line]


def outbox_code(email):
    """The latest code in the outbox for `email` (e2e.py's psql snippet), or None."""
    rows = psql(
        "select payload->>'body' from outbox where topic='user.verification_code' "
        f"and payload->>'to'='{email}' order by created_at desc limit 1;"
    )
    match = re.search(r"Your code is (\d{4})", rows[0][0]) if rows else None
    return match.group(1) if match else None


def wait_for_code(email, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = outbox_code(email)
        if code:
            return code
        time.sleep(0.1)
    return None


def inbox(email):
    """The SMTP mock's messages to `email`, or None when it did not answer."""
    answer = call(SMTP, "GET", f"/messages?to={urllib.parse.quote(email)}&limit=100", timeout=10, record=False)
    if answer.status != 200:
        return None
    try:
        return json.loads(answer.text)
    except ValueError:
        return None


def mail_counts(expected, others, timeout):
    """Messages per address once every `expected` address has one (or `timeout` passed), plus a
    second's grace for a late duplicate; `others` (addresses that may or may not get one) are
    counted then too. An address whose inbox could not be read counts -1."""
    deadline = time.monotonic() + max(1.0, min(timeout, remaining() - 25))
    waiting = set(expected)
    while waiting and time.monotonic() < deadline:
        waiting = {address for address in waiting if len(inbox(address) or []) < 1}
        if waiting:
            time.sleep(0.3)
    time.sleep(1)
    counts = {}
    for address in set(expected) | set(others):
        messages = inbox(address)
        counts[address] = -1 if messages is None else len(messages)
    return counts


def rows_per_address(prefix):
    """{address: (users rows, outbox rows)} for every address that starts with `prefix`."""
    users = psql(f"select lower(email), count(*) from users where lower(email) like '{prefix}%' group by 1;")
    outbox = psql(f"select lower(payload->>'to'), count(*) from outbox where lower(payload->>'to') like '{prefix}%' group by 1;")
    if users is None or outbox is None:
        return None
    rows = collections.defaultdict(lambda: [0, 0])
    for address, count in users:
        rows[address][0] = int(count)
    for address, count in outbox:
        rows[address][1] = int(count)
    return rows


# Killing and restarting dependencies.


def process_state(pid):
    """The /proc state letter of `pid`, or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("State:"):
                    return line.split()[1]
    except OSError:
        return None
    return None


def gone(pid):
    return process_state(pid) in (None, "Z")


def command_line(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def children_of(pid):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(entry))
    return found


def redis_ping():
    try:
        with redis_socket(REDIS_PORT, 2) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def stack_up():
    """`scripts/stack.sh up` with e2e.sh's environment: starts what is dead. (ok, seconds, output)."""
    start = time.monotonic()
    try:
        result = subprocess.run([STACK, "up"], capture_output=True, text=True, timeout=STACK_UP_TIMEOUT, cwd=ROOT)
        ok, output = result.returncode == 0, result.stdout + result.stderr
    except subprocess.TimeoutExpired as error:
        ok, output = False, f"stack.sh up still running after {STACK_UP_TIMEOUT} s: {error.stderr or ''}"
    output = re.sub(r"\x1b\[[0-9;]*m", "", output if isinstance(output, str) else output.decode(errors="replace"))
    with open(os.path.join(RUN_DIR, "logs", "crash-stack-up.log"), "a") as log:
        log.write(f"--- stack.sh up at {start - STARTED:.1f}s: ok={ok} in {time.monotonic() - start:.1f}s\n{output}\n")
    if "rebuilt: restarting" in output:
        info("stack.sh up restarted services whose binaries were rebuilt meanwhile: " + ", ".join(re.findall(r"(\S+) was rebuilt", output)))
    return ok, time.monotonic() - start, output


def kill_redis():
    """kill -9 the e2e Redis; returns its pid."""
    with open(os.path.join(RUN_DIR, "pids", "redis.pid")) as pid_file:
        pid = int(pid_file.read().strip())
    if "redis-server" not in command_line(pid):
        raise RuntimeError(f"pid {pid} from redis.pid is not redis-server: {command_line(pid)!r}")
    os.kill(pid, 9)
    return pid


def pg_data_directory():
    if PG_DATA:
        return PG_DATA[0]
    rows = psql("show data_directory;", url=PG_ADMIN_URL)
    if rows:
        PG_DATA.append(rows[0][0])
        return rows[0][0]
    # As scripts/lib.sh's pg_base_dir finds it (with e2e.sh's RUN_DIR).
    result = subprocess.run(
        ["bash", "-c", f'source "{ROOT}/scripts/lib.sh"; RUN_DIR="$1"; echo "$(pg_base_dir)/data"', "-", os.environ.get("RUN_DIR", RUN_DIR)],
        capture_output=True, text=True, timeout=10,
    )
    return result.stdout.strip()


def kill_postgres(data_directory):
    """kill -9 the postmaster (the first line of postmaster.pid); returns its pid and its children
    then (backends, checkpointer, …), which go away by themselves once they notice."""
    with open(os.path.join(data_directory, "postmaster.pid")) as pid_file:
        pid = int(pid_file.readline().strip())
    if "postgres" not in command_line(pid):
        raise RuntimeError(f"pid {pid} from postmaster.pid is not postgres: {command_line(pid)!r}")
    children = children_of(pid)
    os.kill(pid, 9)
    return pid, children


def wait_gone(pids, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(gone(pid) for pid in pids):
        time.sleep(0.05)
    return [pid for pid in pids if not gone(pid)]


def crash_redis():
    result = {"killed": None, "ok": False, "detail": ""}
    result["killed"] = kill_redis()
    killed_at = time.monotonic()
    result["killed_at"] = killed_at - STARTED
    left = wait_gone([result["killed"]], 5)
    time.sleep(max(0.0, 1.0 - (time.monotonic() - killed_at)))
    ok, seconds, output = stack_up()
    result["up_seconds"] = seconds
    result["down_seconds"] = time.monotonic() - killed_at
    try:
        with open(os.path.join(RUN_DIR, "pids", "redis.pid")) as pid_file:
            new_pid = pid_file.read().strip()
    except OSError:
        new_pid = None
    result["ok"] = ok and not left and redis_ping() and new_pid not in (None, str(result["killed"]))
    result["detail"] = f"stack.sh up ok={ok} in {seconds:.1f}s, old pid {result['killed']} left={left}, new pid {new_pid}; " + output[-600:]
    return result


def crash_postgres(data_directory):
    result = {"killed": None, "ok": False, "detail": ""}
    pid, children = kill_postgres(data_directory)
    result["killed"] = pid
    killed_at = time.monotonic()
    result["killed_at"] = killed_at - STARTED
    # A backend still attached to the old shared memory would keep a new postmaster from starting.
    left = wait_gone([pid] + children, 10)
    time.sleep(max(0.0, 1.0 - (time.monotonic() - killed_at)))
    ok, seconds, output = stack_up()
    result["up_seconds"] = seconds
    result["down_seconds"] = time.monotonic() - killed_at
    answers = psql("select 1;")
    result["ok"] = ok and not left and answers == [["1"]]
    result["detail"] = (
        f"stack.sh up ok={ok} in {seconds:.1f}s; postmaster {pid} and {len(children)} children killed, "
        f"still there after 10 s: {left}; Postgres answers: {answers}; " + output[-600:]
    )
    return result


def burst(tag, target, workers, kill_after, crash, login_email=None):
    """Registrations of new addresses (and, with `login_email`, a login after each) from `workers`
    threads until `target` registrations are done and `crash` (called once `kill_after` are done)
    has returned. Returns ({address: answers}, [login answers], crash result)."""
    lock = threading.Lock()
    state = {"next": 0, "done": 0}
    registrations, logins = {}, []
    trigger, crashed = threading.Event(), threading.Event()
    crash_result = {}

    def worker():
        while remaining() > 30:
            with lock:
                if (state["done"] >= target and crashed.is_set()) or state["next"] >= 4 * target:
                    return
                index = state["next"]
                state["next"] += 1
            email = new_email(f"{tag}-{index}")
            answers = register(email)
            login_answers = login(login_email) if login_email else None
            with lock:
                registrations[email] = answers
                if login_answers is not None:
                    logins.append(login_answers)
                state["done"] += 1
                if state["done"] >= kill_after:
                    trigger.set()

    def crasher():
        trigger.wait(timeout=20)
        try:
            crash_result.update(crash())
        except Exception as error:  # noqa: BLE001 - reported by the caller's check
            crash_result.update({"ok": False, "detail": f"{type(error).__name__}: {error}"})
        finally:
            crashed.set()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)] + [threading.Thread(target=crasher, daemon=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, remaining() - 25))
    if not crashed.is_set():
        crash_result.update({"ok": False, "detail": "the kill and restart had not finished when the burst ended"})
    return registrations, logins, dict(crash_result)


def outcome(answers):
    """How one address's registration ended, from every answer it got."""
    if any(a.status == 202 for a in answers):
        return "accepted"
    if any(a.outcome_unknown or a.status in (0, 504) for a in answers):
        return "unknown"  # may have been committed (no answer, or the edge's 504: may or may not)
    if any(a.plain_unavailable for a in answers):
        return "refused"  # only "nothing was done" 503s (and maybe a 429 after them)
    return "other"


def service_log_lines(request_ids, limit=6):
    """The services' log lines that name one of `request_ids` (what a 500 logged)."""
    lines = []
    logs = os.path.join(RUN_DIR, "logs")
    for name in sorted(os.listdir(logs)):
        if not name.endswith(".log") or name.startswith("edge"):
            continue
        with open(os.path.join(logs, name), errors="replace") as log:
            lines += [f"{name}: {line.strip()[:300]}" for line in log if any(rid in line for rid in request_ids)]
    return lines[:limit]


def no_500(label, answers):
    """No 500 (nor another 5xx than 503 and 504), and no 504: the edge answers 504 when a service
    held a request past its proxy_read_timeout (30 s), which DATABASE_TIMEOUT_MS should prevent."""
    for name, bad in (
        ("no answer was a 500 (nor another 5xx than 503)", [a for a in answers if a.status >= 500 and a.status not in (503, 504)]),
        ("no request was held past the edge's 30 s (504)", [a for a in answers if a.status == 504]),
    ):
        detail = f"{len(bad)}: {bad[:5]}"
        if bad:
            ids = [a.headers.get("X-Request-ID", "") for a in bad if a.headers.get("X-Request-ID")]
            detail += f"; logged for them: {service_log_lines(ids)}"
        check(f"{label}: {name}, among {len(answers)} answers", not bad, detail)


def summary(registrations):
    counts = collections.Counter(outcome(answers) for answers in registrations.values())
    finals = collections.Counter(statuses([answers[-1]])[0] for answers in registrations.values())
    codes = collections.Counter(f"{a.status} {a.code or ''}".strip() for answers in registrations.values() for a in answers)
    return f"{len(registrations)} addresses, outcomes {dict(counts)}; final answers {dict(finals)}; all answers {dict(codes)}"


def commit_warnings():
    total = 0
    for name in os.listdir(os.path.join(RUN_DIR, "logs")):
        if name.startswith("users-api-") and name.endswith(".log"):
            with open(os.path.join(RUN_DIR, "logs", name), errors="replace") as log:
                total += sum(1 for line in log if "commit outcome unknown" in line)
    return total


# The checks.


def redis_crash():
    # Before the crash: an active account with a session, a pending account with a code (read from
    # the outbox), and an unknown address whose login failure budget (this client) is spent.
    first_answer = len(ANSWERS)
    # Two active accounts: one holds the session made before the crash, the other logs in during
    # the burst (an account keeps at most SESSION_MAX_PER_USER sessions: the burst's logins would
    # end the first one's).
    active, busy = new_email("active"), new_email("busy")
    for email in (active, busy):
        setup = register(email)
        code = wait_for_code(email) if setup[-1].status == 202 else None
        activated = retrying("POST", "/v1/users/activate", {"code": code}, basic(email, PASSWORD)) if code else []
        if not activated or activated[-1].status != 200:
            check("Redis crash: setup (two active accounts)", False, f"{email}: register {statuses(setup)}, code {code}, activate {statuses(activated)}")
            return
    logged_in = login(active)
    token = logged_in[-1].body.get("token") if logged_in[-1].status == 200 else None
    if not token:
        check("Redis crash: setup (a session)", False, f"login {statuses(logged_in)}")
        return
    bearer = {"Authorization": f"Bearer {token}"}

    stranger = new_email("budget")
    wrong = []
    for _ in range(LOGIN_MAX_FAILURES + 3):
        wrong.append(login(stranger, "wr0ng-passw0rd")[-1])
        if wrong[-1].status == 429:
            break
    budget_spent = wrong[-1].status == 429 and wrong[-1].code == "too_many_login_failures"
    if not budget_spent:
        info(f"could not spend a login failure budget before the crash: {statuses(wrong)}")

    pending = new_email("pending")
    registered = register(pending)
    pending_code = wait_for_code(pending) if registered[-1].status == 202 else None
    mailed_at = time.monotonic()
    if not pending_code:
        info(f"no code for the pending account: register {statuses(registered)}")

    registrations, logins, crashed = burst("r", REDIS_REGISTRATIONS, REDIS_WORKERS, REDIS_REGISTRATIONS // 4, crash_redis, login_email=busy)
    # The checks that depend on state from before the crash come first (the code lives 60 s).
    me = retrying("GET", "/v1/users/me", headers=bearer)
    activation = retrying("POST", "/v1/users/activate", {"code": pending_code}, basic(pending, PASSWORD)) if pending_code else []
    activated_after = time.monotonic() - mailed_at
    after = login(stranger, "wr0ng-passw0rd")[-1]

    info(f"Redis killed at {crashed.get('killed_at', 0):.1f}s, answering again {crashed.get('down_seconds', 0):.1f} s later (stack.sh up took {crashed.get('up_seconds', 0):.1f} s)")
    info("Redis burst: " + summary(registrations))
    info(f"Redis burst logins: final answers {dict(collections.Counter(statuses([a[-1]])[0] for a in logins))}, retried {sum(len(a) > 1 for a in logins)}")
    check("Redis crash: kill -9 mid-burst, then stack.sh up starts it again (new pid, answers PING)", crashed.get("ok", False), crashed.get("detail", ""))
    no_500("Redis crash (setup, burst and after)", ANSWERS[first_answer:])
    check(
        "Redis crash: the session made before the crash still answers /me 200",
        me[-1].status == 200 and me[-1].body.get("email") == active,
        f"{statuses(me)}",
    )
    check(
        f"Redis crash: the code mailed before the crash activates the pending account ({activated_after:.0f} s after mailing)",
        bool(activation) and activation[-1].status == 200,
        f"code {pending_code}, answers {statuses(activation)}; registration {statuses(registered)}"
        + (f"; the code had expired (CODE_TTL_SECONDS={CODE_TTL_SECONDS}): the burst took too long" if activated_after > CODE_TTL_SECONDS else ""),
    )
    if budget_spent:
        check(
            "Redis crash: a login failure budget spent before the crash is still spent (429 too_many_login_failures)",
            after.status == 429 and after.code == "too_many_login_failures",
            f"{after!r}",
        )
    failed_logins = [answers for answers in logins if answers[-1].status != 200]
    check(
        f"Redis crash: every login of an active account in the burst ended 200 ({len(logins)}, retrying 503s)",
        not failed_logins and len(logins) == len(registrations),
        f"{len(failed_logins)} did not: {[statuses(a) for a in failed_logins[:3]]}",
    )
    accepted = [address for address, answers in registrations.items() if outcome(answers) == "accepted"]
    check(f"Redis crash: the burst did {REDIS_REGISTRATIONS}+ registrations and most were accepted", len(registrations) >= REDIS_REGISTRATIONS and len(accepted) >= len(registrations) // 2, summary(registrations))

    rows = rows_per_address(f"crash-{RUN}-r-")
    counts = mail_counts(accepted, [a for a in registrations if a not in accepted], MAIL_WAIT_SECONDS)
    wrong_mail = {address: counts.get(address) for address in accepted if counts.get(address) != 1}
    check(f"Redis crash: every accepted registration ({len(accepted)}) got exactly one mail", not wrong_mail, f"{wrong_mail}")
    doubled = {address: count for address, count in counts.items() if count > 1}
    check("Redis crash: no address got two mails", not doubled, f"{doubled}")
    if rows is None:
        check("Redis crash: the users and outbox tables can be read", False, "psql failed")
        return
    hidden = {
        address: (tuple(rows[address]), trace(answers))
        for address, answers in registrations.items()
        if outcome(answers) == "refused" and rows[address] != [0, 0]
    }
    check("Redis crash: a plain 503 hid no committed registration (no users or outbox row)", not hidden, f"{hidden}")
    throttled = [address for address, answers in registrations.items() if outcome(answers) == "refused" and answers[-1].status == 429]
    if throttled:
        info(
            f"Redis crash: {len(throttled)} address(es) got 503 then 429 registration_throttled with nothing registered "
            f"(the throttle taken before Redis died could not be given back); e.g. {statuses(registrations[throttled[0]])}"
        )


def postgres_crashes():
    data_directory = pg_data_directory()
    if not data_directory or not os.path.isfile(os.path.join(data_directory, "postmaster.pid")):
        check("Postgres crash: the data directory is found", False, f"{data_directory!r}")
        return
    warnings_before = commit_warnings()
    first_answer = len(ANSWERS)
    registrations = {}
    for round_number in range(1, PG_ROUNDS + 1):
        if remaining() < 60:
            check(f"Postgres crash round {round_number}: time left to run it", False, f"{remaining():.0f} s left")
            break
        round_registrations, _, crashed = burst(
            f"p{round_number}", PG_REGISTRATIONS, PG_WORKERS, PG_REGISTRATIONS // 3, lambda: crash_postgres(data_directory)
        )
        registrations.update(round_registrations)
        info(
            f"Postgres round {round_number}: killed at {crashed.get('killed_at', 0):.1f}s, answering again "
            f"{crashed.get('down_seconds', 0):.1f} s later (stack.sh up took {crashed.get('up_seconds', 0):.1f} s); " + summary(round_registrations)
        )
        check(f"Postgres crash round {round_number}: kill -9 of the postmaster mid-burst, then stack.sh up starts it again", crashed.get("ok", False), crashed.get("detail", ""))
        if not crashed.get("ok", False):
            break
    info(f"users-api logged {commit_warnings() - warnings_before} lost COMMIT answer(s) ('commit outcome unknown')")
    no_500("Postgres crashes", ANSWERS[first_answer:])

    by_outcome = collections.defaultdict(list)
    for address, answers in registrations.items():
        by_outcome[outcome(answers)].append(address)
    rows = rows_per_address(f"crash-{RUN}-p")
    if rows is None:
        check("Postgres crash: the users and outbox tables can be read", False, "psql failed")
        return
    maybe = [address for address in by_outcome["unknown"] if rows[address][0] == 1]
    counts = mail_counts(by_outcome["accepted"] + maybe, list(registrations), MAIL_WAIT_SECONDS)
    # A request the edge gave up on (504) may still commit after the first look: look again, and
    # give such a late registration's mail a few seconds.
    rows = rows_per_address(f"crash-{RUN}-p") or rows
    late = [address for address in by_outcome["unknown"] if rows[address][0] == 1 and counts.get(address) == 0]
    if late:
        info(f"Postgres crash: {len(late)} registration(s) the client has no answer for committed late: {[trace(registrations[a]) for a in late[:2]]}")
        counts.update(mail_counts(late, [], 15))

    bad = {
        address: (tuple(rows[address]), counts.get(address), trace(registrations[address]))
        for address in by_outcome["accepted"]
        if rows[address] != [1, 1] or counts.get(address) != 1
    }
    check(
        f"Postgres crash: every accepted registration ({len(by_outcome['accepted'])}) has one users row, one outbox row and one mail",
        not bad,
        f"(users, outbox), mails, answers: {dict(list(bad.items())[:5])}",
    )
    hidden = {
        address: (tuple(rows[address]), counts.get(address), trace(registrations[address]))
        for address in by_outcome["refused"]
        if rows[address] != [0, 0] or counts.get(address) != 0
    }
    check(
        f"Postgres crash: a plain 503 never hides committed work ({len(by_outcome['refused'])} address(es) with only such 503s: no row, no mail)",
        not hidden,
        f"(users, outbox), mails, answers: {dict(list(hidden.items())[:5])}",
    )
    unknown_bad = {
        address: (tuple(rows[address]), counts.get(address), trace(registrations[address]))
        for address in by_outcome["unknown"]
        if rows[address] not in ([0, 0], [1, 1]) or counts.get(address) != rows[address][0]
    }
    info(
        f"Postgres crash: {len(by_outcome['unknown'])} address(es) answered outcome_unknown (or 504, or no answer), "
        f"{len(maybe)} of them committed after all"
        + (f"; e.g. {statuses(registrations[by_outcome['unknown'][0]])}" if by_outcome["unknown"] else "")
    )
    check(
        "Postgres crash: an outcome_unknown registration has 0 or 1 rows, and one mail exactly when it has one",
        not unknown_bad,
        f"(users, outbox), mails, answers: {dict(list(unknown_bad.items())[:5])}",
    )
    if by_outcome["other"]:
        info(f"Postgres crash: {len(by_outcome['other'])} address(es) ended otherwise: {[statuses(registrations[a]) for a in by_outcome['other'][:3]]}")
    doubled = {address: count for address, count in counts.items() if count > 1}
    check("Postgres crash: no address got two mails", not doubled, f"{doubled}")
    # (A final 500 or 504 is reported by the check above.)
    unfinished = [address for address, answers in registrations.items() if answers[-1].status not in (202, 429, 500, 504)]
    check(
        "Postgres crash: every registration ended 202 (or 429 registration_throttled after an outcome_unknown) within the client's retries",
        not unfinished and not [a for a in by_outcome["refused"] if registrations[a][-1].status == 429],
        f"{len(unfinished)} ended otherwise, e.g. {[statuses(registrations[a]) for a in unfinished[:3]]}; "
        f"429 after plain 503s only: {[statuses(registrations[a]) for a in by_outcome['refused'] if registrations[a][-1].status == 429][:3]}",
    )


def healthy_afterwards():
    ports = {"users-api": 8081, "auth-api": 8082, "mailer": 8083, "smtp-mock": 8025}
    deadline = time.monotonic() + HEALTH_WAIT_SECONDS
    last = {}
    while True:
        for service, port in ports.items():
            if last.get(service) is None or last[service].status != 200:
                last[service] = call(f"http://127.0.0.1:{port + PORT_OFFSET}", "GET", "/health/ready", timeout=5, record=False)
        if all(answer.status == 200 for answer in last.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    check(
        f"afterwards every service's replica 1 is ready (/health/ready 200 within {HEALTH_WAIT_SECONDS} s)",
        all(answer.status == 200 for answer in last.values()),
        {service: repr(answer) for service, answer in last.items() if answer.status != 200},
    )


def keep_logs():
    """With CRASH_KEEP_LOGS=DIR, copies the stack's logs and Postgres's there (e2e.sh removes
    the run directory when it stops the stack)."""
    target = os.environ.get("CRASH_KEEP_LOGS")
    if not target:
        return
    shutil.copytree(os.path.join(RUN_DIR, "logs"), os.path.join(target, "logs"), dirs_exist_ok=True)
    try:
        shutil.copy(os.path.join(os.path.dirname(pg_data_directory()), "postgres.log"), target)
    except OSError:
        pass
    info(f"logs copied to {target}")


def run(label, function, *args):
    try:
        function(*args)
    except Exception as error:  # noqa: BLE001 - a broken check fails, the others still run
        check(label, False, f"{type(error).__name__}: {error}")


def watchdog():
    print(f"FAIL  crash suite -- still running after {OVERALL_SECONDS} s: stopped", flush=True)
    print(f"crash: {RESULTS['passed']} passed, {RESULTS['failed'] + 1} failed", flush=True)
    os._exit(1)


def main():
    timer = threading.Timer(OVERALL_SECONDS, watchdog)
    timer.daemon = True
    timer.start()

    # e2e.py leaves replica 2 of each service killed: stack.sh up starts them again first, so that
    # the restarts below start only the dependency that was killed.
    ok, seconds, output = stack_up()
    check(f"stack.sh up brings the e2e stack back to full shape ({seconds:.1f} s)", ok, output[-600:])
    run("Redis crash", redis_crash)
    run("Postgres crashes", postgres_crashes)
    run("healthy afterwards", healthy_afterwards)

    timer.cancel()
    keep_logs()
    info(f"finished in {elapsed():.1f} s")
    print(f"crash: {RESULTS['passed']} passed, {RESULTS['failed']} failed", flush=True)
    return 0 if RESULTS["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
