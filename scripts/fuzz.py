#!/usr/bin/env python3
"""schemathesis against the OpenAPI document, through the edge (issue 13). Run by scripts/e2e.sh
against its stack (two replicas each, abuse and edge limits raised: one client address).

schemathesis (PyPI, pinned, in its own virtualenv under .run/cache) reads /openapi.json and sends
generated requests to every operation: valid ones, invalid ones (wrong types, missing fields,
bad headers), without credentials and with unsupported methods, and checks every answer against
the document with all its checks (status codes, content types, headers, response schemas, no
5xx, invalid data refused, valid data accepted, auth enforced, 405 for undocumented methods).
Credentials for the Basic and Bearer schemes come from an account this script registers and
activates first. Bounded: FUZZ_MAX_EXAMPLES cases per operation and phase, a timeout per request
and for the whole run. Prints schemathesis' summary and a final "fuzz: …" line; exits 1 on any
failure.

Environment: E2E_EDGE, E2E_SMTP (set by scripts/e2e.sh); FUZZ_MAX_EXAMPLES (200), FUZZ_SEED.
"""
import base64
import glob
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

EDGE = os.environ["E2E_EDGE"]
SMTP = os.environ["E2E_SMTP"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSION = "4.32.5"
VENV = os.path.join(ROOT, ".run", "cache", f"schemathesis-{VERSION}")
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "200"))
SEED = int(os.environ.get("FUZZ_SEED", str(random.randrange(1 << 32))))
OVERALL_SECONDS = 240
PASSWORD = "s3cret-passw0rd"


def http(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def schemathesis():
    """The `st` executable of the pinned version, installed into its own virtualenv once."""
    st = os.path.join(VENV, "bin", "st")
    if not os.path.exists(st):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run(
            [os.path.join(VENV, "bin", "pip"), "install", "-q", "--disable-pip-version-check", f"schemathesis=={VERSION}"],
            check=True, timeout=300,
        )
    return st


def account():
    """An active account (its email) and a Bearer token for it."""
    email = f"fuzz+{random.getrandbits(40):x}@example.com"
    status, text = http("POST", f"{EDGE}/v1/users", {"email": email, "password": PASSWORD})
    if status != 202:
        raise RuntimeError(f"register: {status} {text[:200]}")
    code = None
    for _ in range(100):
        _, inbox = http("GET", f"{SMTP}/messages?to={urllib.request.quote(email)}")
        match = re.search(r"Your code is (\d+)", inbox)
        if match:
            code = match.group(1)
            break
        time.sleep(0.1)
    basic = {"Authorization": "Basic " + base64.b64encode(f"{email}:{PASSWORD}".encode()).decode()}
    status, text = http("POST", f"{EDGE}/v1/users/activate", {"code": code}, basic)
    if status != 200:
        raise RuntimeError(f"activate: {status} {text[:200]}")
    status, text = http("POST", f"{EDGE}/v1/users/login", headers=basic)
    if status != 200:
        raise RuntimeError(f"login: {status} {text[:200]}")
    return email, json.loads(text)["token"]


def main():
    started = time.monotonic()
    try:
        st = schemathesis()
        email, token = account()
        _, logout_token = account()
        _, end_all_token = account()
        _, account_token = account()
    except (OSError, RuntimeError, subprocess.SubprocessError) as error:
        print(f"FAIL  fuzz setup -- {type(error).__name__}: {error}", flush=True)
        print("fuzz: 0 passed, 1 failed", flush=True)
        return 1
    work = tempfile.mkdtemp(prefix="fuzz-")
    config = os.path.join(work, "schemathesis.toml")
    with open(config, "w") as handle:
        handle.write(CONFIG)
    with open(os.path.join(work, "fuzz_hooks.py"), "w") as handle:
        handle.write(HOOKS)
    environment = {
        **os.environ, "FUZZ_EMAIL": email, "FUZZ_PASSWORD": PASSWORD, "FUZZ_TOKEN": token, "FUZZ_LOGOUT_TOKEN": logout_token,
        "FUZZ_END_ALL_TOKEN": end_all_token, "FUZZ_ACCOUNT_TOKEN": account_token,
        "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": "fuzz_hooks", "PYTHONPATH": work,
    }
    command = [
        st, "--config-file", config, "run", f"{EDGE}/openapi.json", "--url", EDGE,
        "--checks", "all", "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
        "--request-timeout", "10", "--workers", "1", "--max-failures", "20", "--no-shrink",
        "--report", "junit", "--report-dir", work,
    ]
    print(f"info  schemathesis {VERSION}: {' '.join(command[3:])}", flush=True)
    try:
        run = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=OVERALL_SECONDS, cwd=work)
        output, status = run.stdout + run.stderr, run.returncode
    except subprocess.TimeoutExpired as error:
        output, status = (error.stdout or b"").decode(errors="replace") if isinstance(error.stdout, bytes) else (error.stdout or ""), -1
        output += f"\nstopped after {OVERALL_SECONDS} s"
    cases = 0
    try:
        for report in glob.glob(os.path.join(work, "junit*.xml")):
            with open(report) as handle:
                cases += len(re.findall(r"<testcase ", handle.read()))
    except OSError:
        pass
    summary = re.findall(r"^.*(?:generated|Tested:|⚠️|❌|🚫).*$", output, re.M)
    print(output if status != 0 else "\n".join(summary[-12:]), flush=True)
    elapsed = time.monotonic() - started
    print(f"info  seed {SEED} (FUZZ_SEED={SEED} reruns these cases); {cases} operations reported; {elapsed:.0f} s", flush=True)
    if status == 0:
        print(f"ok    schemathesis: every check passed on every operation ({MAX_EXAMPLES} examples each), {elapsed:.0f} s", flush=True)
        print("fuzz: 1 passed, 0 failed", flush=True)
        return 0
    print(f"FAIL  schemathesis: exit {status} (its report is above)", flush=True)
    print("fuzz: 0 passed, 1 failed", flush=True)
    return 1


# Credentials per security scheme of the document (names as in components.securitySchemes).
# Logout and "end all sessions" end the session they are called with: each gets a token of an
# account of its own, so the one every other Bearer operation uses stays valid for the whole run
# (once theirs is spent they answer 401, which schemathesis accepts from valid data). The account
# operations (password and email change, deletion, ending one session) share a third account:
# their wrong passwords spend its credential budget, not the one login is fuzzed with.
CONFIG = """\
[auth.openapi.basicAuth]
username = "${FUZZ_EMAIL}"
password = "${FUZZ_PASSWORD}"

[auth.openapi.bearerAuth]
bearer = "${FUZZ_TOKEN}"

[[operations]]
include-operation-id = "logout"
headers = { Authorization = "Bearer ${FUZZ_LOGOUT_TOKEN}" }

[[operations]]
include-operation-id = "endAllSessions"
headers = { Authorization = "Bearer ${FUZZ_END_ALL_TOKEN}" }
"""
CONFIG += "".join(
    f"""
[[operations]]
include-operation-id = "{operation}"
headers = {{ Authorization = "Bearer ${{FUZZ_ACCOUNT_TOKEN}}" }}
"""
    for operation in ("changePassword", "changeEmail", "confirmEmail", "deleteAccount", "endSession")
)
# A well-formed code that is not the live one is 400 (as for activation, which the fuzz account,
# already active, answers with 409 instead): for these two, valid data may also be refused with 400.
CONFIG += "".join(
    f"""
[[operations]]
include-operation-id = "{operation}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
"""
    for operation in ("resetPassword", "confirmEmail")
)

# The one rule of the document JSON Schema cannot state: a password is at most 72 bytes of UTF-8
# (bcrypt's limit; `maxLength` counts characters). Generated registrations, resets and password
# changes whose new password is longer are dropped, so "valid data accepted" is not judged on
# them; every other case runs.
#
# Registrations get an address no earlier case used (a random prefix on the generated one, kept
# valid or invalid as generated): the same address twice within RESEND_THROTTLE_SECONDS is 429
# registration_throttled, which would leave registration itself untested.
HOOKS = """\
import random

import schemathesis

REGISTRATIONS = ["registerUser", "registerUserTrailingSlash"]


def within_bcrypt_bytes(body, field):
    password = body.get(field) if isinstance(body, dict) else None
    return not (isinstance(password, str) and len(password.encode("utf-8", "surrogatepass")) > 72)


@schemathesis.hook("filter_body").apply_to(operation_id=REGISTRATIONS + ["resetPassword"])
def password_within_bcrypt_bytes(ctx, body):
    return within_bcrypt_bytes(body, "password")


@schemathesis.hook("filter_body").apply_to(operation_id="changePassword")
def new_password_within_bcrypt_bytes(ctx, body):
    return within_bcrypt_bytes(body, "new_password")


@schemathesis.hook("map_body").apply_to(operation_id=REGISTRATIONS)
def fresh_address(ctx, body):
    email = body.get("email") if isinstance(body, dict) else None
    if isinstance(email, str):
        local, at, domain = email.rpartition("@")
        if at and 0 < len(local) <= 52 and len(email) <= 240 and not local.startswith("."):
            return {**body, "email": f"z{random.getrandbits(40):010x}.{local}@{domain}"}
    return body
"""

if __name__ == "__main__":
    sys.exit(main())
