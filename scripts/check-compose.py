#!/usr/bin/env python3
"""Static checks of deploy/compose/docker-compose.yml (no Docker engine runs here).

1. After Compose-style interpolation (`${VAR:-default}`, `${VAR:?message}`), the file validates
   against the Compose Specification's JSON schema (`compose_spec.json`, taken from the
   docker-compose 1.29.2 wheel on PyPI and cached under .run/).
2. Every service the stack needs exists, with a healthcheck (the one-shot migrate job excepted),
   a restart policy and resource limits; secrets come from the environment, never literals.
3. Every variable given to one of our services is one the README's configuration table documents,
   every service's HTTP_PORT is the port its healthcheck probes, and the edge's config routes to
   those ports.
"""
import json
import os
import re
import subprocess
import sys
import zipfile

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, ".run", "cache")
REQUIRED = {"postgres", "redis", "migrate", "users-api", "auth-api", "mailer", "smtp-mock", "edge"}
OURS = ("users-api", "auth-api", "mailer", "smtp-mock", "migrate")
SECRETS = {"INTERNAL_API_TOKEN", "POSTGRES_PASSWORD"}


def compose_schema():
    os.makedirs(CACHE, exist_ok=True)
    wheel = os.path.join(CACHE, "docker_compose-1.29.2-py2.py3-none-any.whl")
    if not os.path.exists(wheel):
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", CACHE, "docker-compose==1.29.2"],
            check=True,
        )
    with zipfile.ZipFile(wheel) as archive:
        return json.loads(archive.read("compose/config/compose_spec.json"))


def interpolate(text):
    def replace(match):
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        if operator and operator.endswith("-"):
            return argument
        return "placeholder-secret-value"  # `:?` — required: Compose refuses to start without it

    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}", replace, text)


def documented_variables():
    """Every `NAME` in the first cell of a README table row (the configuration table)."""
    names = set()
    with open(os.path.join(ROOT, "README.md")) as readme:
        for line in readme:
            if line.startswith("| `"):
                names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


def main(path):
    with open(path) as handle:
        raw = handle.read()
    problems = []
    doc = yaml.safe_load(interpolate(raw))
    for error in sorted(jsonschema.Draft7Validator(compose_schema()).iter_errors(doc), key=str):
        problems.append(f"schema: {'/'.join(map(str, error.path))}: {error.message}")

    services = doc.get("services", {})
    missing = REQUIRED - services.keys()
    if missing:
        problems.append(f"missing services: {sorted(missing)}")
    raw_doc = yaml.safe_load(raw)
    for name, service in raw_doc.get("services", {}).items():
        if name != "migrate" and "healthcheck" not in service:
            problems.append(f"{name}: no healthcheck")
        if "restart" not in service:
            problems.append(f"{name}: no restart policy")
        if not service.get("deploy", {}).get("resources", {}).get("limits"):
            problems.append(f"{name}: no resource limits")
        for key, value in (service.get("environment") or {}).items():
            if key in SECRETS and not re.search(r"\$\{" + key + r":\?", str(value)):
                problems.append(f"{name}: secret {key} must come from the environment (${{{key}:?…}})")

    documented = documented_variables()
    edge_config = open(os.path.join(os.path.dirname(path), "nginx.conf")).read()
    for name in OURS:
        env = services.get(name, {}).get("environment", {})
        for key in env:
            if key not in documented:
                problems.append(f"{name}: {key} is not a documented variable (README configuration table)")
        if name == "migrate":
            continue
        port = str(env.get("HTTP_PORT", ""))
        probe = " ".join(services[name].get("healthcheck", {}).get("test", []))
        if not port or f":{port}/health/ready" not in probe:
            problems.append(f"{name}: HTTP_PORT {port!r} is not what its healthcheck probes ({probe})")
        if name in ("users-api", "auth-api") and f"server {name}:{port} " not in edge_config:
            problems.append(f"edge: nginx.conf does not route to {name}:{port}")
    for problem in problems:
        print(f"compose: {problem}", file=sys.stderr)
    print(f"compose: {len(services)} services checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
