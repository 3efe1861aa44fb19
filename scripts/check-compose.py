#!/usr/bin/env python3
"""Static checks of deploy/compose/docker-compose.yml (no Docker engine runs here).

Every service the stack needs exists with a healthcheck (or is the one-shot migrate job), a
restart policy and resource limits; every variable a service reads that the README documents is
set; no secret has a literal value.
"""
import re
import sys

import yaml

REQUIRED = {"postgres", "redis", "migrate", "users-api", "auth-api", "mailer", "smtp-mock", "edge"}
SECRETS = {"INTERNAL_API_TOKEN", "POSTGRES_PASSWORD"}


def main(path: str) -> int:
    with open(path) as handle:
        doc = yaml.safe_load(handle)
    problems = []
    services = doc.get("services", {})
    missing = REQUIRED - services.keys()
    if missing:
        problems.append(f"missing services: {sorted(missing)}")
    for name, service in services.items():
        if name != "migrate" and "healthcheck" not in service:
            problems.append(f"{name}: no healthcheck")
        if "restart" not in service:
            problems.append(f"{name}: no restart policy")
        if not service.get("deploy", {}).get("resources", {}).get("limits"):
            problems.append(f"{name}: no resource limits")
        for key, value in (service.get("environment") or {}).items():
            if key in SECRETS and not re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", str(value)):
                problems.append(f"{name}: secret {key} must come from the environment (${{{key}:?…}})")
    for name in ("users-api", "auth-api", "mailer", "smtp-mock"):
        env = services.get(name, {}).get("environment", {})
        for key in ("REDIS_URL", "HTTP_HOST", "HTTP_PORT"):
            if key not in env:
                problems.append(f"{name}: {key} not set")
    for problem in problems:
        print(f"compose: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
