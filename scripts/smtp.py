#!/usr/bin/env python3
"""Real email (issue 14): the mailer's SMTP transport and smtp-mock's SMTP listener, each against
peers nobody here wrote. Run by scripts/test.sh after `swift test`, on the binaries it built.

A. The mailer (MAIL_TRANSPORT=smtp) against relays in this process, one mailer per scenario, each
   with fresh outbox rows:
   1. aiosmtpd requiring STARTTLS and AUTH: 20 rows are dispatched, every message is RFC 5322 /
      MIME multipart/alternative with the right headers, Message-ID <idempotency_key@domain>, and
      the French template (RFC 2047 subject) for a French reader.
   2. A relay certificate from another CA: nothing is sent, rows wait with a TLS error.
   3. 451 the first time, then 250: dispatched after 2 attempts, accepted once.
   4. 550: failed after one attempt, last_error holds the relay's reply.
   5. A (raw asyncio) relay that drops the connection in the middle of DATA once per message.
B. smtp-mock's listener from third-party clients: smtplib (plain, STARTTLS, AUTH), swaks, curl,
   duplicate Message-IDs, protocol abuse on raw sockets (long lines, bare LF, SMTP smuggling,
   binary garbage, STARTTLS command injection, oversize, too many recipients, idle timeout) and a
   seeded fuzz loop (SMTP_FUZZ_SEED to replay); smtp-mock stays healthy throughout.
C. End to end: users-api + auth-api + a mailer sending through smtp-mock's listener with STARTTLS:
   register (Accept-Language: fr) → French mail with the code → activate → log in; the seed's
   psql query still reads the same code.

Environment (set by scripts/test.sh): BUILT_PRODUCTS_DIR, TEST_POSTGRES_ADMIN_URL,
TEST_DATABASE_URL, TEST_REDIS_URL (logical database 7 of that Redis is used and flushed),
TEST_TLS_DIR (ca.crt, server.crt, server.key, other-ca.crt), SMTP_TEST_RUN_DIR (logs).
Uses psql, redis-cli, curl, swaks (apt-get installed when missing and root) and aiosmtpd (pip).
Prints one line per check and a final "smtp: N passed, M failed" line; exits 1 on any failure.
"""
import asyncio
import base64
import collections
import email
import email.policy
import email.utils
import json
import logging
import os
import random
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser

BIN = os.environ["BUILT_PRODUCTS_DIR"]
ADMIN_URL = os.environ["TEST_POSTGRES_ADMIN_URL"]
BASE_DATABASE_URL = os.environ["TEST_DATABASE_URL"]
BASE_REDIS_URL = os.environ["TEST_REDIS_URL"]
TLS_DIR = os.environ["TEST_TLS_DIR"]
RUN_DIR = os.environ["SMTP_TEST_RUN_DIR"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CA = os.path.join(TLS_DIR, "ca.crt")
OTHER_CA = os.path.join(TLS_DIR, "other-ca.crt")
SERVER_CERT = os.path.join(TLS_DIR, "server.crt")
SERVER_KEY = os.path.join(TLS_DIR, "server.key")

OVERALL_SECONDS = 240  # a watchdog: the run normally takes well under two minutes
RUN = f"{random.getrandbits(32):08x}"  # in every address and subject of this run
DOMAIN = "registrar.local"  # MAIL_FROM's domain (the default `Registrar <no-reply@registrar.local>`)
RELAY_USER, RELAY_PASSWORD = "relay-user", "relay-s3cret"
MOCK_USER, MOCK_PASSWORD = "mock-user", "mock-s3cret"
MOCK_MAX_BYTES = 100000
INTERNAL_TOKEN = base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")
PASSWORD = "s3cret-passw0rd"
REPLY_LINE = re.compile(rb"^[2-5][0-9]{2}([ -]|$)")
RESULTS = {"passed": 0, "failed": 0}


# ---------------------------------------------------------------------------------------------
# Output


def check(name, condition, detail="", logs=()):
    """One named check: `ok` or `FAIL` with the detail and the tail of the relevant logs."""
    RESULTS["passed" if condition else "failed"] += 1
    print(("ok    " if condition else "FAIL  ") + name + ("" if condition else f"  -- {detail}"), flush=True)
    if not condition:
        for item in logs:
            if item is not None:
                item.print_tail()


def info(text):
    print(f"info  {text}", flush=True)


def section(name, function, *args):
    """Runs a group of checks; an exception fails the group (one FAIL line) and the run goes on."""
    try:
        function(*args)
    except Exception as error:  # noqa: BLE001 - any crash of a group is one failed check
        check(f"{name}: ran to the end", False, f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=4)}")


def poll(function, timeout, interval=0.2):
    """Calls `function` until it returns something truthy or `timeout` seconds pass; returns the
    last value either way."""
    deadline = time.monotonic() + timeout
    while True:
        value = function()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# Tools: pip, apt, psql, redis-cli, HTTP


def ensure_python_package(module, package):
    try:
        __import__(module)
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", package], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ensure_swaks():
    """swaks from Debian; None when present, else why it is missing."""
    if shutil.which("swaks"):
        return None
    if os.geteuid() != 0:
        return "swaks is missing and this is not root: sudo apt-get install -y swaks"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-qq", "swaks"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        subprocess.run(install, env=env, capture_output=True)
    return None if shutil.which("swaks") else "apt-get install -y swaks failed"


def with_database(url, name):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def psql(sql, url=None, check_errors=True):
    """Runs `sql`; rows as lists of fields (unaligned, fields split on 0x1f, rows on 0x1e)."""
    result = subprocess.run(
        ["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-F", "\x1f", "-R", "\x1e", "-d", url or DATABASE_URL, "-c", sql],
        capture_output=True, text=True, timeout=30,
    )
    if check_errors and result.returncode != 0:
        raise RuntimeError(f"psql failed: {result.stderr.strip()[:500]} (sql: {sql[:200]})")
    text = result.stdout.rstrip("\n")
    return [row.split("\x1f") for row in text.split("\x1e") if row != ""] if text else []


def sql_text(value):
    return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"


def http(method, url, body=None, headers=None, timeout=10, raw=False):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
            return response.status, dict(response.headers), payload if raw else payload.decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        payload = error.read()
        return error.code, dict(error.headers), payload if raw else payload.decode("utf-8", "replace")
    except OSError as error:
        return 0, {}, f"{type(error).__name__}: {error}"


def basic(address, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{address}:{password}".encode()).decode()}


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def address(label):
    return f"{label}-{RUN}-{random.getrandbits(24):06x}@example.com"


# ---------------------------------------------------------------------------------------------
# Our processes


class Proc:
    """One of our executables, logging to SMTP_TEST_RUN_DIR/<name>.log, killed at the end."""

    ALL = []

    def __init__(self, name, product, env, args=(), port=None):
        self.name, self.port = name, port
        self.log_path = os.path.join(RUN_DIR, f"{name}.log")
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"), "SHUTDOWN_DRAIN_SECONDS": "0"}
        if os.environ.get("MAIL_TEMPLATES_DIR"):
            base["MAIL_TEMPLATES_DIR"] = os.environ["MAIL_TEMPLATES_DIR"]
        if os.environ.get("TEST_REDIS_CA"):  # TEST_REDIS_TLS=1 make test: the Redis speaks TLS only
            base["REDIS_TLS_CA_FILE"] = os.environ["TEST_REDIS_CA"]
        if port is not None:
            base["HTTP_PORT"] = str(port)
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                [os.path.join(BIN, product), *args], env={**base, **env}, cwd=ROOT,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        Proc.ALL.append(self)
        # scripts/test.sh kills whatever is left in TEST_SPAWN_DIR if this script dies first.
        if os.environ.get("TEST_SPAWN_DIR"):
            try:
                open(os.path.join(os.environ["TEST_SPAWN_DIR"], str(self.popen.pid)), "w").close()
            except OSError:
                pass

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def alive(self):
        return self.popen.poll() is None

    def wait_http(self, path="/health/ready", timeout=30):
        """Until GET path answers 200 (True), the process exits or the time is up (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return False
            if http("GET", self.url + path, timeout=2)[0] == 200:
                return True
            time.sleep(0.1)
        return False

    def stop(self):
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)

    def tail(self, lines=25):
        try:
            with open(self.log_path, "rb") as log:
                return b"".join(log.readlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def print_tail(self, lines=25):
        state = "running" if self.alive() else f"exited {self.popen.returncode}"
        print(f"      --- last lines of {self.log_path} ({state}) ---", flush=True)
        for line in self.tail(lines).splitlines():
            print("      " + line, flush=True)


# ---------------------------------------------------------------------------------------------
# The database: a fresh one for this run, the outbox


DATABASE_NAME = f"smtp_{os.getpid()}"
DATABASE_URL = with_database(BASE_DATABASE_URL, DATABASE_NAME)
REDIS_URL = with_database(BASE_REDIS_URL, "7")
# redis-cli, over TLS verified by the test CA when the test Redis speaks TLS only.
REDIS_CLI = ["redis-cli", "--tls", "--cacert", os.environ["TEST_REDIS_CA"]] if os.environ.get("TEST_REDIS_CA") else ["redis-cli"]


def insert_rows(recipients, languages=None, codes=None):
    """One fresh user.verification_code row per recipient; returns [{key, to, code, language}]."""
    rows = []
    values = []
    for index, to in enumerate(recipients):
        code = codes[index] if codes else f"{random.randrange(1000, 10000)}"
        language = languages[index] if languages else None
        key = str(uuid.uuid4())
        payload = {"to": to, "subject": "Your verification code", "body": f"Your code is {code}", "data": {"code": code}}
        values.append(
            f"('{key}', 'user.verification_code', {sql_text(json.dumps(payload))}::jsonb, {sql_text(language)}, now() + interval '10 minutes')"
        )
        rows.append({"key": key, "to": to, "code": code, "language": language})
    psql("INSERT INTO outbox (idempotency_key, topic, payload, language, expires_at) VALUES " + ", ".join(values) + "; NOTIFY outbox;")
    return rows


def outbox_state(rows):
    """{key: (status, attempts, last_error)} for `rows`."""
    keys = ", ".join(f"'{row['key']}'" for row in rows)
    found = psql(f"SELECT idempotency_key, status, attempts, coalesce(last_error, '') FROM outbox WHERE idempotency_key IN ({keys})")
    return {key: (status, int(attempts), error) for key, status, attempts, error in found}


def wait_outbox(rows, done, timeout, mailer):
    """Polls the rows until `done(state_of_one_row)` holds for every one (or the mailer died);
    returns the last states."""
    last = {}

    def finished():
        nonlocal last
        last = outbox_state(rows)
        return not mailer.alive() or (len(last) == len(rows) and all(done(state) for state in last.values()))

    poll(finished, timeout, 0.2)
    return last


# ---------------------------------------------------------------------------------------------
# Relays for part A: aiosmtpd (in a thread of its own) and a raw asyncio server


def message_id_of(raw):
    value = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw).get("Message-ID")
    return str(value).strip() if value is not None else None


class RelayHandler:
    """aiosmtpd handler: records every message with its session. mode: `accept`, `reject` (550),
    `tempfail-once` (451 the first time a Message-ID is seen, 250 after)."""

    def __init__(self, mode="accept"):
        self.mode = mode
        self.lock = threading.Lock()
        self.seen = collections.Counter()
        self.accepted = collections.Counter()
        self.messages = []  # dicts: raw, mail_from, rcpt_tos, tls, authenticated, auth_login

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        message_id = message_id_of(raw)
        with self.lock:
            self.seen[message_id] += 1
            if self.mode == "reject":
                return "550 5.7.1 rejected by policy"
            if self.mode == "tempfail-once" and self.seen[message_id] == 1:
                return "451 4.3.0 try again later"
            self.accepted[message_id] += 1
            self.messages.append({
                "raw": raw, "message_id": message_id, "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                "tls": bool(session.ssl), "authenticated": bool(session.authenticated),
                "auth_login": getattr(session.auth_data, "login", None),
            })
        return "250 2.0.0 OK queued"

    def snapshot(self):
        with self.lock:
            return list(self.messages), collections.Counter(self.seen), collections.Counter(self.accepted)


def server_tls_context():
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(SERVER_CERT, SERVER_KEY)
    return context


def client_tls_context(cafile=CA):
    return ssl.create_default_context(cafile=cafile)


def start_aiosmtpd(handler, tls=False, require_tls=False, auth=False):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == RELAY_USER.encode() and auth_data.password == RELAY_PASSWORD.encode()
        # handled=False: aiosmtpd answers 535 itself (by default a refusal gets no reply at all).
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    kwargs = {}
    if tls:
        kwargs.update(tls_context=server_tls_context(), require_starttls=require_tls)
    if auth:
        kwargs.update(auth_required=True, authenticator=authenticator, auth_require_tls=True)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), server_hostname="relay.test", **kwargs)
    controller.start()
    return controller


class DroppingRelay:
    """Not aiosmtpd: just enough SMTP (220, EHLO with PIPELINING, MAIL/RCPT 250, DATA 354). The
    first time a Message-ID comes, it closes the connection after the headers, in the middle of
    DATA; the next time it stores the message and answers 250."""

    def __init__(self, drop=True, delay=0.0):
        self.drop = drop  # close mid-DATA the first time a Message-ID comes
        self.delay = delay  # seconds before the 250 to the end of DATA (a slow relay)
        self.lock = threading.Lock()
        self.dropped = collections.Counter()
        self.stored = collections.Counter()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self):
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(asyncio.start_server(self.session, "127.0.0.1", 0), self.loop).result(5)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def stop(self):
        async def close():
            self.server.close()
            # Sessions still open (a client waiting on a sleeping relay) end here, on a running
            # loop, not later in the garbage collector of a stopped one.
            sessions = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in sessions:
                task.cancel()
            await asyncio.gather(*sessions, return_exceptions=True)
            await self.server.wait_closed()

        try:
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)
        except Exception:  # noqa: BLE001 - best effort at the end
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def snapshot(self):
        with self.lock:
            return collections.Counter(self.dropped), collections.Counter(self.stored)

    async def session(self, reader, writer):
        async def say(*lines):
            writer.write(b"".join(line.encode() + b"\r\n" for line in lines))
            await writer.drain()

        try:
            await say("220 dropper.test ESMTP")
            while True:
                line = await asyncio.wait_for(reader.readline(), 30)
                if not line:
                    return
                verb = line.strip().split(b" ", 1)[0].upper()
                if verb == b"EHLO":
                    await say("250-dropper.test", "250-PIPELINING", "250-8BITMIME", "250 SIZE 10485760")
                elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                    await say("250 OK")
                elif verb == b"QUIT":
                    await say("221 bye")
                    return
                elif verb == b"DATA":
                    await say("354 go ahead")
                    lines, headers_done = [], False
                    while True:
                        data = await asyncio.wait_for(reader.readline(), 30)
                        if not data:
                            return
                        if data == b".\r\n":
                            break
                        lines.append(data[1:] if data.startswith(b".") else data)
                        if self.drop and not headers_done and data in (b"\r\n", b"\n"):
                            headers_done = True
                            message_id = message_id_of(b"".join(lines))
                            with self.lock:
                                first = self.dropped[message_id] == 0
                                if first:
                                    self.dropped[message_id] += 1
                            if first:
                                writer.transport.abort()  # the connection drops in the middle of DATA
                                return
                    with self.lock:
                        self.stored[message_id_of(b"".join(lines))] += 1
                    await asyncio.sleep(self.delay)
                    await say("250 2.0.0 stored")
                else:
                    await say("502 5.5.1 not implemented")
        except (asyncio.TimeoutError, ConnectionError, OSError):
            pass
        finally:
            writer.close()


class InjectingRelay(DroppingRelay):
    """A man in the middle: answers STARTTLS with 220 and, in the same packet and in clear, every
    reply the client would wait for over TLS (EHLO, MAIL, RCPT, DATA, the end of data). A client
    that takes them would mark its rows delivered; nothing is ever stored here."""

    async def session(self, reader, writer):
        try:
            writer.write(b"220 injector.test ESMTP\r\n")
            await writer.drain()
            while True:
                line = await asyncio.wait_for(reader.readline(), 30)
                if not line:
                    return
                verb = line.strip().split(b" ", 1)[0].upper()
                if verb == b"EHLO":
                    writer.write(b"250-injector.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
                elif verb == b"STARTTLS":
                    with self.lock:
                        self.dropped["starttls"] += 1
                    writer.write(b"220 go ahead\r\n250-injector.test\r\n250 PIPELINING\r\n250 OK\r\n250 OK\r\n354 go\r\n250 2.0.0 queued\r\n")
                    await writer.drain()
                    await asyncio.sleep(2)  # whatever the client sends now is a TLS ClientHello
                    return
                else:
                    writer.write(b"502 5.5.1 not implemented\r\n")
                await writer.drain()
        except (asyncio.TimeoutError, ConnectionError, OSError):
            pass
        finally:
            writer.close()


def scenario_injection():
    relay = InjectingRelay().start()
    mailer = None
    try:
        mailer, ready = start_mailer("mailer-a6-injection", {"SMTP_URL": f"smtp://127.0.0.1:{relay.port}", "SMTP_STARTTLS": "required", "SMTP_TLS_CA_FILE": CA})
        check("A6 mailer against a relay that injects replies after STARTTLS starts and is ready", ready, logs=[mailer])
        clear_outbox()
        rows = insert_rows([address(f"a6-{index}") for index in range(3)])
        poll(lambda: relay.snapshot()[0]["starttls"] >= 1, 15)
        time.sleep(3)
        states = outbox_state(rows)
        check("A6 replies sent in clear after 220 to STARTTLS are never taken: no row is dispatched, the reason is in last_error",
              relay.snapshot()[0]["starttls"] >= 1 and len(states) == 3
              and all(state[0] != "dispatched" and ("a reply arrived during the TLS handshake" in state[2] or "in clear" in state[2])
                      for state in states.values()),
              f"{[(s[0], s[1], (s[2] or '')[:120]) for s in states.values()]}", logs=[mailer])
    finally:
        if mailer:
            mailer.stop()
        relay.stop()


def start_mailer(name, smtp_env, extra=None, ready_path="/health/ready"):
    env = {
        "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "LOG_LEVEL": "info", "MAILER_ID": name,
        "MAIL_TRANSPORT": "smtp", "MAILER_POLL_INTERVAL_MS": "200", "MAILER_BACKOFF_BASE_MS": "200",
        "SMTP_CONNECT_TIMEOUT_SECONDS": "5", "SMTP_TIMEOUT_SECONDS": "10",
        **smtp_env, **(extra or {}),
    }
    mailer = Proc(name, "mailer", env, port=free_port())
    ready = mailer.wait_http(ready_path, 30)
    return mailer, ready


def clear_outbox():
    psql("DELETE FROM outbox")


# ---------------------------------------------------------------------------------------------
# Part A: the transport


def message_problems(raw, row):
    """What is wrong with the message the relay got for `row` (empty when nothing)."""
    problems = []
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    header_block = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    for name in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version"):
        if message[name] is None:
            problems.append(f"no {name}")
    if problems:
        return problems
    if any(byte > 127 for byte in header_block):
        problems.append("8-bit bytes in the header")
    if any(len(line) > 998 for line in raw.split(b"\r\n")):
        problems.append("a line longer than 998 octets")
    if str(message["MIME-Version"]).strip() != "1.0":
        problems.append(f"MIME-Version {message['MIME-Version']}")
    if str(message["Message-ID"]).strip() != f"<{row['key']}@{DOMAIN}>":
        problems.append(f"Message-ID {message['Message-ID']} (expected <{row['key']}@{DOMAIN}>)")
    sender = message["From"].addresses
    if len(sender) != 1 or sender[0].addr_spec != f"no-reply@{DOMAIN}" or sender[0].display_name != "Registrar":
        problems.append(f"From {message['From']}")
    recipients = message["To"].addresses
    if len(recipients) != 1 or recipients[0].addr_spec != row["to"]:
        problems.append(f"To {message['To']}")
    try:
        date = email.utils.parsedate_to_datetime(str(message["Date"]))
        if abs(date.timestamp() - time.time()) > 600:
            problems.append(f"Date {message['Date']} is not now")
    except (TypeError, ValueError):
        problems.append(f"Date {message['Date']!r} does not parse")
    if message.get_content_type() != "multipart/alternative":
        return problems + [f"Content-Type {message.get_content_type()}"]
    parts = {part.get_content_type(): part for part in message.iter_parts()}
    if set(parts) != {"text/plain", "text/html"}:
        return problems + [f"parts {sorted(parts)}"]
    for kind, part in parts.items():
        if (part.get_content_charset() or "").lower() != "utf-8":
            problems.append(f"{kind} charset {part.get_content_charset()}")
    text, html = parts["text/plain"].get_content(), parts["text/html"].get_content()
    french = (row["language"] or "").split(",")[0].split("-")[0] == "fr"
    subject, sentence = ("Votre code de vérification", f"Votre code est {row['code']}") if french else ("Your verification code", f"Your code is {row['code']}")
    if str(message["Subject"]) != subject:
        problems.append(f"Subject {str(message['Subject'])!r} (expected {subject!r})")
    if french:
        raw_subject = re.search(rb"(?im)^Subject:(.*(?:\r?\n[ \t].*)*)", header_block)
        if not raw_subject or b"=?" not in raw_subject.group(1):
            problems.append("the non-ASCII subject is not an RFC 2047 encoded-word")
    if sentence not in text:
        problems.append(f"text part lacks {sentence!r}: {text[:120]!r}")
    if row["code"] not in html or "<" not in html:
        problems.append(f"html part lacks the code: {html[:120]!r}")
    return problems


def scenario_starttls_auth():
    handler = RelayHandler()
    relay = start_aiosmtpd(handler, tls=True, require_tls=True, auth=True)
    mailer = None
    try:
        mailer, ready = start_mailer("mailer-a1-starttls-auth", {
            "SMTP_URL": f"smtp://{RELAY_USER}:{RELAY_PASSWORD}@127.0.0.1:{relay.port}",
            "SMTP_STARTTLS": "required", "SMTP_TLS_CA_FILE": CA,
        })
        check("A1 mailer (smtp transport, STARTTLS required, AUTH) starts and is ready", ready, logs=[mailer])
        clear_outbox()
        recipients = [address(f"a1-{index}") for index in range(20)]
        languages = ["fr", "fr-ca,en", "de,en"] + [None] * 17
        rows = insert_rows(recipients, languages)
        states = wait_outbox(rows, lambda state: state[0] == "dispatched", 60, mailer)
        check("A1 20 rows are dispatched through aiosmtpd (STARTTLS + AUTH)",
              len(states) == 20 and all(state[0] == "dispatched" for state in states.values()),
              f"states: {collections.Counter(state[0] for state in states.values())}, errors: {set(state[2] for state in states.values() if state[2])}",
              logs=[mailer])
        messages, _, accepted = handler.snapshot()
        expected_ids = {f"<{row['key']}@{DOMAIN}>" for row in rows}
        check("A1 the relay accepted 20 messages, one per row (Message-ID <idempotency_key@domain>)",
              len(messages) == 20 and set(accepted) == expected_ids and all(count == 1 for count in accepted.values()),
              f"{len(messages)} messages, ids {sorted(accepted)[:3]}…, missing {len(expected_ids - set(accepted))}")
        check("A1 every message went over TLS after AUTH as the configured user",
              messages and all(m["tls"] and m["authenticated"] and m["auth_login"] == RELAY_USER.encode() for m in messages),
              [(m["tls"], m["authenticated"], m["auth_login"]) for m in messages[:3]])
        by_id = {m["message_id"]: m for m in messages}
        problems = {}
        envelope_problems = {}
        for row in rows:
            received = by_id.get(f"<{row['key']}@{DOMAIN}>")
            if received is None:
                continue
            found = message_problems(received["raw"], row)
            if found:
                problems[row["to"]] = found
            if received["mail_from"] != f"no-reply@{DOMAIN}" or received["rcpt_tos"] != [row["to"]]:
                envelope_problems[row["to"]] = (received["mail_from"], received["rcpt_tos"])
        check("A1 every message is RFC 5322 multipart/alternative (text/plain + text/html, utf-8) with From/To/Subject/Date/Message-ID/MIME-Version",
              by_id and not problems, dict(list(problems.items())[:3]))
        check("A1 envelope: MAIL FROM the MAIL_FROM address, one RCPT TO the row's recipient",
              by_id and not envelope_problems, dict(list(envelope_problems.items())[:3]))
        french = [by_id.get(f"<{row['key']}@{DOMAIN}>") for row in rows[:2]]
        french_subjects = [str(BytesParser(policy=email.policy.default).parsebytes(m["raw"])["Subject"]) if m else None for m in french]
        check("A1 French readers (language 'fr', 'fr-ca,en') get the French template, subject decoded correctly",
              french_subjects == ["Votre code de vérification"] * 2 and not any(row["to"] in problems for row in rows[:3]),
              f"subjects {french_subjects}; problems {[problems.get(row['to']) for row in rows[:3]]}")
    finally:
        if mailer:
            mailer.stop()
        relay.stop()


def scenario_wrong_ca():
    handler = RelayHandler()
    relay = start_aiosmtpd(handler, tls=True, require_tls=True, auth=True)
    mailer = None
    try:
        # Readiness may or may not include the relay: live is enough to start.
        mailer, ready = start_mailer("mailer-a2-wrong-ca", {
            "SMTP_URL": f"smtp://{RELAY_USER}:{RELAY_PASSWORD}@127.0.0.1:{relay.port}",
            "SMTP_STARTTLS": "required", "SMTP_TLS_CA_FILE": OTHER_CA,
        }, {"MAILER_BACKOFF_BASE_MS": "500", "MAILER_MAX_ATTEMPTS": "100"}, ready_path="/health/live")
        check("A2 mailer trusting another CA starts", ready, logs=[mailer])
        clear_outbox()
        rows = insert_rows([address(f"a2-{index}") for index in range(3)])
        states = wait_outbox(rows, lambda state: state[2] != "", 15, mailer)
        time.sleep(1)
        states = outbox_state(rows)
        messages, _, _ = handler.snapshot()
        errors = {state[2] for state in states.values()}
        check("A2 a relay certificate from another CA: the mailer tries, nothing is delivered",
              len(messages) == 0 and any(state[1] >= 1 for state in states.values()),
              f"{len(messages)} messages delivered, attempts {[state[1] for state in states.values()]}")
        check("A2 the rows wait (pending/processing) with a certificate/TLS error in last_error",
              len(states) == 3 and all(state[0] in ("pending", "processing") for state in states.values())
              and all(re.search(r"certif|tls|ssl|handshake|verif|trust", state[2], re.I) for state in states.values()),
              f"states {[(s[0], s[1]) for s in states.values()]}, errors {errors}", logs=[mailer])
        check("A2 the mailer stays alive", mailer.alive() and http("GET", mailer.url + "/health/live")[0] == 200, logs=[mailer])
    finally:
        if mailer:
            mailer.stop()
        relay.stop()


def scenario_tempfail():
    handler = RelayHandler("tempfail-once")
    relay = start_aiosmtpd(handler, tls=True, require_tls=False)
    mailer = None
    try:
        mailer, ready = start_mailer("mailer-a3-451", {
            "SMTP_URL": f"smtp://127.0.0.1:{relay.port}", "SMTP_STARTTLS": "optional", "SMTP_TLS_CA_FILE": CA,
        })
        check("A3 mailer (STARTTLS optional, no AUTH) starts and is ready", ready, logs=[mailer])
        clear_outbox()
        rows = insert_rows([address(f"a3-{index}") for index in range(5)])
        states = wait_outbox(rows, lambda state: state[0] == "dispatched", 60, mailer)
        check("A3 451 then 250: every row ends dispatched after exactly 2 attempts",
              len(states) == 5 and all(state[0] == "dispatched" and state[1] == 2 for state in states.values()),
              f"{[(s[0], s[1], s[2][:80]) for s in states.values()]}", logs=[mailer])
        messages, seen, accepted = handler.snapshot()
        expected = {f"<{row['key']}@{DOMAIN}>" for row in rows}
        check("A3 the relay accepted each Message-ID exactly once (after one 451)",
              set(accepted) == expected and all(accepted[i] == 1 and seen[i] == 2 for i in expected),
              f"seen {dict(seen)}, accepted {dict(accepted)}")
        check("A3 STARTTLS optional: the mailer upgrades when the relay offers it",
              messages and all(m["tls"] for m in messages), [m["tls"] for m in messages])
    finally:
        if mailer:
            mailer.stop()
        relay.stop()


def scenario_reject():
    handler = RelayHandler("reject")
    relay = start_aiosmtpd(handler)
    mailer = None
    try:
        mailer, ready = start_mailer("mailer-a4-550", {"SMTP_URL": f"smtp://127.0.0.1:{relay.port}", "SMTP_STARTTLS": "off"})
        check("A4 mailer (STARTTLS off) starts and is ready", ready, logs=[mailer])
        clear_outbox()
        rows = insert_rows([address(f"a4-{index}") for index in range(3)])
        states = wait_outbox(rows, lambda state: state[0] == "failed", 60, mailer)
        time.sleep(0.5)
        states = outbox_state(rows)
        _, seen, _ = handler.snapshot()
        check("A4 550: rows are failed after exactly one attempt, last_error holds the relay's reply",
              len(states) == 3 and all(state[0] == "failed" and state[1] == 1 and "550 5.7.1 rejected by policy" in state[2] for state in states.values()),
              f"{[(s[0], s[1], s[2][:100]) for s in states.values()]}", logs=[mailer])
        check("A4 the relay saw each message once (no retry after a 5xx)",
              len(seen) == 3 and all(count == 1 for count in seen.values()), dict(seen))
    finally:
        if mailer:
            mailer.stop()
        relay.stop()


def scenario_full_batches():
    """A batch that fills the transport's room (25 messages per connection) is followed at once by
    the next, not by the next poll: 150 rows, one connection, the poll ten minutes away, one NOTIFY."""
    handler = RelayHandler("accept")
    relay = start_aiosmtpd(handler)
    mailer = None
    try:
        mailer, ready = start_mailer("mailer-a7-batches", {"SMTP_URL": f"smtp://127.0.0.1:{relay.port}", "SMTP_STARTTLS": "off"},
                                     {"SMTP_MAX_CONNECTIONS": "1", "MAILER_POLL_INTERVAL_MS": "600000"})
        check("A7 mailer (one connection, no poll) starts and is ready", ready, logs=[mailer])
        clear_outbox()
        time.sleep(1)  # LISTEN is up (the first wake-up found nothing)
        rows = insert_rows([address(f"a7-{index}") for index in range(150)])
        psql("SELECT pg_notify('outbox', '')")
        states = wait_outbox(rows, lambda state: state[0] == "dispatched", 60, mailer)
        check("A7 150 rows through 6 full batches of 25 without waiting for a poll: all dispatched within 60 s (the poll is 10 min away)",
              len(states) == 150 and all(state[0] == "dispatched" for state in states.values()),
              f"{collections.Counter(s[0] for s in states.values())}", logs=[mailer])
    finally:
        if mailer:
            mailer.stop()
        relay.stop()


def scenario_slow_relay():
    """A relay that takes 1.5 s per message, two mailers, a 2 s lease: no transaction starts after
    half of its row's lease, so the other mailer never sends a row this one is still sending."""
    relay = DroppingRelay(drop=False, delay=1.5).start()
    mailers = []
    try:
        for name in ("mailer-a8-slow-1", "mailer-a8-slow-2"):
            mailer, ready = start_mailer(name, {"SMTP_URL": f"smtp://127.0.0.1:{relay.port}", "SMTP_STARTTLS": "off"},
                                         {"SMTP_MAX_CONNECTIONS": "1", "MAILER_LEASE_SECONDS": "2"})
            mailers.append(mailer)
            check(f"A8 {name} (one connection, 2 s lease) starts and is ready", ready, logs=[mailer])
        clear_outbox()
        rows = insert_rows([address(f"a8-{index}") for index in range(6)])
        states = wait_outbox(rows, lambda state: state[0] == "dispatched", 60, mailers[0])
        _, stored = relay.snapshot()
        expected = {f"<{row['key']}@{DOMAIN}>" for row in rows}
        check("A8 a slow relay and two mailers: every row dispatched, some only after a later claim (deferred unsent)",
              len(states) == 6 and all(state[0] == "dispatched" for state in states.values())
              and any(state[1] >= 2 for state in states.values()),
              f"{[(s[0], s[1]) for s in states.values()]}", logs=mailers)
        check("A8 no message was sent twice (no transaction started after half its lease)",
              set(stored) == expected and all(count == 1 for count in stored.values()), dict(stored))
    finally:
        for mailer in mailers:
            mailer.stop()
        relay.stop()


def scenario_dropped():
    relay = DroppingRelay().start()
    mailer = None
    try:
        mailer, ready = start_mailer("mailer-a5-dropped", {"SMTP_URL": f"smtp://127.0.0.1:{relay.port}", "SMTP_STARTTLS": "off"})
        check("A5 mailer against a raw relay starts and is ready", ready, logs=[mailer])
        clear_outbox()
        rows = insert_rows([address(f"a5-{index}") for index in range(3)])
        states = wait_outbox(rows, lambda state: state[0] == "dispatched", 60, mailer)
        dropped, stored = relay.snapshot()
        expected = {f"<{row['key']}@{DOMAIN}>" for row in rows}
        check("A5 connection dropped mid-DATA: every row ends dispatched after ≥ 2 attempts",
              len(states) == 3 and all(state[0] == "dispatched" and state[1] >= 2 for state in states.values()),
              f"{[(s[0], s[1], s[2][:100]) for s in states.values()]}; dropped {dict(dropped)}", logs=[mailer])
        check("A5 exactly one stored copy per Message-ID (each was dropped once first)",
              set(stored) == expected and all(stored[i] == 1 and dropped[i] == 1 for i in expected),
              f"stored {dict(stored)}, dropped {dict(dropped)}")
    finally:
        if mailer:
            mailer.stop()
        relay.stop()


# ---------------------------------------------------------------------------------------------
# Part B: smtp-mock's listener


class RawSMTP:
    """A plain socket speaking SMTP by hand, for what no client library would send."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def send(self, data):
        self.sock.settimeout(10)
        self.sock.sendall(data)

    def line(self, timeout=5.0):
        """One line without its line ending; None at EOF; raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no reply")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                raise TimeoutError("no reply") from None
            except (ConnectionError, ssl.SSLError, OSError):
                chunk = b""
            if not chunk:
                rest, self.buffer = self.buffer, b""
                return rest or None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.rstrip(b"\r")

    def reply(self, timeout=5.0):
        """(code, lines) of one whole reply; code None when a line is malformed; None at EOF."""
        lines = []
        while True:
            line = self.line(timeout)
            if line is None:
                return (None, lines) if lines else None
            lines.append(line)
            if not REPLY_LINE.match(line):
                return None, lines
            if len(line) == 3 or line[3:4] == b" ":
                return int(line[:3]), lines

    def command(self, text, timeout=5.0):
        self.send(text if isinstance(text, bytes) else text.encode() + b"\r\n")
        return self.reply(timeout)

    def quiet_for(self, seconds):
        """Whatever arrives within `seconds` (b"" when the peer said nothing)."""
        received = self.buffer
        self.buffer = b""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                break
            except OSError:
                break
            if not chunk:
                break
            received += chunk
        return received

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def greeted(port):
    """A connection past the banner and EHLO."""
    client = RawSMTP(port)
    banner = client.reply()
    if not banner or banner[0] != 220:
        raise RuntimeError(f"banner {banner}")
    ehlo = client.command("EHLO client.test")
    if not ehlo or ehlo[0] != 250:
        raise RuntimeError(f"EHLO answered {ehlo}")
    return client


def inbox(mock, to, limit=50):
    status, _, text = http("GET", f"{mock.url}/messages?to={urllib.parse.quote(to, safe='')}&limit={limit}")
    found = json_or(text, []) if status == 200 else []
    return found if isinstance(found, list) else []


def wait_inbox(mock, to, count=1, timeout=15):
    return poll(lambda: (lambda found: found if len(found) >= count else None)(inbox(mock, to)), timeout) or inbox(mock, to)


def alternative(sender, recipient, subject, text, html, message_id=None):
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(localtime=True)
    message["Message-ID"] = message_id or f"<{uuid.uuid4()}@smtp-test.local>"
    message.set_content(text)
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message


def smtp_session(mock, tls=False, login=None, mechanism=None):
    """An smtplib session past EHLO (and STARTTLS, AUTH with `mechanism`); closed if a step fails."""
    client = smtplib.SMTP("127.0.0.1", mock.smtp_port, local_hostname="client.test", timeout=10)
    try:
        client.ehlo()
        if tls:
            client.starttls(context=client_tls_context())
            client.ehlo()
        if login:
            client.user, client.password = login
            client.auth(mechanism, getattr(client, "auth_" + mechanism.lower()))
        return client
    except BaseException:
        client.close()
        raise


def can_greet(port):
    """Whether a new connection gets its banner and an EHLO answer."""
    try:
        greeted(port).close()
        return True
    except (RuntimeError, TimeoutError, OSError):
        return False


def json_or(text, default):
    try:
        return json.loads(text)
    except ValueError:
        return default


def start_mock(name, extra):
    smtp_port = free_port()
    env = {
        "REDIS_URL": REDIS_URL, "LOG_LEVEL": "info", "SMTP_MOCK_SMTP_PORT": str(smtp_port), "SMTP_MOCK_CONSUMER": name,
        "SMTP_MOCK_TLS_CERT_FILE": SERVER_CERT, "SMTP_MOCK_TLS_KEY_FILE": SERVER_KEY, **extra,
    }
    mock = Proc(name, "smtp-mock", env, port=free_port())
    mock.smtp_port = smtp_port
    ready = mock.wait_http("/health/ready", 30)

    def banner():
        try:
            client = RawSMTP(smtp_port, timeout=2)
            try:
                answer = client.reply(2)
                return answer is not None and answer[0] == 220
            finally:
                client.close()
        except OSError:
            return False

    return mock, ready and poll(banner, 10)


def ehlo_keywords(lines):
    return [line[4:].decode("ascii", "replace").upper() for line in lines[1:]]


def mock_smtplib(mock, auth_mock):
    # 6. Plain smtplib, text + html alternative, non-ASCII subject and body.
    recipient = address("b6")
    subject = f"Grüße from smtplib ✓ {RUN}"
    text = f"Hello from smtplib, ça va? {RUN}\n"
    html = f"<p>Hello from <b>smtplib</b>, ça va? {RUN}</p>\n"
    message = alternative("Sender <sender@example.com>", recipient, subject, text, html)
    message_id = message["Message-ID"].strip("<>")
    with smtp_session(mock) as client:
        refused = client.send_message(message)
    found = wait_inbox(mock, recipient)
    first = found[0] if found else {}
    check("B6 smtplib (no TLS): the inbox shows the message with the decoded subject, text body and html",
          len(found) == 1 and first.get("subject") == subject and first.get("body", "").strip() == text.strip()
          and RUN in (first.get("html") or "") and "<b>smtplib</b>" in (first.get("html") or "") and refused == {},
          f"refused {refused}, inbox {json.dumps(found)[:600]}", logs=[mock])
    check("B6 the inbox entry: id is the Message-ID, to/recipients/from/headers/received_at are filled",
          first.get("id") == message_id and first.get("to") == recipient and recipient in (first.get("recipients") or [])
          and "sender@example.com" in (first.get("from") or "") and first.get("received_at")
          and any(str(pair[0]).lower() == "message-id" for pair in first.get("headers") or []),
          json.dumps(first)[:600])
    status, _, one = http("GET", f"{mock.url}/messages/{message_id}")
    check("B6 GET /messages/{id} answers that message", status == 200 and json_or(one, {}).get("id") == message_id, f"{status} {one[:300]}")
    status, headers, raw = http("GET", f"{mock.url}/messages/{message_id}/raw", raw=True)
    parsed = BytesParser(policy=email.policy.default).parsebytes(raw) if status == 200 else None
    kinds = [part.get_content_type() for part in parsed.iter_parts()] if parsed is not None and parsed.is_multipart() else []
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    check("B6 GET /messages/{id}/raw is the RFC 5322 source (message/rfc822): multipart/alternative with both parts",
          status == 200 and content_type.startswith("message/rfc822") and parsed.get_content_type() == "multipart/alternative"
          and kinds == ["text/plain", "text/html"] and str(parsed["Subject"]) == subject
          and parsed.get_body(("plain",)).get_content().strip() == text.strip(),
          f"{status} {content_type} {kinds} {raw[:300]!r}")

    # 7. STARTTLS (and AUTH on the instance that requires it).
    client = greeted(mock.smtp_port)
    try:
        ehlo = client.command("EHLO client.test")
        keywords = ehlo_keywords(ehlo[1]) if ehlo else []
    finally:
        client.close()
    check("B7 EHLO advertises PIPELINING, SIZE 100000, 8BITMIME, STARTTLS (no AUTH when not configured)",
          {"PIPELINING", f"SIZE {MOCK_MAX_BYTES}", "8BITMIME", "STARTTLS"} <= set(keywords) and not any(k.startswith("AUTH") for k in keywords),
          keywords)
    recipient = address("b7-tls")
    with smtp_session(mock, tls=True) as client:
        after_tls = set(client.esmtp_features)
        client.send_message(alternative("sender@example.com", recipient, f"over TLS {RUN}", f"tls body {RUN}\n", f"<p>tls {RUN}</p>"))
    found = wait_inbox(mock, recipient)
    check("B7 smtplib STARTTLS (verifying the CA): delivered; STARTTLS no longer advertised after TLS",
          len(found) == 1 and found[0].get("subject") == f"over TLS {RUN}" and "starttls" not in after_tls, f"features {after_tls}, inbox {found}")

    if auth_mock is None:
        check("B7 AUTH instance of smtp-mock started", False, "not started")
        return
    client = greeted(auth_mock.smtp_port)
    try:
        ehlo = client.command("EHLO client.test")
        keywords = ehlo_keywords(ehlo[1]) if ehlo else []
        mail = client.command("MAIL FROM:<sender@example.com>")
    finally:
        client.close()
    auth_words = next((k.split()[1:] for k in keywords if k.startswith("AUTH")), [])
    if not auth_words:  # it may be offered only once TLS is up
        with smtp_session(auth_mock, tls=True) as session:
            auth_words = (session.esmtp_features.get("auth") or "").upper().split()
    check("B7 with AUTH configured: EHLO advertises AUTH PLAIN LOGIN (before or after STARTTLS)", {"PLAIN", "LOGIN"} <= set(auth_words),
          f"plaintext EHLO {keywords}, AUTH words {auth_words}")
    check("B7 with AUTH configured: MAIL before AUTH → 530", mail is not None and mail[0] == 530, mail)
    try:
        with smtp_session(auth_mock, tls=True, login=(MOCK_USER, "wrong-password"), mechanism="PLAIN"):
            pass
        wrong = None
    except smtplib.SMTPAuthenticationError as error:
        wrong = error.smtp_code
    except smtplib.SMTPException as error:
        wrong = f"{type(error).__name__}: {error}"
    check("B7 AUTH PLAIN with a wrong password → 535", wrong == 535, wrong)
    delivered = {}
    for mechanism in ("PLAIN", "LOGIN"):
        recipient = address(f"b7-auth-{mechanism.lower()}")
        with smtp_session(auth_mock, tls=True, login=(MOCK_USER, MOCK_PASSWORD), mechanism=mechanism) as client:
            client.send_message(alternative("sender@example.com", recipient, f"auth {mechanism} {RUN}", "authenticated\n", "<p>authenticated</p>"))
        delivered[mechanism] = len(wait_inbox(auth_mock, recipient))
    check("B7 smtplib STARTTLS + AUTH PLAIN and AUTH LOGIN: delivered", delivered == {"PLAIN": 1, "LOGIN": 1}, delivered, logs=[auth_mock])


def mock_swaks(mock, auth_mock, swaks_missing):
    if swaks_missing:
        check("B8 swaks is available", False, swaks_missing)
        return
    runs = [
        ("plain", mock, []),
        ("STARTTLS, certificate verified", mock, ["--tls", "--tls-verify", "--tls-ca-path", CA]),
    ]
    if auth_mock is not None:
        runs.append(("STARTTLS + AUTH LOGIN", auth_mock, ["--tls", "--tls-verify", "--tls-ca-path", CA, "--auth", "LOGIN",
                                                         "--auth-user", MOCK_USER, "--auth-password", MOCK_PASSWORD]))
    for label, target, options in runs:
        recipient = address("b8-swaks")
        subject = f"swaks {label} {RUN}"
        command = ["swaks", "--to", recipient, "--from", "sender@example.com", "--server", "127.0.0.1", "--port", str(target.smtp_port),
                   "--helo", "client.test", "--header", f"Subject: {subject}", "--body", f"swaks body {RUN}", "--timeout", "10", *options]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=30)
            output, code = result.stdout + result.stderr, result.returncode
        except subprocess.TimeoutExpired:
            output, code = "timed out", -1
        with open(os.path.join(RUN_DIR, "swaks.log"), "a") as log:
            log.write(f"$ {' '.join(command)}\n{output}\n")
        found = wait_inbox(target, recipient) if code == 0 else []
        check(f"B8 swaks ({label}): exit 0 and the message is in the inbox",
              code == 0 and len(found) == 1 and found[0].get("subject") == subject and f"swaks body {RUN}" in found[0].get("body", ""),
              f"exit {code}; inbox {found}; swaks said: {output[-600:]}", logs=[target])


def mock_curl(mock, auth_mock):
    runs = [("plain", mock, []), ("--ssl-reqd --cacert", mock, ["--ssl-reqd", "--cacert", CA])]
    if auth_mock is not None:
        runs.append(("--ssl-reqd + --user", auth_mock, ["--ssl-reqd", "--cacert", CA, "--user", f"{MOCK_USER}:{MOCK_PASSWORD}"]))
    for index, (label, target, options) in enumerate(runs):
        recipient = address("b9-curl")
        subject = f"curl {label} {RUN}"
        path = os.path.join(RUN_DIR, f"curl-{index}.eml")
        with open(path, "wb") as file:
            file.write((f"From: sender@example.com\r\nTo: {recipient}\r\nSubject: {subject}\r\nDate: {email.utils.formatdate()}\r\n"
                        f"Message-ID: <{uuid.uuid4()}@smtp-test.local>\r\n\r\ncurl body {RUN}\r\n.leading dot line\r\n").encode())
        command = ["curl", "-sS", "--max-time", "15", f"smtp://127.0.0.1:{target.smtp_port}", "--mail-from", "sender@example.com",
                   "--mail-rcpt", recipient, "-T", path, *options]
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
        found = wait_inbox(target, recipient) if result.returncode == 0 else []
        body = found[0].get("body", "") if found else ""
        check(f"B9 curl smtp:// ({label}): exit 0 and the message is in the inbox (dot-stuffing undone)",
              result.returncode == 0 and len(found) == 1 and found[0].get("subject") == subject and f"curl body {RUN}" in body
              and "\n.leading dot line" in "\n" + body.replace("\r\n", "\n"),
              f"exit {result.returncode} {result.stderr[-300:]}; inbox {found}", logs=[target])


def mock_duplicates(mock):
    recipient = address("b10-dup")
    message = alternative("sender@example.com", recipient, f"twice {RUN}", "the same message twice\n", "<p>twice</p>")
    answers = []
    for _ in range(2):
        with smtp_session(mock) as client:
            answers.append(client.send_message(message))
    time.sleep(1)
    found = inbox(mock, recipient)
    check("B10 the same Message-ID twice: both accepted (250), one inbox entry",
          answers == [{}, {}] and len(found) == 1 and found[0].get("id") == message["Message-ID"].strip("<>"),
          f"answers {answers}, inbox {found}")


def mock_abuse(mock, auth_mock):
    port = mock.smtp_port

    # A 2000-byte command line.
    client = greeted(port)
    after = None
    try:
        long_reply = client.command(b"NOOP " + b"x" * 2000 + b"\r\n")
        try:
            after = client.command("NOOP")
        except OSError:
            after = None  # closed after the 5xx: fine
    except (TimeoutError, OSError) as error:
        long_reply = f"{type(error).__name__}"
    finally:
        client.close()
    fresh = can_greet(port)
    check("B11 a 2000-byte command line → 5xx; the connection still works or is closed; a new one works",
          isinstance(long_reply, tuple) and long_reply[0] is not None and 500 <= long_reply[0] <= 599
          and (after is None or after[0] in (250, 421)) and fresh,
          f"reply {long_reply}, then NOOP {after}, new connection greets: {fresh}")

    # A command ending in a bare LF.
    client = greeted(port)
    try:
        bare = client.command(b"NOOP\n")
    except (TimeoutError, OSError) as error:
        bare = type(error).__name__
    finally:
        client.close()
    check("B11 a command ending in a bare LF → 500", isinstance(bare, tuple) and bare[0] == 500, bare)

    # SMTP smuggling: an end of data that is not CRLF.CRLF followed by a second, smuggled message.
    # The last: a line over 1000 octets ending in a bare LF, then `.` CRLF (not CRLF.CRLF either).
    over_long = b"\r\n" + b"a" * 1200 + b"\n.\r\n"
    for ending, strict in ((b"\n.\n", True), (b"\r\n.\n", True), (b"\n.\r\n", True), (b"\r.\r\n", False), (over_long, True)):
        carrier, smuggled = address("b11-carrier"), address("b11-smuggled")
        client = greeted(port)
        replies = []
        try:
            for command in (f"MAIL FROM:<sender@example.com>", f"RCPT TO:<{carrier}>", "DATA"):
                replies.append(client.command(command))
            client.send(f"From: sender@example.com\r\nTo: {carrier}\r\nSubject: carrier {RUN}\r\n\r\nhello".encode() + ending
                        + f"MAIL FROM:<evil@example.com>\r\nRCPT TO:<{smuggled}>\r\nDATA\r\nFrom: evil@example.com\r\nTo: {smuggled}\r\n"
                          f"Subject: smuggled {RUN}\r\n\r\nevil\r\n.\r\n".encode())
            first = client.reply(10)
            rest = client.quiet_for(1.0)
        except (TimeoutError, OSError) as error:
            first, rest = type(error).__name__, b""
        finally:
            client.close()
        time.sleep(0.3)
        stored_carrier, stored_smuggled = inbox(mock, carrier), inbox(mock, smuggled)
        further = [line for line in rest.split(b"\r\n") if line]
        no_smuggling = not stored_smuggled and not any(line.startswith((b"250", b"354")) for line in further)
        if strict:
            label = "an over-long line, LF, '.' CRLF" if ending == over_long else repr(ending)
            check(f"B11 smuggling with {label} inside DATA: refused with 554, nothing stored, no second transaction",
                  [r[0] if r else None for r in replies] == [250, 250, 354] and isinstance(first, tuple) and first[0] == 554
                  and not stored_carrier and no_smuggling,
                  f"setup {[r[0] if r else None for r in replies]}, answer {first}, then {further}, carrier stored {len(stored_carrier)}, smuggled stored {len(stored_smuggled)}")
        else:
            check(f"B11 smuggling with {ending!r} inside DATA: no second transaction, smuggled message not stored",
                  isinstance(first, tuple) and first[0] is not None and no_smuggling and len(stored_carrier) <= 1,
                  f"answer {first}, then {further}, smuggled stored {len(stored_smuggled)}")

    # Binary garbage.
    rng = random.Random(RUN)
    garbage_bytes = bytes(b for b in range(256) if b not in (10, 13))
    client = greeted(port)
    answers = []
    try:
        for _ in range(6):
            line = bytes(rng.choice(garbage_bytes) for _ in range(rng.randrange(1, 400)))
            answer = client.command(b"\x00" + line + b"\r\n")
            answers.append(answer[0] if answer else None)
            if answer is None:
                break
        tail = None
        if answers and answers[-1] is not None and answers[-1] != 421:
            try:
                tail = client.command("NOOP")
            except OSError:
                tail = None
    except (TimeoutError, OSError) as error:
        answers.append(type(error).__name__)
        tail = None
    finally:
        client.close()
    fresh = can_greet(port)
    replied = [a for a in answers if a is not None]
    check("B11 binary garbage (NULs, random bytes) → 5xx replies (or 421 and close), never a hang; a new connection works",
          replied and all(isinstance(a, int) and (500 <= a <= 599 or a == 421) for a in replied)
          and (tail is None or tail[0] in (250, 421)) and fresh,
          f"answers {answers}, then NOOP {tail}, new connection greets: {fresh}")

    # STARTTLS with a command pipelined behind it: discarded, never answered inside TLS.
    client = greeted(port)
    try:
        client.send(b"STARTTLS\r\nNOOP\r\n")
        ready = client.reply()
        plaintext_after = client.quiet_for(0.7)
        client.sock.settimeout(5)
        client.sock = client_tls_context().wrap_socket(client.sock, server_hostname="127.0.0.1")
        client.send(b"EHLO client.test\r\n")
        inside = client.quiet_for(1.0)
        lines = [line for line in inside.split(b"\r\n") if line]
        final_lines = [line for line in lines if REPLY_LINE.match(line) and (len(line) == 3 or line[3:4] == b" ")]
        keywords = [line[4:].upper() for line in lines[1:]]
        outcome = (ready, plaintext_after, lines)
        ok = (ready is not None and ready[0] == 220 and plaintext_after == b"" and len(final_lines) == 1
              and lines[0].startswith(b"250") and not any(k.startswith(b"STARTTLS") for k in keywords))
    except (TimeoutError, OSError, ssl.SSLError) as error:
        ok, outcome = False, f"{type(error).__name__}: {error}"
    finally:
        client.close()
    check("B11 'STARTTLS\\r\\nNOOP\\r\\n' in one write: only 220 before TLS, the NOOP is discarded (one reply, to EHLO, inside TLS)",
          ok, outcome)

    # Oversize: 200 kB against SIZE 100000, with and without the SIZE parameter.
    recipient = address("b11-big")
    big_body = (("y" * 98 + "\r\n") * 2000).encode()
    client = greeted(port)
    try:
        setup = [client.command("MAIL FROM:<sender@example.com>"), client.command(f"RCPT TO:<{recipient}>"), client.command("DATA")]
        try:
            client.send(f"Subject: big {RUN}\r\n\r\n".encode() + big_body + b".\r\n")
        except OSError:
            pass  # the server may answer and close before the end
        big = client.reply(15)
    except (TimeoutError, OSError) as error:
        setup, big = [], type(error).__name__
    finally:
        client.close()
    try:
        with smtp_session(mock) as session:
            session.sendmail("sender@example.com", [recipient], f"Subject: big {RUN}\r\n\r\n".encode() + big_body)
        sized = "accepted"
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError, smtplib.SMTPRecipientsRefused) as error:
        sized = getattr(error, "smtp_code", None) or str(error)
    except (smtplib.SMTPServerDisconnected, OSError) as error:
        sized = type(error).__name__
    time.sleep(0.3)
    check("B11 a 200 kB message against SIZE 100000 → 552 (with and without MAIL FROM SIZE=), nothing stored",
          isinstance(big, tuple) and big[0] == 552 and sized == 552 and not inbox(mock, recipient),
          f"setup {[s[0] if s else None for s in setup]}, DATA answered {big}, with SIZE= {sized}")

    # 101 recipients, pipelined.
    client = greeted(port)
    try:
        client.command("MAIL FROM:<sender@example.com>")
        client.send(b"".join(f"RCPT TO:<{address('b11-rcpt')}>\r\n".encode() for _ in range(101)))
        codes = []
        for _ in range(101):
            answer = client.reply(10)
            codes.append(answer[0] if answer else None)
            if answer is None:
                break
        rset = client.command("RSET")
    except (TimeoutError, OSError) as error:
        codes, rset = [type(error).__name__], None
    finally:
        client.close()
    check("B11 101 recipients: the first 100 → 250, the 101st → 452 or 5xx",
          len(codes) == 101 and codes[:100] == [250] * 100 and isinstance(codes[100], int) and (codes[100] == 452 or 500 <= codes[100] <= 599),
          f"{collections.Counter(codes)}, last {codes[-1:]}, RSET {rset}")

    # Idle: SMTP_MOCK_IDLE_SECONDS=2 on the AUTH instance.
    if auth_mock is not None:
        client = RawSMTP(auth_mock.smtp_port)
        try:
            client.reply()
            started = time.monotonic()
            idle = client.reply(8)
            elapsed = time.monotonic() - started
            eof = client.line(3) is None if idle else None
        except (TimeoutError, OSError) as error:
            idle, elapsed, eof = type(error).__name__, None, None
        finally:
            client.close()
        check("B11 an idle connection (SMTP_MOCK_IDLE_SECONDS=2) gets 421 within 6 s, then is closed",
              isinstance(idle, tuple) and idle[0] == 421 and elapsed is not None and elapsed <= 6 and eof,
              f"reply {idle} after {elapsed} s, closed {eof}")

    for target in [mock] + ([auth_mock] if auth_mock else []):
        check(f"B11 {target.name} is still alive and ready after the abuse",
              target.alive() and http("GET", target.url + "/health/ready")[0] == 200, logs=[target])


def mock_fuzz(mock):
    seed = int(os.environ.get("SMTP_FUZZ_SEED") or random.randrange(2**32))
    info(f"fuzz seed {seed} (SMTP_FUZZ_SEED={seed} to replay)")
    rng = random.Random(seed)
    verbs = [b"HELO", b"EHLO", b"MAIL FROM:", b"RCPT TO:", b"RSET", b"NOOP", b"VRFY", b"EXPN", b"HELP", b"AUTH", b"BDAT",
             b"ETRN", b"XCLIENT", b"DATA", b"QUIT", b"STARTTLS", b"mail from:<", b"", b"\x00", b"\x16\x03\x01"]
    printable = bytes(range(32, 127))
    binary = bytes(b for b in range(256) if b not in (10, 13))
    malformed, hangs, closes = [], [], 0
    client = None
    for index in range(300):
        if client is None or index % 60 == 0:
            if client is not None:
                client.close()
            client = RawSMTP(mock.smtp_port)
            banner = client.reply()
            if not banner or banner[0] != 220:
                malformed.append(("banner", banner))
        length = rng.choice([rng.randrange(0, 40), rng.randrange(0, 600), rng.randrange(0, 3000)])
        alphabet = printable if rng.random() < 0.5 else binary
        line = rng.choice(verbs) + (b" " if rng.random() < 0.7 else b"") + bytes(rng.choice(alphabet) for _ in range(length))
        ending = b"\r\n" if rng.random() < 0.9 else b"\n"
        try:
            client.send(line + ending)
            answer = client.reply(5)
        except TimeoutError:
            hangs.append(line[:40])
            client.close()
            client = None
            continue
        except OSError:
            answer = None
        if answer is None:
            closes += 1
            client.close()
            client = None
            continue
        code, lines = answer
        if code is None:
            malformed.append((line[:40], lines[-1][:80]))
        elif code == 354:
            answer = client.command(b".\r\n")  # an empty message ends the DATA the fuzz began
            if answer is None or answer[0] is None:
                malformed.append((b"end of DATA", answer))
        elif code == 220 and line.upper().startswith(b"STARTTLS") or code == 221:
            client.close()
            client = None
    if client is not None:
        client.close()
    info(f"fuzz: 300 lines, {closes} connections closed by the server")
    check("B12 fuzz: every reply line is ^[2-5]NN[ -], no command left unanswered (5 s)",
          not malformed and not hangs, f"seed {seed}; malformed {malformed[:5]}; unanswered {hangs[:5]}")
    recipient = address("b12-after")
    try:
        with smtp_session(mock) as session:
            session.send_message(alternative("sender@example.com", recipient, f"after fuzz {RUN}", "still fine\n", "<p>fine</p>"))
    except (smtplib.SMTPException, OSError) as error:
        info(f"send after fuzz: {error}")
    check("B12 after the fuzz smtp-mock is alive, ready and still takes mail",
          mock.alive() and http("GET", mock.url + "/health/ready")[0] == 200 and len(wait_inbox(mock, recipient)) == 1,
          f"seed {seed}", logs=[mock])


# ---------------------------------------------------------------------------------------------
# Part C: end to end


def end_to_end(mock):
    clear_outbox()
    users_port, auth_port = free_port(), free_port()
    users = Proc("users-api", "users-api", {
        "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "INTERNAL_API_TOKEN": INTERNAL_TOKEN, "BCRYPT_COST": "4", "LOG_LEVEL": "info",
    }, port=users_port)
    auth = Proc("auth-api", "auth-api", {
        "REDIS_URL": REDIS_URL, "INTERNAL_API_TOKEN": INTERNAL_TOKEN, "USERS_API_URL": f"http://127.0.0.1:{users_port}", "LOG_LEVEL": "info",
    }, port=auth_port)
    mailer, mailer_ready = start_mailer("mailer-c-e2e", {
        "SMTP_URL": f"smtp://127.0.0.1:{mock.smtp_port}", "SMTP_STARTTLS": "required", "SMTP_TLS_CA_FILE": CA,
    })
    ready = {"users-api": users.wait_http(), "auth-api": auth.wait_http(), "mailer": mailer_ready}
    check("C users-api, auth-api and a mailer (smtp → smtp-mock, STARTTLS required) are ready", all(ready.values()), ready,
          logs=[p for p, ok in zip((users, auth, mailer), ready.values()) if not ok])
    recipient = address("c-e2e")
    status, _, text = http("POST", f"{users.url}/v1/users", {"email": recipient, "password": PASSWORD}, {"Accept-Language": "fr"})
    check("C register with Accept-Language: fr → 202", status == 202, f"{status} {text[:300]}", logs=[users])

    def french_mail():
        for message in inbox(mock, recipient):
            match = re.search(r"Votre code est (\d{4})", message.get("body", ""))
            if match:
                return message, match.group(1)
        return None

    found = poll(french_mail, 20)
    message, code = found if found else (None, None)
    row = psql(f"SELECT idempotency_key, coalesce(language, ''), status FROM outbox WHERE payload->>'to' = {sql_text(recipient)} ORDER BY created_at DESC LIMIT 1")
    check("C the inbox gets the French mail (subject 'Votre code de vérification', 4-digit code) through the SMTP listener",
          message is not None and message.get("subject") == "Votre code de vérification" and (not row or message.get("id") == f"{row[0][0]}@{DOMAIN}"),
          f"inbox {inbox(mock, recipient)}; outbox row {row}", logs=[mailer, mock])
    stream = subprocess.run([*REDIS_CLI, "-u", REDIS_URL, "XLEN", "registrar:mail"], capture_output=True, text=True, timeout=10).stdout.strip()
    check("C the mail went over SMTP: nothing was published to the Redis stream (XLEN registrar:mail = 0)", stream == "0", f"XLEN {stream!r}")
    snippet = f"""psql {DATABASE_URL} -tA \\
  -c "select payload->>'body' from outbox
      where topic='user.verification_code' and payload->>'to'='{recipient}'
      order by created_at desc limit 1;" \\
  | grep -Eo '[0-9]{{4}}' | tail -1"""
    seed_code = subprocess.run(["bash", "-c", snippet], capture_output=True, text=True, timeout=30).stdout.strip()
    check("C the seed's psql query reads the same code", code is not None and seed_code == code, f"mail {code!r}, psql {seed_code!r}")
    status, _, text = http("POST", f"{users.url}/v1/users/activate", {"code": code or "0000"}, basic(recipient, PASSWORD))
    check("C activate with the mailed code → 200", status == 200, f"{status} {text[:300]}", logs=[users])
    status, _, text = http("POST", f"{auth.url}/v1/users/login", headers=basic(recipient, PASSWORD))
    token = json_or(text, {}).get("token") if status == 200 else None
    check("C log in → 200 with a token", status == 200 and bool(token), f"{status} {text[:300]}", logs=[auth])


# ---------------------------------------------------------------------------------------------


class Overtime(BaseException):
    """Raised by the watchdog; a BaseException, so no check's `except Exception` swallows it."""


def watchdog(signum, frame):
    raise Overtime(f"the whole run took more than {OVERALL_SECONDS} s")


def main():
    os.makedirs(RUN_DIR, exist_ok=True)
    signal.signal(signal.SIGALRM, watchdog)
    signal.alarm(OVERALL_SECONDS)
    started = time.monotonic()
    ensure_python_package("aiosmtpd", "aiosmtpd")
    relay_log = logging.getLogger("mail.log")
    relay_log.addHandler(logging.FileHandler(os.path.join(RUN_DIR, "aiosmtpd.log")))
    relay_log.setLevel(logging.INFO)
    relay_log.propagate = False
    swaks_missing = ensure_swaks()
    info(f"run {RUN}: database {DATABASE_NAME}, Redis {REDIS_URL}, logs in {RUN_DIR}")
    created = False
    mocks = []
    try:
        try:
            subprocess.run([*REDIS_CLI, "-u", REDIS_URL, "FLUSHDB"], check=True, capture_output=True, timeout=10)
            psql(f"DROP DATABASE IF EXISTS {DATABASE_NAME} WITH (FORCE)", ADMIN_URL)
            psql(f"CREATE DATABASE {DATABASE_NAME} OWNER app", ADMIN_URL)
            created = True
            migrate = Proc("migrate", "users-api", {"DATABASE_URL": DATABASE_URL, "LOG_LEVEL": "info"}, args=["migrate"])
            try:
                status = migrate.popen.wait(60)
            except subprocess.TimeoutExpired:
                status = "timeout"
            check("setup: users-api migrate applies the migrations", status == 0, f"exit {status}", logs=[migrate])
            if status != 0:
                return 1
        except (subprocess.SubprocessError, RuntimeError, OSError) as error:
            check("setup: fresh database and Redis database 7", False, str(error))
            return 1

        section("A1", scenario_starttls_auth)
        section("A2", scenario_wrong_ca)
        section("A3", scenario_tempfail)
        section("A4", scenario_reject)
        section("A5", scenario_dropped)
        section("A6", scenario_injection)
        section("A7", scenario_full_batches)
        section("A8", scenario_slow_relay)

        mock, mock_ready = start_mock("smtp-mock", {"SMTP_MOCK_MAX_MESSAGE_BYTES": str(MOCK_MAX_BYTES)})
        mocks.append(mock)
        auth_mock, auth_ready = start_mock("smtp-mock-auth", {
            "SMTP_MOCK_AUTH_USERNAME": MOCK_USER, "SMTP_MOCK_AUTH_PASSWORD": MOCK_PASSWORD, "SMTP_MOCK_IDLE_SECONDS": "2",
        })
        mocks.append(auth_mock)
        check("B smtp-mock (STARTTLS, SIZE 100000) is ready and its SMTP listener greets", mock_ready, logs=[mock])
        check("B smtp-mock with AUTH (idle 2 s) is ready and its SMTP listener greets", auth_ready, logs=[auth_mock])
        if mock_ready:
            auth_target = auth_mock if auth_ready else None
            section("B6/B7 smtplib", mock_smtplib, mock, auth_target)
            section("B8 swaks", mock_swaks, mock, auth_target, swaks_missing)
            section("B9 curl", mock_curl, mock, auth_target)
            section("B10 duplicates", mock_duplicates, mock)
            section("B11 abuse", mock_abuse, mock, auth_target)
            section("B12 fuzz", mock_fuzz, mock)
            section("C end to end", end_to_end, mock)
    except Overtime as error:
        check("the run finishes in time", False, str(error))
    finally:
        signal.alarm(0)
        for process in reversed(Proc.ALL):
            process.stop()
        if created:
            try:
                psql(f"DROP DATABASE IF EXISTS {DATABASE_NAME} WITH (FORCE)", ADMIN_URL, check_errors=False)
            except subprocess.SubprocessError:
                pass
    print(f"smtp: {RESULTS['passed']} passed, {RESULTS['failed']} failed ({time.monotonic() - started:.0f} s)", flush=True)
    return 0 if RESULTS["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
