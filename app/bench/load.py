"""Load figure of the public demo: N concurrent API sessions, each swapping into T templates.

`python -m app.bench.load [--sessions 60] [--templates 2] [--workers 1 2] [--json]` starts a fresh
`python app.py serve` per consumer-worker count (embedded default: SQLite, the SQLite Huey queue,
the classic engine, public-demo mode), waits for the seeded shared gallery, then lets every
session call `/swap` at once through its own gradio_client (its own Gradio session) and records
the wall time and each session's latency. Every session must get all its results back, and every
result file is downloaded whole.

`--cluster` runs the same sessions against one web process and N `python app.py worker` processes
(app/bench/cluster.py), each with its own data dir, sharing a fresh PostgreSQL database
(`--postgres`, the admin URL), Redis (`--redis`) and a throwaway SeaweedFS bucket.
This is a benchmark, not a test: it takes minutes and its figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.errors import one_line

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 180.0
SEED_TIMEOUT_S = 300.0
CLIENT_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class LoadRun:
    mode: str  # "embedded" (one serve process) or "cluster" (PostgreSQL + Redis + S3, worker processes)
    workers: int
    sessions: int
    templates: int
    wall_s: float
    p50_s: float
    p95_s: float
    max_s: float
    succeeded: int
    failures: list[str] = field(default_factory=list)

    @property
    def all_succeeded(self) -> bool:
        return self.succeeded == self.sessions


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = share * (len(ordered) - 1)
    low, high = int(rank), min(int(rank) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _sample_photos(folder: Path) -> tuple[Path, Path]:
    """Tom Hanks (insightface) as the husband, the astronaut (scikit-image) as the wife."""
    from pipeline.intake import encode_png
    from pipeline.samples import astronaut_rgb, sample_paths

    wife = folder / "astronaut.png"
    wife.write_bytes(encode_png(astronaut_rgb()))
    return sample_paths().tom_hanks, wife


def _couple_of(number: int, husband: Path, wife: Path, folder: Path) -> tuple[Path, Path]:
    """Session `number`'s own photos: the samples with one corner pixel changed, so each couple uploads
    distinct files, as real couples do (Gradio keeps byte-identical uploads at one path, and the
    first event that reads it removes it)."""
    from pipeline.intake import encode_png, read_image_file

    paths = []
    for role, source in (("husband", husband), ("wife", wife)):
        pixels = read_image_file(source).array.copy()
        pixels[0, 0] = (number % 256, number // 256 % 256, 7)
        target = folder / f"{role}-{number:03d}.png"
        target.write_bytes(encode_png(pixels))
        paths.append(target)
    return paths[0], paths[1]


class _Server:
    """`python app.py serve` on a free port, public mode, a fresh data dir; stopped on exit."""

    @classmethod
    def attached(cls, url: str, process: subprocess.Popen[bytes]) -> _Server:
        """A server someone else started and stops (the cluster's web process)."""
        server = cls.__new__(cls)
        server.url, server.process = url, process
        return server

    def __init__(self, data_dir: Path, workers: int, log_path: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(
            FACESWAP_DATA_DIR=str(data_dir),
            FACESWAP_ENGINE="classic",
            FACESWAP_PUBLIC_DEMO="true",
            FACESWAP_EMBEDDED_WORKERS=str(workers),
            GRADIO_TEMP_DIR=str(data_dir.parent / "gradio-cache"),
            GRADIO_ANALYTICS_ENABLED="False",
            COSWAP_LOG_LEVEL="WARNING",
        )
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def __enter__(self) -> _Server:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()

    def wait_for_templates(self, count: int) -> list[int]:
        """Ids of `count` preprocessed shared templates, once seeding has made them."""
        import httpx
        from gradio_client import Client

        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                if httpx.get(self.url, timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer in time")
            time.sleep(0.2)
        client = Client(self.url, verbose=False)
        deadline = time.monotonic() + SEED_TIMEOUT_S
        while time.monotonic() < deadline:
            ready = [t["id"] for t in client.predict(api_name="/templates") if t["status"] == "completed"]
            if len(ready) >= count:
                return ready[:count]
            time.sleep(0.5)
        raise RuntimeError(f"fewer than {count} seeded templates after {SEED_TIMEOUT_S:.0f}s")


def run_load(sessions: int, template_count: int, workers: int, workdir: Path) -> LoadRun:
    with _Server(workdir / f"data-w{workers}", workers, workdir / f"server-w{workers}.log") as server:
        ids = server.wait_for_templates(template_count)
        return drive(server.url, ids, sessions, workers, workdir, mode="embedded")


def run_cluster_load(
    sessions: int, template_count: int, workers: int, workdir: Path, *, postgres_admin: str, redis_url: str, s3: Any
) -> LoadRun:
    """The same sessions against 1 web and `workers` worker processes sharing PostgreSQL, Redis and S3."""
    import uuid

    from app.bench.cluster import Cluster

    name = f"coswap_load_{uuid.uuid4().hex[:8]}"
    database = _create_database(postgres_admin, name)
    shared = {
        **s3.environment("coswap-load", name),
        "DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "FACESWAP_QUEUE_NAME": name,
        "FACESWAP_ENGINE": "classic",
        "FACESWAP_PUBLIC_DEMO": "true",
    }
    env = {**os.environ, **shared}
    subprocess.run([sys.executable, str(ROOT / "app.py"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    try:
        with Cluster(workdir / f"cluster-w{workers}", shared, webs=1, workers=workers) as cluster:
            server = _Server.attached(str(cluster.web_members[0].url), cluster.web_members[0].process)
            ids = server.wait_for_templates(template_count)
            return drive(server.url, ids, sessions, workers, workdir, mode="cluster")
    finally:
        _drop_database(postgres_admin, name)


def _create_database(admin_url: str, name: str) -> str:
    from sqlalchemy import create_engine, text

    from app.config import normalize_database_url

    admin = create_engine(normalize_database_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{admin_url.rsplit('/', 1)[0]}/{name}"


def _drop_database(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    from app.config import normalize_database_url

    admin = create_engine(normalize_database_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def drive(url: str, ids: list[int], sessions: int, workers: int, workdir: Path, *, mode: str) -> LoadRun:
    """Every session calls /swap at once; each must get all its results, each file downloaded whole."""
    from gradio_client import Client, handle_file

    template_count = len(ids)
    husband, wife = _sample_photos(workdir)
    couples = [_couple_of(number, husband, wife, workdir) for number in range(sessions)]
    # httpx's 5 s default would time out uploads and queue joins of a saturated 2-core server
    clients = [Client(url, verbose=False, httpx_kwargs={"timeout": CLIENT_TIMEOUT_S}) for _ in range(sessions)]
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(sessions + 1)

    def one(client: Client, couple: tuple[Path, Path]) -> None:
        start.wait()
        began = time.perf_counter()
        try:
            gallery = client.predict(
                handle_file(str(couple[0])),
                handle_file(str(couple[1])),
                ",".join(map(str, ids)),
                "",
                True,
                api_name="/swap",
            )
            outcome = None if len(gallery) == template_count else f"{len(gallery)} of {template_count} results"
            if outcome is None and not all(Path(item["image"]).stat().st_size > 1000 for item in gallery):
                outcome = "a result file came back empty"
        except Exception as exc:  # noqa: BLE001  (a failed session is a figure, not a crash)
            outcome = f"{type(exc).__name__}: {one_line(exc)}"
        elapsed = time.perf_counter() - began
        with lock:
            if outcome is None:
                latencies.append(elapsed)
            else:
                failures.append(outcome)

    threads = [threading.Thread(target=one, args=(client, couple), daemon=True) for client, couple in zip(clients, couples)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    return LoadRun(
        mode=mode,
        workers=workers,
        sessions=sessions,
        templates=template_count,
        wall_s=round(wall, 2),
        p50_s=round(statistics.median(latencies), 2) if latencies else 0.0,
        p95_s=round(_percentile(latencies, 0.95), 2),
        max_s=round(max(latencies, default=0.0), 2),
        succeeded=len(latencies),
        failures=failures[:5],
    )


def markdown(runs: list[LoadRun]) -> str:
    lines = [
        "| setup | consumer workers | sessions × templates | wall (s) | swaps/s | p50 (s) | p95 (s) | max (s) | succeeded |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        setup = "embedded (SQLite, data dir)" if run.mode == "embedded" else "PostgreSQL + Redis + S3"
        rate = run.sessions * run.templates / run.wall_s if run.wall_s else 0.0
        lines.append(
            f"| {setup} | {run.workers} | {run.sessions} × {run.templates} | {run.wall_s:.1f} | {rate:.2f} | {run.p50_s:.1f} | "
            f"{run.p95_s:.1f} | {run.max_s:.1f} | {run.succeeded}/{run.sessions} |"
        )
    if len(runs) >= 2 and runs[-1].wall_s:
        lines.append("")
        lines.append(f"Wall-time ratio {runs[0].workers} → {runs[-1].workers} workers: {runs[0].wall_s / runs[-1].wall_s:.2f}x.")
    return "\n".join(lines)


def _reported(run: LoadRun) -> LoadRun:
    """Each run's row on stderr as soon as it is done: a later run that crashes loses none of them."""
    sys.stderr.write(f"{run.mode}, {run.workers} worker(s): {json.dumps(asdict(run))}\n")
    sys.stderr.flush()
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=60)
    parser.add_argument("--templates", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    parser.add_argument("--embedded", action="store_true", help="with --cluster: also run the embedded default once")
    parser.add_argument("--cluster", action="store_true", help="worker processes sharing PostgreSQL, Redis and S3")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres", help="admin URL")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--workdir", type=Path, help="keep the data dirs and server logs here (default: a temporary dir)")
    args = parser.parse_args(argv)
    runs: list[LoadRun] = []
    with tempfile.TemporaryDirectory(prefix="coswap-load-") as scratch:
        folder = str(args.workdir or scratch)
        Path(folder).mkdir(parents=True, exist_ok=True)
        if not args.cluster or args.embedded:
            for workers in args.workers if not args.cluster else [1]:
                runs.append(_reported(run_load(args.sessions, args.templates, workers, Path(folder))))
        if args.cluster:
            from app.bench.seaweed import SeaweedS3

            with SeaweedS3(Path(folder) / "seaweedfs") as s3:
                for workers in args.workers:
                    runs.append(_reported(run_cluster_load(
                        args.sessions, args.templates, workers, Path(folder),
                        postgres_admin=args.postgres, redis_url=args.redis, s3=s3,
                    )))
    if args.json:
        json.dump({"runs": [asdict(run) for run in runs], "cpus": os.cpu_count()}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(markdown(runs) + "\n")
    return 0 if all(run.all_succeeded for run in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
