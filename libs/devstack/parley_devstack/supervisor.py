"""Start every Parley service that exists, as child processes, and keep an eye on them.

- NATS: `NATS_URL` if set, else an embedded `nats-server` (JetStream, data under var/nats).
- Databases: SQLite files under var/data, unless `<SERVICE>_DATABASE_URL` is set (e.g. LEADS_DATABASE_URL).
- Each service is migrated and seeded with demo data (dev profile), then served; the gateway last.
- Ctrl-C stops everything cleanly; a service that dies brings the stack down and says why.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
from servicekit.nats_server import EmbeddedNats, free_port

from .secrets import DevSecrets, ensure_dev_secrets


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    package: str
    port: int


# Start order: dependencies of others first, the gateway (the front door) last.
SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("leads", "leads", 8101),
    ServiceSpec("catalog", "catalog", 8102),
    ServiceSpec("scheduler", "scheduler", 8103),
    ServiceSpec("voice-bridge", "voice_bridge", 8104),
    ServiceSpec("rag", "rag", 8105),
    ServiceSpec("prospectus", "prospectus", 8106),
    ServiceSpec("mailer", "mailer", 8107),
    ServiceSpec("gateway", "gateway", 8080),
)


def available_services() -> list[ServiceSpec]:
    """A service exists once its package has a `main` module (later issues add the rest)."""
    return [s for s in SERVICES if _has_main(s.package)]


def _has_main(package: str) -> bool:
    try:
        return importlib.util.find_spec(f"{package}.main") is not None
    except ModuleNotFoundError:  # the package itself is not installed
        return False


@dataclass
class Child:
    spec: ServiceSpec
    process: subprocess.Popen[bytes]
    log_path: Path
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))


class Supervisor:
    def __init__(self, root: Path, host: str = "127.0.0.1") -> None:
        self.root = root
        self.var = root / "var"
        self.host = host
        self.children: list[Child] = []
        self.nats: EmbeddedNats | None = None
        self._stopping = threading.Event()

    # -- environment -----------------------------------------------------------------------

    def base_env(self, nats_url: str, secrets: DevSecrets, services: list[ServiceSpec]) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("PARLEY_PROFILE", "dev")
        env.update(
            {
                "NATS_URL": nats_url,
                "BUS_NAMESPACE": env.get("BUS_NAMESPACE", "parley"),
                "JWT_PUBLIC_KEY_FILE": str(secrets.jwt_public_key_file),
                "AUTO_MIGRATE": "true",
                "LOG_JSON": env.get("LOG_JSON", "false"),
                "PYTHONUNBUFFERED": "1",
                "SERVICE_URLS": json.dumps(
                    {s.name: f"http://{self.host}:{s.port}" for s in services if s.name != "gateway"}
                ),
            }
        )
        return env

    def service_env(self, base: dict[str, str], spec: ServiceSpec, secrets: DevSecrets) -> dict[str, str]:
        env = dict(base)
        prefix = spec.name.upper().replace("-", "_")
        env["DATABASE_URL"] = os.environ.get(
            f"{prefix}_DATABASE_URL", f"sqlite+aiosqlite:///{self.var / 'data' / (spec.package + '.db')}"
        )
        env["DATA_DIR"] = str(self.var / "data" / spec.package)
        env["PORT"] = str(spec.port)
        env["HOST"] = self.host
        if spec.name == "gateway":
            env["JWT_PRIVATE_KEY_FILE"] = str(secrets.jwt_private_key_file)
            env["SETTINGS_ENCRYPTION_KEY_FILE"] = str(secrets.settings_key_file)
            env.setdefault("WEB_DIST_DIR", str(self.root / "web" / "dist"))
        if spec.name == "mailer":
            env.setdefault("UNSUBSCRIBE_SECRET_FILE", str(secrets.unsubscribe_secret_file))
        return env

    # -- lifecycle -------------------------------------------------------------------------

    def start_nats(self) -> str:
        if os.environ.get("NATS_URL"):
            return os.environ["NATS_URL"]
        port = int(os.environ.get("EMBEDDED_NATS_PORT", "14222"))
        try:
            self.nats = EmbeddedNats(
                self.var / "nats", port=port, log_file=self.var / "logs" / "nats.log"
            ).start()
        except (RuntimeError, TimeoutError):
            self.nats = EmbeddedNats(
                self.var / "nats", port=free_port(), log_file=self.var / "logs" / "nats.log"
            )
            self.nats.start()
        say(f"nats      embedded nats-server (JetStream) at {self.nats.url}")
        return self.nats.url

    def run(self) -> int:
        for sub in ("data", "logs", "nats"):
            (self.var / sub).mkdir(parents=True, exist_ok=True)
        secrets = ensure_dev_secrets(self.var / "secrets")
        services = available_services()
        if not services:
            say("no services are installed; run `make install`")
            return 1
        busy = [s for s in services if not port_free(self.host, s.port)]
        if busy:
            say(
                "these ports are taken (is Parley already running?): "
                + ", ".join(f"{s.name}:{s.port}" for s in busy)
            )
            return 1
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        try:
            nats_url = self.start_nats()
            base = self.base_env(nats_url, secrets, services)
            for spec in services:
                if self._stopping.is_set():
                    return 130
                failure = self.seed(spec, self.service_env(base, spec, secrets))
                if failure:
                    say(failure)
                    return 1
            for spec in services:
                self.spawn(spec, self.service_env(base, spec, secrets))
            if not self.wait_healthy(services):
                return 1
            self.banner(services)
            return self.watch()
        finally:
            self.shutdown()

    def seed(self, spec: ServiceSpec, env: dict[str, str]) -> str | None:
        say(f"{spec.name:<9} migrating and loading demo data")
        result = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", spec.package, "seed"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
            return f"{spec.name} failed to migrate/seed (exit {result.returncode}):\n{tail}"
        return None

    def spawn(self, spec: ServiceSpec, env: dict[str, str]) -> None:
        log_path = self.var / "logs" / f"{spec.name}.log"
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", spec.package, "serve", "--host", self.host, "--port", str(spec.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        child = Child(spec, process, log_path)
        self.children.append(child)
        assert process.stdout is not None
        threading.Thread(target=self._pump, args=(child, process.stdout), daemon=True).start()

    def _pump(self, child: Child, stream: IO[bytes]) -> None:
        with child.log_path.open("a", encoding="utf-8") as log:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip()
                log.write(line + "\n")
                log.flush()
                child.tail.append(line)
                if " WARNING " in line or " ERROR " in line or "Traceback" in line:
                    say(f"{child.spec.name:<9} {line}")

    def wait_healthy(self, services: list[ServiceSpec], timeout: float = 90) -> bool:
        deadline = time.monotonic() + timeout
        pending = {s.name: s for s in services}
        with httpx.Client(timeout=1) as client:
            while pending and time.monotonic() < deadline and not self._stopping.is_set():
                for name, spec in list(pending.items()):
                    child = next(c for c in self.children if c.spec.name == name)
                    if child.process.poll() is not None:
                        self.report_death(child)
                        return False
                    try:
                        if client.get(f"http://{self.host}:{spec.port}/healthz").status_code == 200:
                            say(f"{name:<9} ready on http://{self.host}:{spec.port}")
                            del pending[name]
                    except httpx.HTTPError:
                        pass
                time.sleep(0.2)
        if pending:
            say("did not become healthy in time: " + ", ".join(pending))
            return False
        return True

    def banner(self, services: list[ServiceSpec]) -> None:
        url = f"http://{self.host}:8080"
        lines = [
            "",
            f"  Parley is up: {url}",
            f"  API docs:      {url}/api/docs",
            "  Demo logins:   admin@example.com / admin-demo",
            "                 agent@example.com / agent-demo, agent2@example.com / agent2-demo",
            f"  Services:      {', '.join(s.name for s in services)}",
            f"  Logs:          {self.var / 'logs'}",
            "  Offline AI mode unless an OpenAI key is configured (admin settings or OPENAI_API_KEY).",
            "  Press Ctrl-C to stop.",
            "",
        ]
        print("\n".join(lines), flush=True)

    def watch(self) -> int:
        while not self._stopping.is_set():
            for child in self.children:
                if child.process.poll() is not None:
                    self.report_death(child)
                    return 1
            self._stopping.wait(0.5)
        return 0

    def report_death(self, child: Child) -> None:
        say(
            f"{child.spec.name} exited with code {child.process.returncode}; its last log lines "
            f"({child.log_path}):"
        )
        for line in list(child.tail)[-20:]:
            print(f"    {line}", flush=True)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if not self._stopping.is_set():
            say("stopping…")
        self._stopping.set()

    def shutdown(self) -> None:
        self._stopping.set()
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.terminate()
        deadline = time.monotonic() + 15
        for child in self.children:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{child.spec.name} did not stop in time; killing it")
                child.process.kill()
        if self.nats is not None:
            self.nats.stop()
        if self.children:
            say("all services stopped")


def port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def say(message: str) -> None:
    print(f"[parley] {message}", flush=True)
