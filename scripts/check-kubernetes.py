#!/usr/bin/env python3
"""Static checks of deploy/kubernetes (no cluster needed; everything runs offline).

1. Rendering: `kubectl kustomize` renders base, overlays/local and overlays/production. Without
   kubectl, the plain files are loaded instead (base's resources and generated ConfigMaps; the
   overlays' own resource files) and what needs a rendered overlay is skipped, with a warning.
2. Schemas: every object of every render, and every plain resource file, validates strictly
   (unknown fields are errors: `readinesProbe` fails) against the Kubernetes 1.33 schemas of
   kubernetes-validate (PyPI; installed quietly when missing). A kind without a schema fails too.
3. Consistency, in each render:
   - inventory: a Deployment, Service, PodDisruptionBudget and autoscaling/v2
     HorizontalPodAutoscaler for users-api, auth-api, mailer, smtp-mock and the edge; migrations
     only in a Job (`users-api migrate`), never in a Deployment; every object in the namespace;
     no Secret objects (secrets are created out of band);
   - image and commands: one image for the four services and the Job, commands equal to the
     Dockerfile's entrypoints (/app/<binary>), its user's uid in runAsUser; the edge runs the
     compose file's nginx image; production pins a tag that is not `latest`;
   - ports: containerPort = HTTP_PORT = the Service's port and target = the probes' port;
     startup and readiness probes on /health/ready, liveness on /health/live (edge: /health);
     each Service selects exactly one workload's pods; auth-api's USERS_API_URL is users-api's
     Service; the edge's nginx.conf routes to the Services' names and ports, listens publicly on
     its containerPort only, answers /internal/ with 404, keeps any other listener on loopback;
   - the edge's config is deploy/local/nginx.conf.template rendered for Kubernetes (the committed
     base/edge/nginx.conf is current; the rendered ConfigMap is what nginx -c loads);
   - environment: every variable set on a service (env and envFrom ConfigMaps) is in a README
     table "| Variable | Default | Used by | Meaning |" with that service (or `all`) in "Used by";
     DATABASE_URL, REDIS_URL and INTERNAL_API_TOKEN only from secretKeyRef, never in a
     ConfigMap; no credentials in a ConfigMap; INTERNAL_API_TOKEN only in users-api and auth-api;
     no Service links; MAIL_STREAM and CODE_TTL_SECONDS agree between the services that share
     them; production sets REDIS_SENTINELS and REDIS_SENTINEL_MASTER on every Redis user and mounts
     the Postgres CA from a Secret where DATABASE_URL is used;
   - shutdown: a short preStop (1-10 s) and terminationGracePeriodSeconds above preStop plus the
     mailer's MAILER_LEASE_SECONDS;
   - security: non-root, no privilege escalation, read-only root filesystem, all capabilities
     dropped, RuntimeDefault seccomp, no service account token, for every container;
   - resources: requests and limits everywhere; memory request >= 1.25x and limit >= 2x the
     loaded RSS measured by make bench (bench/results/latest.md); the edge's limit holds its
     nginx shared zones; Redis's maxmemory is below its limit; Postgres connections of every
     pool at the autoscalers' maxima plus rolling-update surge fit max_connections;
   - scaling: autoscalers target their Deployment, CPU for the APIs and the edge (with CPU
     requests), External metrics only of those the mailer exports (in production: outbox age and
     depth for the mailer, stream lag for smtp-mock), no replicas in a Deployment an autoscaler
     owns; each PodDisruptionBudget selects its Deployment's pods and allows one eviction at
     minReplicas; topology spread over zones and nodes;
   - network: every flow the NetworkPolicies allow is computed (pods of the render plus an
     outside client, a pod in another namespace, Prometheus, cluster DNS, an extra pod in the
     namespace and each ipBlock) and must equal the README architecture's list; a rule that one
     side allows and the other refuses is reported too.
4. README: a "## Kubernetes" section naming the overlays and this script.

Prints one line per problem and a summary; exits 1 on any problem.
Usage: check-kubernetes.py [--dir DIR] [--print-edge-config]
"""
import argparse
import importlib
import ipaddress
import math
import os
import re
import shutil
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KUBERNETES_VERSION = "1.33.0"
NAMESPACE = "registrar"
OVERLAYS = ("base", "overlays/local", "overlays/production")
SERVICES = {"users-api": 8081, "auth-api": 8082, "mailer": 8083, "smtp-mock": 8025}
EDGE = "edge"
APIS = ("users-api", "auth-api", EDGE)  # scaled on CPU
SECRET_VARIABLES = {"DATABASE_URL", "REDIS_URL", "INTERNAL_API_TOKEN"}
POSTGRES_USERS = ("users-api", "mailer", "migrate")
REDIS_USERS = ("users-api", "auth-api", "mailer", "smtp-mock")
POSTGRES_CA_MOUNT = "/etc/registrar/postgres-ca"
NAME_LABEL = "app.kubernetes.io/name"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet", "Pod", "CronJob")

problems = []
validated = 0  # objects checked against the schemas


def problem(where, message):
    problems.append(f"kubernetes: {where}: {message}")


# ---------------------------------------------------------------------------------------------
# Inputs from the rest of the repository


def readme_text():
    with open(os.path.join(ROOT, "README.md")) as handle:
        return handle.read()


def documented_variables():
    """NAME -> services that read it ({"all"} for all), from every README table with the
    configuration table's header."""
    variables = {}
    in_table = False
    for line in readme_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[:3] == ["Variable", "Default", "Used by"]:
            in_table = True
            continue
        if not in_table:
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        if len(cells) < 3 or set(cells[0]) <= set("-: "):
            continue
        used_by = cells[2]
        users = {"all"} if used_by.lower().startswith("all") else set(re.findall(r"[a-z][a-z0-9-]*", used_by))
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0]):
            variables.setdefault(name, set()).update(users)
    return variables


def dockerfile_facts():
    with open(os.path.join(ROOT, "deploy", "compose", "Dockerfile")) as handle:
        text = handle.read()
    binaries = re.search(r'\)"/\{([^}]+)\} /out/', text)
    app_dir = re.search(r"COPY --from=build /out/ (\S+)", text)
    uid = re.search(r"--uid (\d+)", text)
    if not (binaries and app_dir and uid):
        problem("Dockerfile", "cannot find the binaries, /app directory or uid in deploy/compose/Dockerfile")
        return {"binaries": set(SERVICES), "app_dir": "/app/", "uid": 10001}
    return {
        "binaries": set(binaries.group(1).split(",")),
        "app_dir": app_dir.group(1).rstrip("/") + "/",
        "uid": int(uid.group(1)),
    }


def compose_edge_image():
    with open(os.path.join(ROOT, "deploy", "compose", "docker-compose.yml")) as handle:
        return yaml.safe_load(handle)["services"]["edge"]["image"]


def bench_memory():
    """process -> (RSS idle MB, RSS loaded MB) from bench/results/latest.md."""
    measured = {}
    path = os.path.join(ROOT, "bench", "results", "latest.md")
    in_table = False
    for line in open(path):
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| process |"):
            header = cells
            in_table = True
            continue
        if in_table and line.startswith("|") and not set(cells[0]) <= set("-: "):
            row = dict(zip(header, cells))
            name = re.sub(r"-\d+$", "", cells[0])
            measured[name] = (float(row["RSS idle MB"]), float(row["RSS loaded MB"]))
        elif in_table and not line.startswith("|"):
            in_table = False
    if not measured:
        problem("bench", f"no process memory table in {path}")
    return measured


def mailer_metric_names():
    names = set()
    for directory, _, files in os.walk(os.path.join(ROOT, "services", "mailer", "Sources")):
        for name in files:
            if name.endswith(".swift"):
                text = open(os.path.join(directory, name)).read()
                names.update(re.findall(r'(?:Gauge|Counter|Timer|Recorder)\(label: "([a-z_]+)"', text))
    return names


def expected_edge_config():
    """The template rendered for Kubernetes with the default limits (as make test renders
    compose's): `render-edge-config.sh kubernetes` once that mode exists, until then compose's
    rendering with the internal listener moved to the pod's loopback (what that mode is to do)."""
    script = os.path.join(ROOT, "scripts", "render-edge-config.sh")
    env = {key: value for key, value in os.environ.items() if not key.startswith("EDGE_")}
    result = subprocess.run([script, "kubernetes"], env=env, capture_output=True, text=True)
    if result.returncode == 0:
        return result.stdout, "scripts/render-edge-config.sh kubernetes"
    if result.returncode != 2 or "usage" not in result.stderr:
        problem("edge", f"scripts/render-edge-config.sh kubernetes failed: {result.stderr.strip()}")
        return None, None
    result = subprocess.run([script, "compose"], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        problem("edge", f"scripts/render-edge-config.sh compose failed: {result.stderr.strip()}")
        return None, None
    text, count = re.subn(r"(?m)^(\s*listen) 8090;$", r"\1 127.0.0.1:8090;", result.stdout)
    if count != 1:
        problem("edge", "compose's rendering has no single `listen 8090;` to move to loopback: add the kubernetes mode to scripts/render-edge-config.sh")
        return None, None
    return text, "scripts/render-edge-config.sh compose, internal listener on 127.0.0.1:8090"


# ---------------------------------------------------------------------------------------------
# Rendering and schemas


def load_yaml_documents(path):
    with open(path) as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def kustomization(directory):
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return yaml.safe_load(open(path)) or {}
    return None


def plain_resource_files(directory):
    """The resource files a kustomization lists itself (not other kustomizations)."""
    spec = kustomization(directory) or {}
    files = []
    for entry in spec.get("resources", []):
        path = os.path.normpath(os.path.join(directory, entry))
        if os.path.isfile(path):
            files.append(path)
    return files


def render_with_kubectl(directory):
    result = subprocess.run(["kubectl", "kustomize", directory], capture_output=True, text=True)
    if result.returncode != 0:
        message = [line for line in result.stderr.splitlines() if line.strip()]
        problem(os.path.relpath(directory, ROOT), f"kubectl kustomize failed: {message[-1] if message else result.returncode}")
        return None
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def render_plain(directory):
    """Without kubectl: a kustomization's own files, its namespace, ConfigMap generators and
    image tags (no patches, labels or name hashes). Enough for base."""
    spec = kustomization(directory) or {}
    objects = []
    for path in plain_resource_files(directory):
        objects.extend(load_yaml_documents(path))
    for generator in spec.get("configMapGenerator", []):
        data = {}
        for env_file in generator.get("envs", []):
            for line in open(os.path.join(directory, env_file)):
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, value = line.split("=", 1)
                    data[key] = value
        for entry in generator.get("files", []):
            key, _, source = entry.partition("=") if "=" in entry else (os.path.basename(entry), "", entry)
            data[key] = open(os.path.join(directory, source)).read()
        for literal in generator.get("literals", []):
            key, value = literal.split("=", 1)
            data[key] = value
        objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data})
    for obj in objects:
        if spec.get("namespace") and obj.get("kind") != "Namespace":
            obj.setdefault("metadata", {})["namespace"] = spec["namespace"]
    for image in spec.get("images", []):
        for container in all_containers(objects):
            if container.get("image", "").split(":")[0] == image["name"]:
                container["image"] = f"{image.get('newName', image['name'])}:{image.get('newTag', 'latest')}"
    return objects


def kubernetes_validate_module():
    try:
        import kubernetes_validate
    except ImportError:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "kubernetes-validate"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        importlib.invalidate_caches()
        try:
            import kubernetes_validate
        except ImportError:
            problem("schemas", "kubernetes-validate is not installed and pip could not install it (pip install kubernetes-validate)")
            return None
    return kubernetes_validate


def validate_strictly(validator, objects, where):
    global validated
    validated += len(objects)
    for obj in objects:
        name = f"{obj.get('kind', '?')}/{obj.get('metadata', {}).get('name', '?')}"
        try:
            validator.validate(obj, KUBERNETES_VERSION, strict=True)
        except validator.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            problem(where, f"{name}: schema (Kubernetes {KUBERNETES_VERSION}, strict): {path}: {error.message}")
        except validator.SchemaNotFoundError as error:
            problem(where, f"{name}: {error.message}")
        except Exception as error:  # a version the package does not know, a broken document
            problem(where, f"{name}: could not be validated: {error}")


# ---------------------------------------------------------------------------------------------
# Helpers over rendered objects


def pod_spec(obj):
    spec = obj.get("spec", {})
    if obj["kind"] == "Pod":
        return spec
    if obj["kind"] == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})
    return spec.get("template", {}).get("spec", {})


def pod_labels(obj):
    if obj["kind"] == "Pod":
        return obj.get("metadata", {}).get("labels", {})
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"].get("metadata", {}).get("labels", {})
    return obj.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})


def all_containers(objects):
    for obj in objects:
        if obj.get("kind") in WORKLOAD_KINDS:
            spec = pod_spec(obj)
            yield from spec.get("initContainers", []) or []
            yield from spec.get("containers", []) or []


def selector_matches(selector, labels):
    """A LabelSelector (matchLabels, matchExpressions); None or {} selects everything."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def memory_mib(quantity):
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(quantity))
    if not match:
        return None
    factor = {"": 1 / 2**20, "Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "k": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    return float(match.group(1)) * factor.get(match.group(2), math.nan)


def cpu_millicores(quantity):
    text = str(quantity)
    return float(text[:-1]) if text.endswith("m") else float(text) * 1000


def container_env(container, configmaps, where):
    """name -> ("value", v) | ("secret", (secret, key)) | ("configmap", v) | ("other", None)."""
    env = {}
    for source in container.get("envFrom", []) or []:
        if "configMapRef" in source:
            name = source["configMapRef"]["name"]
            if name not in configmaps:
                problem(where, f"envFrom names ConfigMap {name}, which is not in the manifests")
                continue
            for key, value in (configmaps[name].get("data") or {}).items():
                env[source.get("prefix", "") + key] = ("configmap", value)
        if "secretRef" in source:
            problem(where, f"envFrom secretRef {source['secretRef'].get('name')}: list each secret variable with secretKeyRef")
    for entry in container.get("env", []) or []:
        if "value" in entry:
            env[entry["name"]] = ("value", entry["value"])
        elif "secretKeyRef" in entry.get("valueFrom", {}):
            ref = entry["valueFrom"]["secretKeyRef"]
            env[entry["name"]] = ("secret", (ref["name"], ref["key"]))
        else:
            env[entry["name"]] = ("other", None)
    return env


def plain_value(env, name, default=None):
    kind, value = env.get(name, (None, None))
    return value if kind in ("value", "configmap") else default


def resolve_port(port, container_ports):
    """A probe's or Service's port (number or name) -> the container port number, or None."""
    for entry in container_ports:
        if port == entry.get("name") or port == entry.get("containerPort"):
            return entry["containerPort"]
    return None


def prestop_seconds(container):
    pre_stop = (container.get("lifecycle") or {}).get("preStop")
    if not pre_stop:
        return None
    if "sleep" in pre_stop:
        return int(pre_stop["sleep"]["seconds"])
    command = " ".join((pre_stop.get("exec") or {}).get("command", []))
    match = re.search(r"(?:^|[/\s])sleep\s+(\d+)", command)
    return int(match.group(1)) if match else -1


# ---------------------------------------------------------------------------------------------
# nginx.conf


def nginx_blocks(text):
    """nginx.conf as a tree of (directive, children or None), aware of quotes and comments."""
    tokens = []
    i, current = 0, ""
    while i < len(text):
        char = text[i]
        if char == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        if char in "'\"":
            end = text.index(char, i + 1)
            current += text[i : end + 1]
            i = end + 1
            continue
        if char in "{};":
            tokens.append((current.strip(), char))
            current = ""
        else:
            current += char
        i += 1
    # Rebuild nested structure: list of (head, children or None)
    def parse(position):
        items = []
        while position < len(tokens):
            head, char = tokens[position]
            position += 1
            if char == ";":
                items.append((head, None))
            elif char == "{":
                children, position = parse(position)
                items.append((head, children))
            else:  # "}"
                if head:
                    items.append((head, None))
                return items, position
        return items, position

    tree, _ = parse(0)
    return tree


def nginx_find(tree, head_pattern):
    return [(head, children) for head, children in tree if re.match(head_pattern, head)]


def check_edge_config(text, services, edge_port, where):
    """The edge's nginx.conf against the Services and the edge's port."""
    tree = nginx_blocks(text)
    http = nginx_find(tree, r"http$")
    if len(http) != 1:
        problem(where, "edge nginx.conf: no single http block")
        return
    http = http[0][1]
    upstreams = {}
    for head, children in nginx_find(http, r"upstream\s"):
        upstreams[head.split()[1]] = [child_head.split()[1] for child_head, _ in children if child_head.startswith("server ")]
    for service in ("users-api", "auth-api"):
        upstream = service.replace("-", "_")
        servers = upstreams.get(upstream, [])
        expected = f"{service}:{services.get(service, {}).get('port')}"
        if servers != [expected]:
            problem(where, f"edge nginx.conf: upstream {upstream} is {servers}, expected the {service} Service ({expected})")
    servers = nginx_find(http, r"server$")
    public = []
    for _, children in servers:
        listens = [head.split()[1] for head, _ in children if head.startswith("listen ")]
        loopback = [address for address in listens if re.match(r"(127\.|\[::1\]|localhost)", address)]
        if loopback == listens:
            continue
        if loopback:
            problem(where, f"edge nginx.conf: a server listens both publicly and on loopback: {listens}")
        public.append((listens, children))
    if len(public) != 1:
        problem(where, f"edge nginx.conf: {len(public)} servers listen beyond loopback, expected one (the public API); an internal listener must be bound to 127.0.0.1")
        return
    listens, children = public[0]
    ports = {int(address.rsplit(":", 1)[-1]) for address in listens}
    if ports != {edge_port}:
        problem(where, f"edge nginx.conf: the public server listens on {sorted(ports)}, the edge container on {edge_port}")
    internal = nginx_find(children, r"location\s+\^~\s+/internal/$")
    if not internal or not any(head.startswith("return 404") for head, _ in internal[0][1]):
        problem(where, "edge nginx.conf: the public server does not answer /internal/ with 404")
    for head, body in nginx_find(children, r"location\s"):
        path = head.split()[-1]
        if "/internal" in path and any(child.startswith("proxy_pass") for child, _ in body or []):
            problem(where, f"edge nginx.conf: the public server proxies {head}")
    if not nginx_find(children, r"location\s+=\s+/health$"):
        problem(where, "edge nginx.conf: no /health location (the edge's probes)")


def nginx_zone_mib(text):
    """MiB of the shared memory zones nginx's limits use (10m = 10 MiB)."""
    factor = {"": 1 / 2**20, "k": 1 / 1024, "m": 1}
    return sum(
        int(size) * factor[unit.lower()]
        for size, unit in re.findall(r"limit_(?:conn|req)_zone\s+\S+\s+zone=[^:\s]+:(\d+)([kKmM]?)", text)
    )


# ---------------------------------------------------------------------------------------------
# NetworkPolicy flows


class Endpoint:
    def __init__(self, name, namespace=None, labels=None, ports=(), ip=None):
        self.name, self.namespace, self.labels, self.ports, self.ip = name, namespace, labels or {}, list(ports), ip

    @property
    def in_cluster(self):
        return self.namespace is not None


PROBE_PORTS = [(53, "UDP"), (53, "TCP"), (25, "TCP"), (80, "TCP"), (443, "TCP"), (587, "TCP"), (5432, "TCP"), (6379, "TCP"), (26379, "TCP")] + [
    (port, "TCP") for port in (8000, 8090, *SERVICES.values())
]


def peer_matches(peer, endpoint, policy_namespace):
    if "ipBlock" in peer:
        if endpoint.in_cluster:
            return False  # pod addresses are not meant for ipBlock (and ours are unknown)
        address = ipaddress.ip_address(endpoint.ip)
        block = peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"], strict=False) and not any(
            address in ipaddress.ip_network(excluded, strict=False) for excluded in block.get("except", [])
        )
    if not endpoint.in_cluster:
        return False
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], {"kubernetes.io/metadata.name": endpoint.namespace}):
            return False
    elif endpoint.namespace != policy_namespace:
        return False
    return selector_matches(peer.get("podSelector"), endpoint.labels) if "podSelector" in peer else True


def port_matches(rule_ports, destination, port, protocol):
    if not rule_ports:
        return True
    for entry in rule_ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, str):
            if any(p.get("name") == wanted and p["containerPort"] == port and p.get("protocol", "TCP") == protocol for p in destination.ports):
                return True
            continue
        if wanted <= port <= entry.get("endPort", wanted):
            return True
    return False


def policy_types(policy):
    spec = policy["spec"]
    return spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))


def direction_allows(policies, subject, other, port, protocol, direction):
    """(allowed, allowed by a rule naming its peers) for subject's ingress or egress."""
    if not subject.in_cluster or subject.namespace != NAMESPACE:
        return True, False
    selecting = [
        p for p in policies if p["metadata"].get("namespace", NAMESPACE) == subject.namespace
        and selector_matches(p["spec"].get("podSelector"), subject.labels) and direction.capitalize() in policy_types(p)
    ]
    if not selecting:
        return True, False
    peers_key = "from" if direction == "ingress" else "to"
    destination = subject if direction == "ingress" else other
    allowed = named = False
    for policy in selecting:
        for rule in policy["spec"].get(direction) or []:
            peers = rule.get(peers_key) or []
            if peers and not any(peer_matches(peer, other, policy["metadata"].get("namespace", NAMESPACE)) for peer in peers):
                continue
            if not port_matches(rule.get("ports"), destination, port, protocol):
                continue
            allowed = True
            if peers and not any("ipBlock" in peer and peer["ipBlock"]["cidr"].endswith("/0") for peer in peers):
                named = True
    return allowed, named


def first_address(block):
    network = ipaddress.ip_network(block["cidr"], strict=False)
    excluded = [ipaddress.ip_network(e, strict=False) for e in block.get("except", [])]
    for address in (network.network_address + offset for offset in range(min(network.num_addresses, 4096))):
        if not any(address in e for e in excluded):
            return str(address)
    return str(network.network_address)


def destination_name(endpoint, port):
    if endpoint.in_cluster or endpoint.name == "internet":
        return endpoint.name
    if port == 5432:
        return "postgres"
    if port in (6379, 26379):
        return "redis"
    return endpoint.name


def compute_flows(objects, where):
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    pods = []
    for obj in objects:
        if obj["kind"] in WORKLOAD_KINDS:
            labels = pod_labels(obj)
            ports = [p for c in pod_spec(obj).get("containers", []) for p in c.get("ports", []) or []]
            pods.append(Endpoint(labels.get(NAME_LABEL, obj["metadata"]["name"]), obj["metadata"].get("namespace", NAMESPACE), labels, ports))
    others = [
        Endpoint("another pod in the namespace", NAMESPACE, {NAME_LABEL: "intruder"}),
        Endpoint("a pod in another namespace", "other", {NAME_LABEL: "other"}),
        Endpoint("prometheus", "monitoring", {NAME_LABEL: "prometheus"}),
        Endpoint("internet", ip="203.0.113.50"),
    ]
    dns = Endpoint("dns", "kube-system", {"k8s-app": "kube-dns"}, [{"name": "dns", "containerPort": 53, "protocol": "UDP"}, {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"}])
    externals = [Endpoint("internet", ip="203.0.113.50", ports=[{"containerPort": p, "protocol": proto} for p, proto in PROBE_PORTS])]
    for policy in policies:
        for rule in policy["spec"].get("egress") or []:
            for peer in rule.get("to") or []:
                if "ipBlock" in peer:
                    extra = [(p["port"], p.get("protocol", "TCP")) for p in rule.get("ports") or [] if isinstance(p.get("port"), int)]
                    ports = sorted(set(PROBE_PORTS + extra))
                    externals.append(Endpoint(peer["ipBlock"]["cidr"], ip=first_address(peer["ipBlock"]), ports=[{"containerPort": p, "protocol": proto} for p, proto in ports]))
    flows, half_open = set(), []
    for source in pods + others:
        for destination in pods + [dns] + externals:
            if source is destination:
                continue
            for entry in destination.ports:
                port, protocol = entry["containerPort"], entry.get("protocol", "TCP")
                egress, _ = direction_allows(policies, source, destination, port, protocol, "egress")
                ingress, named = direction_allows(policies, destination, source, port, protocol, "ingress")
                flow = (source.name, destination_name(destination, port), f"{port}/{protocol}")
                ours = [e for e in (source, destination) if e.in_cluster and e.namespace == NAMESPACE]
                if not ours:
                    continue  # between two outsiders: not these policies' business
                if egress and ingress:
                    flows.add(flow)
                elif source.in_cluster and source.namespace == NAMESPACE and destination.in_cluster and destination.namespace == NAMESPACE:
                    if egress:
                        half_open.append(f"{flow[0]} -> {flow[1]}:{flow[2]} is allowed by {flow[0]}'s egress but refused by {flow[1]}'s ingress")
                    elif named:
                        half_open.append(f"{flow[1]} admits {flow[0]} on {flow[2]}, but {flow[0]}'s egress refuses it")
    names = {pod.name for pod in pods} | {"another pod in the namespace"}
    return flows, sorted(set(half_open)), names


def expected_flows(overlay, namespace_pods):
    expected = set()
    for source in ("internet", "a pod in another namespace", "prometheus"):
        expected.add((source, EDGE, "8000/TCP"))
    expected |= {(EDGE, "users-api", "8081/TCP"), (EDGE, "auth-api", "8082/TCP"), ("auth-api", "users-api", "8081/TCP")}
    for source in POSTGRES_USERS:
        expected.add((source, "postgres", "5432/TCP"))
    for source in REDIS_USERS:
        expected.add((source, "redis", "6379/TCP"))
        if overlay == "production":
            expected.add((source, "redis", "26379/TCP"))  # Sentinel
            expected.add(("prometheus", source, f"{SERVICES[source]}/TCP"))  # /metrics
    for source in namespace_pods:
        expected |= {(source, "dns", "53/UDP"), (source, "dns", "53/TCP")}
    # MAIL_TRANSPORT=smtp: the mailer reaches its relay, outside the cluster (SMTP ports) or smtp-mock's listener.
    expected |= {("mailer", "internet", "25/TCP"), ("mailer", "internet", "587/TCP"), ("mailer", "smtp-mock", "1025/TCP")}
    return expected


SMTP_RELAY_PORTS = {"25/TCP", "465/TCP", "587/TCP"}


# ---------------------------------------------------------------------------------------------
# Consistency of one render


def check_render(overlay, objects, facts):
    where = overlay
    index = {}
    for obj in objects:
        index.setdefault((obj["kind"], obj["metadata"]["name"]), obj)
        if obj["kind"] != "Namespace" and obj["metadata"].get("namespace") != NAMESPACE:
            problem(where, f"{obj['kind']}/{obj['metadata']['name']} is not in namespace {NAMESPACE}")
        if obj["kind"] == "Secret":
            problem(where, f"Secret/{obj['metadata']['name']} is in the manifests: secrets are created out of band (README, \"Kubernetes\")")
    if ("Namespace", NAMESPACE) not in index:
        problem(where, f"no Namespace {NAMESPACE}")
    configmaps = {name: obj for (kind, name), obj in index.items() if kind == "ConfigMap"}
    workloads = [o for o in objects if o["kind"] in WORKLOAD_KINDS]
    documented = facts["documented"]

    # ConfigMaps: never secrets.
    for name, configmap in configmaps.items():
        for key, value in (configmap.get("data") or {}).items():
            if key in SECRET_VARIABLES:
                problem(where, f"ConfigMap/{name} holds {key}: secrets come from Secrets")
            if re.search(r"://[^/\s:@]*:[^/\s@]+@", str(value)):
                problem(where, f"ConfigMap/{name} key {key} holds a URL with a password")

    # Security, resources and shutdown for every pod.
    for obj in workloads:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        spec = pod_spec(obj)
        pod_security = spec.get("securityContext") or {}
        if spec.get("automountServiceAccountToken") is not False:
            problem(where, f"{name}: automountServiceAccountToken is not false")
        if spec.get("enableServiceLinks") is not False:
            problem(where, f"{name}: enableServiceLinks is not false (Service variables would enter the environment)")
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(flag):
                problem(where, f"{name}: {flag}")
        for container in (spec.get("initContainers") or []) + spec.get("containers", []):
            cname = f"{name} container {container['name']}"
            security = container.get("securityContext") or {}

            def setting(key):
                return security.get(key, pod_security.get(key))

            if setting("runAsNonRoot") is not True:
                problem(where, f"{cname}: runAsNonRoot is not true")
            if setting("runAsUser") in (0, None):
                problem(where, f"{cname}: no non-zero runAsUser")
            if (setting("seccompProfile") or {}).get("type") != "RuntimeDefault":
                problem(where, f"{cname}: seccompProfile is not RuntimeDefault")
            if security.get("allowPrivilegeEscalation") is not False:
                problem(where, f"{cname}: allowPrivilegeEscalation is not false")
            if security.get("readOnlyRootFilesystem") is not True:
                problem(where, f"{cname}: readOnlyRootFilesystem is not true")
            if security.get("privileged"):
                problem(where, f"{cname}: privileged")
            capabilities = security.get("capabilities") or {}
            if "ALL" not in (capabilities.get("drop") or []) or capabilities.get("add"):
                problem(where, f"{cname}: capabilities must drop ALL and add none")
            resources = container.get("resources") or {}
            for part in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in (resources.get(part) or {}):
                        problem(where, f"{cname}: no {resource} {part[:-1] if part.endswith('s') else part}")
            requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
            if "memory" in requests and "memory" in limits and memory_mib(requests["memory"]) > memory_mib(limits["memory"]):
                problem(where, f"{cname}: memory request above its limit")
            if "cpu" in requests and "cpu" in limits and cpu_millicores(requests["cpu"]) > cpu_millicores(limits["cpu"]):
                problem(where, f"{cname}: cpu request above its limit")
            process = "users-api" if container["name"] == "migrate" else container["name"]
            if process in facts["bench"] and "memory" in requests and "memory" in limits:
                loaded = facts["bench"][process][1]
                if memory_mib(requests["memory"]) < 1.25 * loaded:
                    problem(where, f"{cname}: memory request {requests['memory']} is below 1.25x the {loaded} MB make bench measured loaded")
                if memory_mib(limits["memory"]) < 2 * loaded:
                    problem(where, f"{cname}: memory limit {limits['memory']} is below 2x the {loaded} MB make bench measured loaded")
            if container["name"] == "redis":
                command = container.get("command", []) + container.get("args", [])
                if "--maxmemory" in command:
                    value = command[command.index("--maxmemory") + 1].lower()
                    match = re.fullmatch(r"(\d+)(kb|mb|gb|k|m|g)?", value)
                    factor = {"kb": 1 / 1024, "mb": 1, "gb": 1024, "k": 1e3 / 2**20, "m": 1e6 / 2**20, "g": 1e9 / 2**20, None: 1 / 2**20}
                    maxmemory = int(match.group(1)) * factor[match.group(2)] if match else math.inf
                    if "memory" in limits and maxmemory >= memory_mib(limits["memory"]):
                        problem(where, f"{cname}: --maxmemory {value} is not below the memory limit {limits['memory']}")
                else:
                    problem(where, f"{cname}: Redis without --maxmemory")

    # Migrations: a Job, never a replica.
    jobs = [o for o in workloads if o["kind"] == "Job"]
    migrate_jobs = [j for j in jobs if any(c.get("command") == [facts["app_dir"] + "users-api", "migrate"] for c in pod_spec(j)["containers"])]
    if len(migrate_jobs) != 1:
        problem(where, f"{len(migrate_jobs)} Jobs run {facts['app_dir']}users-api migrate, expected one")
    for obj in workloads:
        if obj["kind"] == "Job":
            continue
        for container in (pod_spec(obj).get("initContainers") or []) + pod_spec(obj).get("containers", []):
            if "migrate" in container.get("command", []) + container.get("args", []):
                problem(where, f"{obj['kind']}/{obj['metadata']['name']}: runs migrations in every replica (use the Job)")

    # The services and the edge.
    deployments = {o["metadata"]["name"]: o for o in workloads if o["kind"] == "Deployment"}
    hpas = {name: obj for (kind, name), obj in index.items() if kind == "HorizontalPodAutoscaler"}
    pdbs = [obj for (kind, _), obj in index.items() if kind == "PodDisruptionBudget"]
    services = {name: obj for (kind, name), obj in index.items() if kind == "Service"}
    service_ports = {}
    images = {}
    envs = {}
    lease = 30
    if "mailer" in deployments:
        mailer_container = pod_spec(deployments["mailer"])["containers"][0]
        lease = int(plain_value(container_env(mailer_container, configmaps, where), "MAILER_LEASE_SECONDS", 30))
    for name in list(SERVICES) + [EDGE]:
        deployment = deployments.get(name)
        if not deployment:
            problem(where, f"no Deployment {name}")
            continue
        dname = f"Deployment/{name}"
        spec = pod_spec(deployment)
        labels = pod_labels(deployment)
        if not selector_matches(deployment["spec"].get("selector"), labels):
            problem(where, f"{dname}: its selector does not match its pod template")
        containers = {c["name"]: c for c in spec.get("containers", [])}
        container = containers.get(name)
        if not container:
            problem(where, f"{dname}: no container named {name}")
            continue
        expected_port = SERVICES.get(name, 8000)
        ports = container.get("ports") or []
        port = resolve_port("http", ports)
        if name == EDGE:
            expected_port = port or 8000
        if port != expected_port:
            problem(where, f"{dname}: containerPort `http` is {port}, expected {expected_port}")
        images[name] = container.get("image", "")
        env = container_env(container, configmaps, f"{dname}")
        envs[name] = env

        # Probes.
        probe_paths = {"startupProbe": "/health/ready", "readinessProbe": "/health/ready", "livenessProbe": "/health/live"}
        for probe, path in probe_paths.items():
            definition = container.get(probe)
            if name == EDGE:
                path = "/health"
            if not definition or "httpGet" not in definition:
                problem(where, f"{dname}: no {probe} (httpGet {path})")
                continue
            if definition["httpGet"].get("path") != path:
                problem(where, f"{dname}: {probe} probes {definition['httpGet'].get('path')}, expected {path}")
            if resolve_port(definition["httpGet"].get("port"), ports) != port:
                problem(where, f"{dname}: {probe} port {definition['httpGet'].get('port')} is not the container's http port {port}")

        # Shutdown.
        seconds = prestop_seconds(container)
        grace = spec.get("terminationGracePeriodSeconds", 30)
        if seconds is None:
            problem(where, f"{dname}: no preStop (the endpoint must leave load balancing before SIGTERM)")
        elif not 1 <= seconds <= 10:
            problem(where, f"{dname}: preStop should be a short sleep (1-10 s), found {seconds}")
        elif grace <= seconds + lease:
            problem(where, f"{dname}: terminationGracePeriodSeconds {grace} is not above preStop {seconds} s + MAILER_LEASE_SECONDS {lease}")

        # Topology spread.
        keys = {c.get("topologyKey") for c in spec.get("topologySpreadConstraints") or [] if selector_matches(c.get("labelSelector"), labels) and c.get("labelSelector")}
        for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone"):
            if key not in keys:
                problem(where, f"{dname}: no topology spread over {key} selecting its pods")

        # Service.
        service = services.get(name)
        if not service:
            problem(where, f"no Service {name}")
        else:
            selector = service["spec"].get("selector") or {}
            selected = [w for w in workloads if selector and all(pod_labels(w).get(k) == v for k, v in selector.items())]
            if [w["metadata"]["name"] for w in selected] != [name] or selected[0]["kind"] != "Deployment":
                problem(where, f"Service/{name} selects {[w['kind'] + '/' + w['metadata']['name'] for w in selected]}, expected Deployment/{name} alone")
            service_port = service["spec"]["ports"][0]
            if resolve_port(service_port.get("targetPort", service_port["port"]), ports) != port:
                problem(where, f"Service/{name}: targetPort {service_port.get('targetPort')} is not the container's port {port}")
            if name != EDGE and service_port["port"] != SERVICES[name]:
                problem(where, f"Service/{name}: port {service_port['port']}, expected {SERVICES[name]} (the port every client names)")
            service_ports[name] = {"port": service_port["port"]}

        # PodDisruptionBudget.
        matching = [p for p in pdbs if selector_matches(p["spec"].get("selector") or {"x": "never"}, labels)]
        if len(matching) != 1:
            problem(where, f"{dname}: {len(matching)} PodDisruptionBudgets select its pods, expected one")
        elif matching[0]["spec"].get("selector") != deployment["spec"]["selector"]:
            problem(where, f"PodDisruptionBudget/{matching[0]['metadata']['name']}: selector differs from Deployment/{name}'s")

        # HorizontalPodAutoscaler.
        hpa = hpas.get(name)
        if not hpa:
            problem(where, f"no HorizontalPodAutoscaler {name}")
        else:
            hname = f"HorizontalPodAutoscaler/{name}"
            if hpa["apiVersion"] != "autoscaling/v2":
                problem(where, f"{hname}: {hpa['apiVersion']}, expected autoscaling/v2")
            target = hpa["spec"]["scaleTargetRef"]
            if (target.get("kind"), target.get("name")) != ("Deployment", name):
                problem(where, f"{hname}: scales {target.get('kind')}/{target.get('name')}, expected Deployment/{name}")
            minimum, maximum = hpa["spec"].get("minReplicas", 1), hpa["spec"]["maxReplicas"]
            if not 1 <= minimum <= maximum:
                problem(where, f"{hname}: minReplicas {minimum}, maxReplicas {maximum}")
            if "replicas" in deployment["spec"]:
                problem(where, f"{dname}: sets replicas, which its autoscaler owns (every apply would reset them)")
            metrics = hpa["spec"].get("metrics") or []
            cpu = [m for m in metrics if m["type"] == "Resource" and m["resource"]["name"] == "cpu"]
            if name in APIS and not cpu:
                problem(where, f"{hname}: the APIs and the edge scale on CPU")
            if cpu and "cpu" not in (container.get("resources") or {}).get("requests", {}):
                problem(where, f"{hname}: CPU utilization needs a CPU request on {name}")
            for metric in metrics:
                if metric["type"] in ("External", "Pods", "Object"):
                    metric_name = metric[metric["type"].lower()]["metric"]["name"]
                    if metric_name not in facts["mailer_metrics"]:
                        problem(where, f"{hname}: metric {metric_name} is not one the mailer exports ({', '.join(sorted(facts['mailer_metrics']))})")
            external = {m["external"]["metric"]["name"] for m in metrics if m["type"] == "External"}
            if overlay == "production":
                wanted = {"mailer": {"mailer_oldest_pending_age_seconds", "mailer_queue_depth"}, "smtp-mock": {"mailer_stream_lag"}}.get(name, set())
                if not wanted <= external:
                    problem(where, f"{hname}: production scales {name} on {sorted(wanted)} (External), found {sorted(external)}")
            # One eviction must be possible at minReplicas.
            if len(matching) == 1:
                budget = matching[0]["spec"]
                if "minAvailable" in budget:
                    value = budget["minAvailable"]
                    floor = math.ceil(minimum * int(str(value)[:-1]) / 100) if str(value).endswith("%") else int(value)
                    if floor >= minimum:
                        problem(where, f"PodDisruptionBudget/{matching[0]['metadata']['name']}: minAvailable {value} blocks every eviction at minReplicas {minimum}")
                elif str(budget.get("maxUnavailable", "0")) in ("0", "0%"):
                    problem(where, f"PodDisruptionBudget/{matching[0]['metadata']['name']}: maxUnavailable 0 blocks every eviction")

        if name == EDGE:
            continue
        # Image and command: the Dockerfile's entrypoints.
        if container.get("command") != [facts["app_dir"] + name] or container.get("args"):
            problem(where, f"{dname}: command {container.get('command')} {container.get('args') or ''}, expected [{facts['app_dir']}{name}] (deploy/compose/Dockerfile)")
        if name not in facts["binaries"]:
            problem(where, f"{dname}: the Dockerfile builds no {name} binary")
        if (spec.get("securityContext") or {}).get("runAsUser") != facts["uid"]:
            problem(where, f"{dname}: runAsUser is not the image's user {facts['uid']} (deploy/compose/Dockerfile)")
        if plain_value(env, "HTTP_PORT") != str(SERVICES[name]):
            problem(where, f"{dname}: HTTP_PORT {plain_value(env, 'HTTP_PORT')!r}, expected {SERVICES[name]} (its containerPort, probes and Service)")
        if plain_value(env, "HTTP_HOST") != "0.0.0.0":
            problem(where, f"{dname}: HTTP_HOST must be 0.0.0.0 (the pod's address)")

    # The Job's image, command and environment.
    for job in migrate_jobs:
        spec = pod_spec(job)
        container = spec["containers"][0]
        images["migrate"] = container.get("image", "")
        envs["migrate"] = container_env(container, configmaps, f"Job/{job['metadata']['name']}")
        if (spec.get("securityContext") or {}).get("runAsUser") != facts["uid"]:
            problem(where, f"Job/{job['metadata']['name']}: runAsUser is not the image's user {facts['uid']}")
        if spec.get("restartPolicy") not in ("Never", "OnFailure"):
            problem(where, f"Job/{job['metadata']['name']}: restartPolicy {spec.get('restartPolicy')}")

    ours = [n for n in list(SERVICES) + ["migrate"] if n in images]
    if len({images[n] for n in ours}) > 1:
        problem(where, "the services and the migration Job must run one image (one image, four entrypoints): " + ", ".join(f"{n}={images[n]}" for n in ours))
    if ours:
        image = images[ours[0]]
        if overlay == "production" and ("@sha256:" not in image and (":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest"))):
            problem(where, f"production runs {image}: pin a release tag or digest")
    if EDGE in images and images[EDGE] != facts["edge_image"]:
        problem(where, f"Deployment/edge runs {images[EDGE]}, compose's edge runs {facts['edge_image']}")

    # Environment.
    for name, env in envs.items():
        service = "users-api" if name == "migrate" else name
        for variable, (kind, value) in sorted(env.items()):
            if variable not in documented:
                problem(where, f"{name}: {variable} is not a documented variable (README configuration table)")
            elif "all" not in documented[variable] and service not in documented[variable]:
                problem(where, f"{name}: {variable} is documented for {', '.join(sorted(documented[variable]))}, not {service}")
            if variable in SECRET_VARIABLES and kind != "secret":
                problem(where, f"{name}: {variable} must come from a Secret (secretKeyRef), not a {kind}")
            if kind == "secret" and value[0] == "registrar-internal-api" and name not in ("users-api", "auth-api"):
                problem(where, f"{name}: reads the internal API token; only users-api and auth-api may")
        if name in ("users-api", "auth-api") and "INTERNAL_API_TOKEN" not in env:
            problem(where, f"{name}: no INTERNAL_API_TOKEN")
        if name in POSTGRES_USERS and "DATABASE_URL" not in env:
            problem(where, f"{name}: no DATABASE_URL")
        if name in REDIS_USERS and "REDIS_URL" not in env:
            problem(where, f"{name}: no REDIS_URL")
        if name not in POSTGRES_USERS and "DATABASE_URL" in env:
            problem(where, f"{name}: has DATABASE_URL, but only {', '.join(POSTGRES_USERS)} use Postgres")
        if overlay == "production" and name in REDIS_USERS:
            for variable in ("REDIS_SENTINELS", "REDIS_SENTINEL_MASTER"):
                if not plain_value(env, variable):
                    problem(where, f"{name}: production sets {variable} (Redis through Sentinel)")
    for variable, sharing, default in (("MAIL_STREAM", ("mailer", "smtp-mock"), "registrar:mail"), ("CODE_TTL_SECONDS", ("users-api", "mailer"), "60")):
        values = {n: plain_value(envs.get(n, {}), variable, default) for n in sharing}
        if len(set(values.values())) > 1:
            problem(where, f"{variable} differs: {values}")
    if "auth-api" in envs and "users-api" in service_ports:
        url = plain_value(envs["auth-api"], "USERS_API_URL")
        expected = f"http://users-api:{service_ports['users-api']['port']}"
        if url != expected:
            problem(where, f"auth-api: USERS_API_URL {url!r}, expected {expected} (users-api's Service)")

    # Postgres over TLS in production: the CA from a Secret wherever DATABASE_URL is used.
    if overlay == "production":
        for obj in workloads:
            spec = pod_spec(obj)
            secret_volumes = {v["name"] for v in spec.get("volumes") or [] if "secret" in v}
            for container in spec.get("containers", []):
                env = container_env(container, configmaps, obj["metadata"]["name"])
                if "DATABASE_URL" in env:
                    mounts = [m for m in container.get("volumeMounts") or [] if m["mountPath"] == POSTGRES_CA_MOUNT]
                    if not mounts or mounts[0]["name"] not in secret_volumes or not mounts[0].get("readOnly"):
                        problem(where, f"{obj['kind']}/{obj['metadata']['name']}: production mounts the Postgres CA read-only from a Secret at {POSTGRES_CA_MOUNT} (sslmode=verify-full)")

    # Postgres connections at the autoscalers' maxima plus rolling-update surge.
    max_connections = 100
    postgres = [o for o in workloads if pod_labels(o).get(NAME_LABEL) == "postgres"]
    for obj in postgres:
        arguments = " ".join(pod_spec(obj)["containers"][0].get("args", []))
        match = re.search(r"max_connections=(\d+)", arguments)
        max_connections = int(match.group(1)) if match else max_connections
    total, parts = 0, []
    for obj in workloads:
        for container in pod_spec(obj).get("containers", []):
            env = container_env(container, configmaps, obj["metadata"]["name"])
            if "DATABASE_URL" not in env:
                continue
            pool = int(plain_value(env, "DATABASE_POOL_SIZE", 10))
            if obj["kind"] == "Deployment":
                hpa = hpas.get(obj["metadata"]["name"])
                replicas = hpa["spec"]["maxReplicas"] if hpa else obj["spec"].get("replicas", 1)
                surge = str(((obj["spec"].get("strategy") or {}).get("rollingUpdate") or {}).get("maxSurge", "25%"))
                replicas += math.ceil(replicas * int(surge[:-1]) / 100) if surge.endswith("%") else int(surge)
            else:
                replicas = obj["spec"].get("parallelism", 1)
            total += replicas * pool
            parts.append(f"{obj['metadata']['name']} {replicas}x{pool}")
    budget = max_connections - 3 - 10
    if total > budget:
        problem(where, f"Postgres connections at full scale: {' + '.join(parts)} = {total} > max_connections {max_connections} - 3 reserved - 10 for people = {budget}")

    # The edge's configuration: the ConfigMap nginx -c loads.
    edge = deployments.get(EDGE)
    if edge:
        container = pod_spec(edge)["containers"][0]
        command = container.get("command", []) + container.get("args", [])
        config_path = command[command.index("-c") + 1] if "-c" in command else "/etc/nginx/nginx.conf"
        text = None
        for mount in container.get("volumeMounts") or []:
            if config_path.startswith(mount["mountPath"].rstrip("/") + "/"):
                volume = next((v for v in pod_spec(edge).get("volumes", []) if v["name"] == mount["name"]), {})
                configmap = configmaps.get((volume.get("configMap") or {}).get("name"))
                key = mount.get("subPath") or config_path[len(mount["mountPath"].rstrip("/")) + 1 :]
                text = ((configmap or {}).get("data") or {}).get(key)
        if text is None:
            problem(where, f"Deployment/edge: nginx loads {config_path}, which no mounted ConfigMap provides")
        else:
            check_edge_config(text, service_ports, resolve_port("http", container.get("ports") or []), where)
            if facts["edge_config"] is not None and text != facts["edge_config"]:
                problem(where, f"the edge's ConfigMap differs from {facts['edge_source']}")
            limits = (container.get("resources") or {}).get("limits", {})
            zones = nginx_zone_mib(text)
            if "memory" in limits and memory_mib(limits["memory"]) < zones + facts["bench"].get(EDGE, (0, 0))[1] + 16:
                problem(where, f"Deployment/edge: memory limit {limits['memory']} does not hold nginx's {zones:.0f} MiB of shared zones plus its connections")

    # Network flows.
    if overlay == "base":
        return
    flows, half_open, namespace_pods = compute_flows(objects, where)
    expected = expected_flows(overlay, namespace_pods)
    # The relay may be anywhere outside the cluster: every address block the probe tries counts.
    expected |= {f for f in flows if f[0] == "mailer" and f[2] in SMTP_RELAY_PORTS and "/" in f[1]}
    for flow in sorted(flows - expected):
        problem(where, f"NetworkPolicies allow {flow[0]} -> {flow[1]}:{flow[2]}, which the architecture does not have")
    for flow in sorted(expected - flows):
        problem(where, f"NetworkPolicies block {flow[0]} -> {flow[1]}:{flow[2]}, which the architecture needs")
    for message in half_open:
        problem(where, f"NetworkPolicies: {message}")


# ---------------------------------------------------------------------------------------------


def check_readme():
    text = readme_text()
    match = re.search(r"^## Kubernetes\n(.*?)(?=^## )", text, re.M | re.S)
    if not match:
        problem("README", 'no "## Kubernetes" section')
        return
    for needle in ("overlays/local", "overlays/production", "scripts/check-kubernetes.py", "HorizontalPodAutoscaler", POSTGRES_CA_MOUNT):
        if needle not in match.group(1):
            problem("README", f'the "Kubernetes" section does not mention {needle}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default=os.path.join(ROOT, "deploy", "kubernetes"), help="the manifests (default deploy/kubernetes)")
    parser.add_argument("--print-edge-config", action="store_true", help="print the edge's nginx.conf for base/edge/nginx.conf and exit")
    options = parser.parse_args()
    directory = os.path.abspath(options.dir)

    edge_config, edge_source = expected_edge_config()
    if options.print_edge_config:
        if edge_config is None:
            print("\n".join(problems), file=sys.stderr)
            return 1
        sys.stdout.write(edge_config)
        return 0

    facts = dict(dockerfile_facts())
    facts.update(
        documented=documented_variables(),
        bench=bench_memory(),
        mailer_metrics=mailer_metric_names(),
        edge_image=compose_edge_image(),
        edge_config=edge_config,
        edge_source=edge_source,
    )
    committed = os.path.join(directory, "base", "edge", "nginx.conf")
    if edge_config is not None and (not os.path.exists(committed) or open(committed).read() != edge_config):
        problem(
            "edge",
            f"{os.path.relpath(committed, ROOT)} is stale ({edge_source}): python3 scripts/check-kubernetes.py --print-edge-config > {os.path.relpath(committed, ROOT)}",
        )

    validator = kubernetes_validate_module()
    have_kubectl = shutil.which("kubectl") is not None
    if not have_kubectl:
        print("kubernetes: warning: kubectl is missing: checking the plain files (base's resources and generators, the overlays' own files); overlays are not rendered", file=sys.stderr)
    renders = 0
    for overlay in OVERLAYS:
        path = os.path.join(directory, overlay)
        name = os.path.basename(overlay)
        if kustomization(path) is None:
            problem(name, f"no kustomization.yaml in {os.path.relpath(path, ROOT)}")
            continue
        # Every plain manifest on its own, as written.
        for file in plain_resource_files(path):
            objects = load_yaml_documents(file)
            if validator:
                validate_strictly(validator, objects, os.path.relpath(file, directory))
        if have_kubectl:
            objects = render_with_kubectl(path)
        elif overlay == "base":
            objects = render_plain(path)
        else:
            continue
        if objects is None:
            continue
        renders += 1
        if validator:
            validate_strictly(validator, objects, name)
        check_render(name, objects, facts)
    check_readme()

    for line in problems:
        print(line, file=sys.stderr)
    how = "kubectl kustomize" if have_kubectl else "plain files, no kubectl"
    print(f"kubernetes: {renders} renders ({how}) checked, {validated} objects validated strictly against Kubernetes {KUBERNETES_VERSION}, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
