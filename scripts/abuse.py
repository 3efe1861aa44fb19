#!/usr/bin/env python3
"""Abuse protection (issue 11), end to end through the edge, against the stack scripts/smoke-up.sh
starts (`make up` defaults: one replica each, BCRYPT_COST 12, LOGIN_MAX_FAILURES 10, …).

Each check reproduces one way the code before issue 11 could be abused: activation as a password
oracle, separate failure budgets per route, a racy limit, a stranger overwriting a pending
account's password, unlimited registrations per client, 429s that enumerate accounts, strangers
locking the owner out, registrations starving logins of bcrypt, raw input in Redis keys, and a
client choosing its own address.

A client is a loopback source address (127.A.B.C, a random range per run): the edge passes
$remote_addr to the services as X-Real-IP, so each address is a distinct client. Every check uses
accounts and addresses of its own; every email is random. The accounts are registered up front,
and the checks that need an address's 60 s registration throttle to have passed (4 and 6) run
last. Every request has a timeout and the whole run stops itself after OVERALL_SECONDS.
Prints one line per check and a final "abuse: N passed, M failed" line; exits 1 on any failure.

Environment: ABUSE_EDGE, ABUSE_SMTP, ABUSE_DATABASE_URL, ABUSE_RUN_DIR, ABUSE_REDIS_PORT (16383);
the limits are the services' defaults unless the same variables are set for both.
"""
import base64
import collections
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

EDGE = os.environ["ABUSE_EDGE"]
SMTP = os.environ["ABUSE_SMTP"]
DATABASE_URL = os.environ["ABUSE_DATABASE_URL"]
RUN_DIR = os.environ["ABUSE_RUN_DIR"]
REDIS_PORT = int(os.environ.get("ABUSE_REDIS_PORT", "16383"))
EDGE_HOST = urllib.parse.urlsplit(EDGE).hostname
EDGE_PORT = urllib.parse.urlsplit(EDGE).port or 80

LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "10"))
ACCOUNT_MAX_FAILURES = int(os.environ.get("ACCOUNT_MAX_FAILURES", "100"))
REGISTRATION_MAX_PER_ADDRESS = int(os.environ.get("REGISTRATION_MAX_PER_ADDRESS", "10"))
RESEND_THROTTLE_SECONDS = int(os.environ.get("RESEND_THROTTLE_SECONDS", "60"))

PASSWORD = "s3cret-passw0rd"
STRANGER_PASSWORD = "str4nger-passw0rd"
OVERALL_SECONDS = 140
# Longer than the slowest answer the services allow (a bcrypt wait of BCRYPT_MAX_WAIT_MS, then a
# transaction of DATABASE_TIMEOUT_MS plus as long again for its COMMIT) and the edge's 30 s: a
# client that gives up sooner reports a timeout for a request still being answered correctly.
TIMEOUT = 35
# The SMTP mock stands in for a third-party mail server: its inbox is keyed by recipient.
SMTP_MOCK_INBOX_PREFIX = os.environ.get("MAIL_STREAM", "registrar:mail") + ":inbox:"
RESULTS = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    RESULTS["passed" if condition else "failed"] += 1
    print(("ok    " if condition else "FAIL  ") + name + ("" if condition else f" -- {detail}"), flush=True)


def info(text):
    print(f"info  {text}", flush=True)


class SetupError(Exception):
    """An account a check needs could not be made: that check fails, the others run."""


from loopback import Clients, redis_socket  # noqa: E402 - the scripts folder is on sys.path when run as a script


CLIENTS = Clients()


class Answer:
    def __init__(self, status, headers, text, elapsed):
        self.status, self.headers, self.text, self.elapsed = status, headers, text, elapsed

    @property
    def code(self):
        try:
            return json.loads(self.text).get("code")
        except (ValueError, AttributeError):
            return None

    @property
    def retry_after(self):
        try:
            return int(self.headers.get("Retry-After", ""))
        except ValueError:
            return None

    def __repr__(self):
        return f"{self.status} {self.code or self.text[:80]!s}"


def connection(client, timeout=TIMEOUT):
    return http.client.HTTPConnection(EDGE_HOST, EDGE_PORT, timeout=timeout, source_address=(client, 0))


def call(client, method, path, body=None, headers=None, timeout=TIMEOUT, conn=None):
    """One request through the edge from `client`'s address; status 0 when it failed outright."""
    conn = conn or connection(client, timeout)
    data = json.dumps(body).encode() if body is not None else None
    headers = dict(headers or {})
    if data is not None:
        headers["Content-Type"] = "application/json"
    start = time.monotonic()
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        text = response.read().decode(errors="replace")
        return Answer(response.status, response.headers, text, time.monotonic() - start)
    except (OSError, http.client.HTTPException) as error:
        return Answer(0, http.client.HTTPMessage(), f"{type(error).__name__}: {error}", time.monotonic() - start)
    finally:
        conn.close()


def basic(email, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


def register(client, email, password=PASSWORD, **kwargs):
    return call(client, "POST", "/v1/users", {"email": email, "password": password}, **kwargs)


def login(client, email, password, headers=None, **kwargs):
    return call(client, "POST", "/v1/users/login", headers={**basic(email, password), **(headers or {})}, **kwargs)


def activate(client, email, password, code):
    return call(client, "POST", "/v1/users/activate", {"code": code}, basic(email, password))


def resend(client, email, password):
    return call(client, "POST", "/v1/users/activate/resend", headers=basic(email, password))


def limited(answer, code):
    """429 with `code` and a positive Retry-After."""
    return answer.status == 429 and answer.code == code and (answer.retry_after or 0) > 0


def fingerprint(answer):
    """What a caller can compare: status, headers (minus per-request ones) and body (digits aside)."""
    ignored = {"date", "x-request-id", "retry-after", "content-length"}
    headers = sorted((name.lower(), value) for name, value in answer.headers.items() if name.lower() not in ignored)
    return answer.status, tuple(headers), re.sub(r"\d+", "N", answer.text)


def new_email(tag):
    return f"abuse+{tag}-{random.getrandbits(48):012x}@example.com"


def inbox(email):
    try:
        with urllib.request.urlopen(f"{SMTP}/messages?to={urllib.request.quote(email)}", timeout=5) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return []


def outbox_codes(email):
    query = (
        "select payload->>'body' from outbox where topic='user.verification_code' "
        f"and payload->>'to'='{email}' order by created_at desc;"
    )
    try:
        result = subprocess.run(["psql", DATABASE_URL, "-tA", "-c", query], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return re.findall(r"Your code is (\d+)", result.stdout)


def codes_for(email, count=1, timeout=15):
    """The codes mailed to `email`, newest first, once `count` have arrived: from the SMTP mock's
    inbox, or from the outbox table (e2e.py's psql snippet) if delivery is slow; [] on timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        codes = [code for message in inbox(email) for code in re.findall(r"Your code is (\d+)", message.get("body", ""))]
        if len(codes) >= count:
            return codes
        if time.monotonic() - start > 3:
            codes = outbox_codes(email)
            if len(codes) >= count:
                return codes
        time.sleep(0.1)
    return []


def register_retrying(client, email, password=PASSWORD):
    """Setup registrations ride out a momentary 503, as a real client would."""
    for _ in range(4):
        answer = register(client, email, password)
        if answer.status not in (0, 503):
            return answer
        time.sleep(min(answer.retry_after or 1, 2))
    return register(client, email, password)


class Account:
    """An account made for one check, registered (and activated) from an address of its own."""

    def __init__(self, tag):
        self.tag, self.client, self.email = tag, CLIENTS.new(), new_email(tag)
        self.registered, self.error = None, None

    def ready(self):
        if self.error:
            raise SetupError(f"{self.tag}: {self.error}")
        return self.email


def prepare(pending_tags, active_tags):
    """Registers every account up front, one after another (so bcrypt admission never refuses a
    setup registration), then activates the active ones once their codes are mailed."""
    accounts = {tag: Account(tag) for tag in pending_tags + active_tags}
    for account in accounts.values():
        account.registered = register_retrying(account.client, account.email)
        if account.registered.status != 202:
            account.error = f"registering {account.email}: {account.registered!r}"
    for tag in active_tags:
        account = accounts[tag]
        if account.error:
            continue
        codes = codes_for(account.email)
        if not codes:
            account.error = f"no code mailed to {account.email}"
            continue
        answer = activate(account.client, account.email, PASSWORD, codes[0])
        if answer.status != 200:
            account.error = f"activating {account.email}: {answer!r}"
    return accounts


def together(count, client, request):
    """`count` requests from `client`, each on a connection opened beforehand, sent at once."""
    barrier = threading.Barrier(count)
    answers = [None] * count

    def worker(index):
        conn = connection(client)
        try:
            conn.connect()
        except OSError:
            pass  # call() reports it
        try:
            barrier.wait(timeout=TIMEOUT)
        except threading.BrokenBarrierError:
            pass
        answers[index] = request(index, conn)

    threads = [threading.Thread(target=worker, args=(index,), daemon=True) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * TIMEOUT)
    return answers


def statuses(answers):
    return [answer.status if answer else None for answer in answers]


# 1. /activate checked the password with no limit, and answered 409 for an active account with the
#    right password: an unlimited password oracle beside the limited login.
def activation_is_not_a_password_oracle(account):
    email = account.ready()
    a, b = CLIENTS.new(), CLIENTS.new()
    wrong = [activate(a, email, f"wrong-passw0rd-{i}", "0000") for i in range(LOGIN_MAX_FAILURES + 2)]
    first, rest = wrong[:LOGIN_MAX_FAILURES], wrong[LOGIN_MAX_FAILURES:]
    check(
        f"1 activation oracle: {LOGIN_MAX_FAILURES} wrong passwords on /activate answer 401, then 429 too_many_login_failures + Retry-After",
        all(answer.status == 401 for answer in first) and all(limited(answer, "too_many_login_failures") for answer in rest),
        f"statuses {statuses(wrong)}; last {wrong[-1]!r}",
    )
    right = {
        "activate": activate(a, email, PASSWORD, "0000"),
        "resend": resend(a, email, PASSWORD),
        "login": login(a, email, PASSWORD),
    }
    check(
        "1 activation oracle: then the right password from that address is 429 on /activate (never 409), /activate/resend and /login",
        all(limited(answer, "too_many_login_failures") for answer in right.values()),
        right,
    )
    owner = login(b, email, PASSWORD)
    check("1 activation oracle: meanwhile the owner logs in from another address (200)", owner.status == 200, owner)


# 2. Failures on /activate and /activate/resend did not count towards the login limit.
def one_budget_across_routes(account):
    email = account.ready()
    client = CLIENTS.new()
    on_activate = on_resend = 3
    on_login = LOGIN_MAX_FAILURES - on_activate - on_resend
    wrong = (
        [login(client, email, f"wrong-login-{i}") for i in range(on_login)]
        + [activate(client, email, f"wrong-activate-{i}", "0000") for i in range(on_activate)]
        + [resend(client, email, f"wrong-resend-{i}") for i in range(on_resend)]
    )
    final = login(client, email, PASSWORD)
    check(
        f"2 one budget: {on_login} wrong /login + {on_activate} wrong /activate + {on_resend} wrong /activate/resend (401 each), "
        "then the right login from that address is 429",
        all(answer.status == 401 for answer in wrong) and limited(final, "too_many_login_failures"),
        f"statuses {statuses(wrong)}; final {final!r}",
    )


# 3. The limit was checked, then bcrypt ran, then the failure was counted: parallel guesses all
#    slipped through at count 9.
def limit_cannot_be_raced(account):
    email = account.ready()
    client = CLIENTS.new()
    sequential = [login(client, email, f"wrong-seq-{i}") for i in range(LOGIN_MAX_FAILURES - 1)]
    parallel = together(8, client, lambda index, conn: login(client, email, f"wrong-par-{index}", conn=conn))
    counts = collections.Counter(statuses(parallel))
    check(
        f"3 no race: {LOGIN_MAX_FAILURES - 1} sequential wrong logins (401), then 8 at once: exactly one 401 and seven 429",
        all(answer.status == 401 for answer in sequential)
        and counts == {401: 1, 429: 7}
        and all(limited(answer, "too_many_login_failures") for answer in parallel if answer and answer.status == 429),
        f"sequential {statuses(sequential)}; parallel {dict(counts)}",
    )
    same, other = login(client, email, PASSWORD), login(CLIENTS.new(), email, PASSWORD)
    check(
        f"3 no race: the budget is spent exactly ({LOGIN_MAX_FAILURES}): the right password is 429 from that address, 200 from another",
        limited(same, "too_many_login_failures") and other.status == 200,
        f"same address {same!r}; other address {other!r}",
    )


# 4. Registering a pending address again replaced its password: a stranger could take over the
#    account the owner was about to activate.
def reregistration_keeps_credentials(owner_case, stranger_case):
    email = owner_case.ready()
    stranger = CLIENTS.new()
    again = register(stranger, email, STRANGER_PASSWORD)
    owner = login(owner_case.client, email, PASSWORD)
    impostor = login(stranger, email, STRANGER_PASSWORD)
    check(
        "4 pending re-registration: a stranger gets the same 202, and the password stays the owner's "
        "(owner's password: 403 user_not_active, stranger's: 401)",
        fingerprint(again) == fingerprint(owner_case.registered)
        and owner.status == 403 and owner.code == "user_not_active"
        and impostor.status == 401,
        f"re-registration {again!r}; owner {owner!r}; stranger {impostor!r}",
    )

    email = stranger_case.ready()
    newcomer = CLIENTS.new()
    again = register(newcomer, email, STRANGER_PASSWORD)
    codes = codes_for(email, count=2)
    activated = activate(newcomer, email, STRANGER_PASSWORD, codes[0]) if codes else None
    new_login = login(newcomer, email, STRANGER_PASSWORD)
    old_login = login(CLIENTS.new(), email, PASSWORD)
    check(
        "4 pending re-registration: the newer password with the newest mail's code activates (200); "
        "then it logs in (200) and the earlier one does not (401)",
        again.status == 202 and activated is not None and activated.status == 200
        and new_login.status == 200 and old_login.status == 401,
        f"re-registration {again!r}; codes {codes}; activate {activated!r}; new password {new_login!r}; earlier {old_login!r}",
    )


# 5. Registrations were unlimited per client.
def registrations_per_client():
    client, other = CLIENTS.new(), CLIENTS.new()
    answers = [register(client, new_email("limit")) for _ in range(REGISTRATION_MAX_PER_ADDRESS + 1)]
    elsewhere = register(other, new_email("limit-other"))
    check(
        f"5 registrations per address: {REGISTRATION_MAX_PER_ADDRESS} answer 202, the next 429 too_many_registrations "
        "+ Retry-After; another address still registers (202)",
        all(answer.status == 202 for answer in answers[:-1])
        and limited(answers[-1], "too_many_registrations")
        and elsewhere.status == 202,
        f"statuses {statuses(answers)}; last {answers[-1]!r}; other address {elsewhere!r}",
    )


# 6. The limits must not tell new, pending and active addresses apart.
def no_enumeration(exhausted_client, limit_cases, throttle_cases):
    for case in list(limit_cases.values()) + list(throttle_cases.values()):
        if case is not None:
            case.ready()
    addresses = {kind: case.email if case else new_email("new") for kind, case in limit_cases.items()}
    answers = {kind: register(exhausted_client, address) for kind, address in addresses.items()}
    waits = [answer.retry_after or 0 for answer in answers.values()]
    check(
        "6 no enumeration: over its registration limit, an address gets the same 429 too_many_registrations "
        "for a new, a pending and an active address",
        all(limited(answer, "too_many_registrations") for answer in answers.values())
        and len({fingerprint(answer) for answer in answers.values()}) == 1
        and max(waits) - min(waits) <= 2,
        {kind: (answer, answer.retry_after, fingerprint(answer)) for kind, answer in answers.items()},
    )

    addresses = {kind: case.email if case else new_email("new") for kind, case in throttle_cases.items()}
    first_client, second_client = CLIENTS.new(), CLIENTS.new()
    first = {kind: register(first_client, address) for kind, address in addresses.items()}
    second = {kind: register(second_client, address, STRANGER_PASSWORD) for kind, address in addresses.items()}
    check(
        f"6 no enumeration: the same address twice within {RESEND_THROTTLE_SECONDS} s is 202 then 429 "
        "registration_throttled, identical for a new, a pending and an active address",
        all(answer.status == 202 for answer in first.values())
        and len({fingerprint(answer) for answer in first.values()}) == 1
        and all(limited(answer, "registration_throttled") for answer in second.values())
        and len({fingerprint(answer) for answer in second.values()}) == 1,
        f"first {first}; second {second}",
    )


def wrong_logins_in_parallel(email, clients, per_client, at_once):
    """`per_client` wrong logins from each client, `at_once` at a time (a 503 is retried, as a
    real client would); the final answers."""
    jobs = collections.deque((client, attempt) for client in clients for attempt in range(per_client))
    answers, lock = [], threading.Lock()

    def worker():
        while True:
            with lock:
                if not jobs:
                    return
                client, attempt = jobs.popleft()
            for _ in range(5):
                answer = login(client, email, f"wrong-{attempt}-passw0rd")
                if answer.status not in (0, 503):
                    break
                time.sleep(min(answer.retry_after or 1, 1))
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(at_once)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


# 7. The per-account limit locked the owner out: ten wrong guesses from anywhere blocked every login.
def nobody_locks_the_owner_out(account):
    email = account.ready()
    a, b, c = CLIENTS.new(), CLIENTS.new(), CLIENTS.new()
    wrong = [login(a, email, f"wrong-a-{i}") for i in range(LOGIN_MAX_FAILURES)]
    refused = login(a, email, PASSWORD)
    owner = login(b, email, PASSWORD)
    check(
        f"7 no lock-out: {LOGIN_MAX_FAILURES} wrong passwords from address A (401), then A is refused (429) "
        "but the owner signs in from address B (200)",
        all(answer.status == 401 for answer in wrong) and limited(refused, "too_many_login_failures") and owner.status == 200,
        f"A {statuses(wrong)} then {refused!r}; B {owner!r}",
    )
    strangers = [CLIENTS.new() for _ in range(-(-ACCOUNT_MAX_FAILURES // LOGIN_MAX_FAILURES))]
    started = time.monotonic()
    answers = wrong_logins_in_parallel(email, strangers, LOGIN_MAX_FAILURES, at_once=4)
    counts = collections.Counter(statuses(answers))
    newcomer = login(c, email, PASSWORD)
    owner = login(b, email, PASSWORD)
    check(
        f"7 no lock-out: after {len(answers)} more wrong passwords from {len(strangers)} addresses, a new address is refused (429) "
        "even with the right password, while B, which signed in before, still signs in (200)",
        set(counts) <= {401, 429} and limited(newcomer, "too_many_login_failures") and owner.status == 200,
        f"strangers {dict(counts)} in {time.monotonic() - started:.1f} s; new address {newcomer!r}; B {owner!r}",
    )


# 8. Registration hashes and password checks shared one unbounded bcrypt queue: a registration
#    flood delayed logins past auth-api's timeout (503).
def fair_bcrypt_admission(account):
    email = account.ready()
    flooders, per_flooder, seconds = 24, min(10, REGISTRATION_MAX_PER_ADDRESS), 8.0
    registrations, lock = [], threading.Lock()
    start = time.monotonic()

    def flood():
        client = CLIENTS.new()
        offset = random.uniform(0, seconds / per_flooder)
        for slot in range(per_flooder):
            # Paced over the window (each flooder ≤ per_flooder registrations), never waiting for
            # an earlier refusal to "cool down": 24 flooders offer several times what bcrypt can
            # hash. A flooder whose answers are slow sends fewer, and none after the window.
            delay = start + offset + slot * seconds / per_flooder - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if time.monotonic() > start + seconds:
                return
            answer = register(client, new_email("flood"))
            with lock:
                registrations.append(answer)

    threads = [threading.Thread(target=flood, daemon=True) for _ in range(flooders)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    client = CLIENTS.new()
    logins = []
    for _ in range(6):
        logins.append(login(client, email, PASSWORD))
        time.sleep(0.6)
    for thread in threads:
        thread.join(timeout=3 * TIMEOUT)
    latencies = [answer.elapsed for answer in logins]
    counts = collections.Counter(statuses(registrations))
    info(
        f"8 under the flood: login latency p50 {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s; "
        f"registrations {dict(sorted(counts.items()))}"
    )
    check(
        f"8 fair bcrypt admission: 6 logins during a registration flood from {flooders} addresses all answer 200 (none 503)",
        all(answer.status == 200 for answer in logins),
        f"logins {[repr(answer) for answer in logins]}",
    )
    refused = [answer for answer in registrations if answer.status == 503]
    bad = [answer for answer in registrations if answer.status not in (202, 429, 503)] + [
        answer
        for answer in refused
        if answer.code not in ("overloaded", "mail_capacity_reached") or not answer.retry_after or answer.elapsed >= 1.5
    ]
    check(
        "8 fair bcrypt admission: flood registrations answer 202 or 429, or a 503 overloaded/mail_capacity_reached "
        "with Retry-After at once (< 1.5 s)",
        bool(registrations) and not bad,
        f"{len(registrations)} answers; {len(bad)} bad, e.g. {[(repr(a), round(a.elapsed, 2), a.retry_after) for a in bad[:3]]}",
    )


def redis_keys():
    """Every key in the stack's Redis (SCAN over a plain RESP connection)."""
    keys, cursor = [], b"0"
    with redis_socket(REDIS_PORT, 5) as sock:
        reader = sock.makefile("rb")

        def read():
            line = reader.readline().rstrip(b"\r\n")
            kind, rest = line[:1], line[1:]
            if kind == b"*":
                return [read() for _ in range(int(rest))]
            if kind == b"$":
                data = reader.read(int(rest) + 2)[:-2] if int(rest) >= 0 else None
                return data
            if kind == b"-":
                raise RuntimeError(rest.decode())
            return rest

        while True:
            words = [b"SCAN", cursor, b"COUNT", b"1000"]
            sock.sendall(b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words))
            cursor, batch = read()
            keys += [key.decode(errors="replace") for key in batch]
            if cursor == b"0":
                return keys


# 9. Throttle keys held the raw email: any input, of any length, became a Redis key.
def keys_hold_digests():
    username = "abuse+" + "x" * (5000 - len("abuse+@example.com")) + "@example.com"
    answer = login(CLIENTS.new(), username, "wrong-passw0rd")
    check("9 a 5,000-character Basic username on /login answers 401 (not 5xx)", answer.status == 401, answer)
    try:
        keys = redis_keys()
    except (OSError, RuntimeError, ValueError) as error:
        check("9 no Redis key holds an email or is over 200 characters", False, f"cannot scan Redis on :{REDIS_PORT}: {error}")
        return
    ours = [key for key in keys if not key.startswith(SMTP_MOCK_INBOX_PREFIX)]
    offenders = [key for key in ours if "@example.com" in key or len(key) > 200]
    check(
        f"9 no Redis key holds an email or is over 200 characters ({len(ours)} keys besides the SMTP mock's inbox)",
        bool(ours) and not offenders,
        f"{len(offenders)} offending keys, e.g. {[key[:100] for key in offenders[:3]]}",
    )


# 10. A client's own X-Real-IP must not make it a new client.
def spoofed_address_buys_nothing(account):
    email = account.ready()
    client = CLIENTS.new()

    def fake(index):
        return {"X-Real-IP": f"1.2.3.{index + 4}", "X-Forwarded-For": f"1.2.3.{index + 4}"}

    wrong = [login(client, email, f"wrong-{i}", fake(i)) for i in range(LOGIN_MAX_FAILURES)]
    final = login(client, email, PASSWORD, fake(200))
    check(
        f"10 a client's own X-Real-IP buys nothing: {LOGIN_MAX_FAILURES} wrong logins with rotating fake X-Real-IP (401), "
        "then 429 from that source address",
        all(answer.status == 401 for answer in wrong) and limited(final, "too_many_login_failures"),
        f"statuses {statuses(wrong)}; final {final!r}",
    )


def run(label, function, *args):
    try:
        function(*args)
    except SetupError as error:
        check(label, False, f"setup failed: {error}")
    except Exception as error:  # noqa: BLE001 - a broken check fails, the others still run
        check(label, False, f"{type(error).__name__}: {error}")


def watchdog():
    print(f"FAIL  abuse suite -- still running after {OVERALL_SECONDS} s: stopped", flush=True)
    print(f"abuse: {RESULTS['passed']} passed, {RESULTS['failed'] + 1} failed", flush=True)
    os._exit(1)


def main():
    timer = threading.Timer(OVERALL_SECONDS, watchdog)
    timer.daemon = True
    timer.start()
    started = time.monotonic()

    # Checks 4 and 6 need addresses whose 60 s registration throttle has passed: registered first.
    throttled = prepare(["4-owner", "4-stranger", "6-limit-pending", "6-throttle-pending"], ["6-limit-active", "6-throttle-active"])
    deferred_from = time.monotonic() + RESEND_THROTTLE_SECONDS + 1.5
    accounts = prepare([], ["1-victim", "2-victim", "3-victim", "7-victim", "8-login", "10-victim"])
    exhausted = CLIENTS.new()
    filling = [register(exhausted, new_email("fill")) for _ in range(REGISTRATION_MAX_PER_ADDRESS)]
    info(f"accounts registered in {time.monotonic() - started:.1f} s")

    run("1 activation is not a password oracle", activation_is_not_a_password_oracle, accounts["1-victim"])
    run("2 one failure budget across routes", one_budget_across_routes, accounts["2-victim"])
    run("3 the limit cannot be raced", limit_cannot_be_raced, accounts["3-victim"])
    run("5 registrations per client", registrations_per_client)
    run("7 nobody locks the owner out", nobody_locks_the_owner_out, accounts["7-victim"])
    run("10 X-Real-IP spoofing", spoofed_address_buys_nothing, accounts["10-victim"])
    run("8 fair bcrypt admission", fair_bcrypt_admission, accounts["8-login"])

    wait = deferred_from - time.monotonic()
    if wait > 0:
        info(f"waiting {wait:.0f} s for the {RESEND_THROTTLE_SECONDS} s registration throttle of the first addresses")
        time.sleep(wait)
    run("4 re-registering a pending address", reregistration_keeps_credentials, throttled["4-owner"], throttled["4-stranger"])
    if all(answer.status == 202 for answer in filling):
        run(
            "6 no enumeration",
            no_enumeration,
            exhausted,
            {"new": None, "pending": throttled["6-limit-pending"], "active": throttled["6-limit-active"]},
            {"new": None, "pending": throttled["6-throttle-pending"], "active": throttled["6-throttle-active"]},
        )
    else:
        check("6 no enumeration", False, f"setup failed: filling one address's registrations: {statuses(filling)}")
    run("9 throttle keys hold digests", keys_hold_digests)

    timer.cancel()
    info(f"finished in {time.monotonic() - started:.1f} s")
    print(f"abuse: {RESULTS['passed']} passed, {RESULTS['failed']} failed", flush=True)
    return 0 if RESULTS["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
