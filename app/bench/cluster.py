"""A cluster on one machine that behaves like many: web and worker processes, each with its own empty
data dir, sharing only PostgreSQL, Redis and the S3 bucket (the cluster test and the load bench).

`Cluster(...).start()` runs `python app.py serve` W times (public mode, ports of their own) and
`python app.py worker` N times; `kill_worker` SIGKILLs one like a lost machine, `restart_worker`
starts its replacement (as an orchestrator would), on a fresh data dir again. The schema and the
shared gallery are the operator's job, done before (`db upgrade`, `templates add`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def process_env(shared: dict[str, str], data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of one cluster process: the shared services, its own data dir and Gradio cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FACESWAP_", "AWS_")) and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(shared)
    env.update(
        FACESWAP_DATA_DIR=str(data_dir),
        GRADIO_TEMP_DIR=str(data_dir.with_name(data_dir.name + "-gradio")),  # outside the data dir (blocked)
        GRADIO_ANALYTICS_ENABLED="False",
        COSWAP_LOG_LEVEL=env.get("COSWAP_LOG_LEVEL", "INFO"),
    )
    env.update(extra)
    return env


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process and every process of its group at once, like a lost machine."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


@dataclass
class Member:
    """One process of the cluster, in its own process group, with its own data dir and log."""

    name: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    url: str | None = None  # a web process's page
    health: str | None = None  # its GET /healthz

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        kill_group(self.process)

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.alive():
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                self.kill()
        return self.process.returncode


def spawn(
    name: str, args: list[str], env: dict[str, str], data_dir: Path, log_dir: Path, url: str | None = None,
    health: str | None = None,
) -> Member:
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), *args],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Member(name, data_dir, process, log_path, url, health or (f"{url}healthz" if url else None))


@dataclass
class Cluster:
    """`webs` web processes and `workers` worker processes under `root`, sharing `shared` (env)."""

    root: Path
    shared: dict[str, str]
    webs: int = 2
    workers: int = 3
    threads_per_worker: int = 1
    members: list[Member] = field(default_factory=list)
    _spawned: int = 0

    def start(self) -> Cluster:
        for number in range(self.workers):
            self._start_worker()
        for number in range(self.webs):
            port = free_port()
            data = self._fresh_dir(f"web-{number}")
            env = process_env(self.shared, data)
            self.members.append(spawn(
                f"web-{number}", ["serve", "--port", str(port)], env, data, self.root, url=f"http://127.0.0.1:{port}/"
            ))
        self.wait_ready()
        return self

    def _fresh_dir(self, name: str) -> Path:
        self._spawned += 1
        return self.root / f"{name}-{self._spawned}"

    def _start_worker(self) -> Member:
        name = f"worker-{sum(1 for m in self.members if m.url is None)}"
        data = self._fresh_dir(name)
        port = free_port()
        args = ["worker", "--workers", str(self.threads_per_worker), "--health-port", str(port)]
        member = spawn(name, args, process_env(self.shared, data), data, self.root,
                       health=f"http://127.0.0.1:{port}/healthz")
        self.members.append(member)
        return member

    @property
    def web_members(self) -> list[Member]:
        return [m for m in self.members if m.url is not None]

    @property
    def worker_members(self) -> list[Member]:
        return [m for m in self.members if m.url is None and m.alive()]

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """Every web answers its page and every live worker has warmed its engine."""
        import httpx

        deadline = time.monotonic() + timeout
        pending = [m for m in self.members if m.alive()]
        while pending:
            for member in list(pending):
                if not member.alive():
                    raise RuntimeError(f"{member.name} exited with {member.process.returncode}:\n{member.log()[-2000:]}")
                try:
                    ready = httpx.get(str(member.health), timeout=2.0).status_code == 200
                except httpx.HTTPError:
                    ready = False
                if member.url is None:
                    ready = ready and "ready: engine warmed" in member.log()
                if ready:
                    pending.remove(member)
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout:.0f}s: {[m.name for m in pending]}")
            time.sleep(0.2)

    def kill_worker(self, member: Member) -> None:
        member.kill()

    def restart_worker(self) -> Member:
        """A replacement worker on a fresh data dir (its start reconciles lost and leased tasks)."""
        member = self._start_worker()
        return member

    def stop(self) -> None:
        for member in self.members:
            if member.alive():
                try:
                    os.killpg(member.process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for member in self.members:
            try:
                member.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                member.kill()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
