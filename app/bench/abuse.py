"""Abuse figures of the public demo: one hostile address against a fresh public-mode server.

`python -m app.bench.abuse [--json] [--flood N]` starts `python app.py serve` (public mode, the
classic engine, a fresh data dir) and measures:
- **bytes one address can store in an hour**, the larger of two floods, each from its own address
  (the bench is a trusted proxy and sets X-Forwarded-For): couple photos (noisy 12-megapixel JPEGs)
  stored through /upload_husband, each call as a new visitor, until a per-address limit refuses; raw
  uploads to /gradio_api/upload that no action uses, until the route's per-address byte budget refuses
  (both loops bounded by `--flood`);
- **peak memory under hostile uploads**: the server's RSS sampled every 10 ms while 8 clients at once
  upload a 40-megapixel RGBA PNG of 170 KB (the costliest image the caps let through), above its idle RSS;
- **attacks refused**: a list of known attacks, each refused with one line or a 4xx status.
This is a benchmark, not a test: it takes a few minutes and its figures depend on the machine.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from app.bench.load import _sample_photos, _Server
from app.errors import one_line

HOSTILE_CLIENTS = 8
SAMPLE_SECONDS = 0.01
DEFAULT_FLOOD = 400  # upper bound of each flood loop
RAW_UPLOAD_BYTES = 10_000_000
PROXY = "127.0.0.1/32"  # the bench is the trusted proxy, so each flood can come from its own address
PHOTO_ADDRESS, RAW_ADDRESS = "203.0.113.7", "203.0.113.8"  # documentation addresses (RFC 5737)


@dataclass
class AbuseReport:
    raw_upload_bytes_per_hour: int = 0  # accepted by /gradio_api/upload from one address
    stored_photo_bytes_per_hour: int = 0  # couple photos stored for one address (data dir)
    stored_photos: int = 0
    idle_rss_mb: float = 0.0
    peak_rss_above_idle_mb: float = 0.0
    hostile_uploads: int = HOSTILE_CLIENTS
    hostile_seconds: float = 0.0
    attacks: dict[str, str] = field(default_factory=dict)  # name → how it was answered

    @property
    def refused(self) -> int:
        return sum(1 for answer in self.attacks.values() if answer.startswith("refused"))

    @property
    def bytes_one_address_per_hour(self) -> int:
        return max(self.raw_upload_bytes_per_hour, self.stored_photo_bytes_per_hour)

    def lines(self) -> list[str]:
        return [
            f"bytes one address can store in an hour: {self.bytes_one_address_per_hour / 1e6:.0f} MB "
            f"({self.stored_photo_bytes_per_hour / 1e6:.1f} MB in {self.stored_photos} stored photos, deleted at the "
            f"TTL; or {self.raw_upload_bytes_per_hour / 1e6:.0f} MB of raw uploads no action uses, swept after 15 min)",
            f"peak memory under {self.hostile_uploads} concurrent hostile uploads: "
            f"+{self.peak_rss_above_idle_mb:.0f} MB above idle ({self.idle_rss_mb:.0f} MB), {self.hostile_seconds:.1f} s",
            f"attacks refused: {self.refused} of {len(self.attacks)}",
            *(f"  {name}: {answer}" for name, answer in self.attacks.items()),
        ]

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "refused": self.refused, "bytes_one_address_per_hour": self.bytes_one_address_per_hour}


# ---------------------------------------------------------------- hostile files


def rgba_png(width: int = 6400, height: int = 6250) -> bytes:
    """A flat half-transparent RGBA PNG: 40 MP, about 170 KB; its decode is the costliest the caps allow."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), (10, 200, 30, 128)).save(buffer, "PNG")
    return buffer.getvalue()


def strip_png(width: int, height: int) -> bytes:
    """A grey PNG of width x height built row by row (the 1 x 39,000,000 strip is 150 KB)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    packer = zlib.compressobj(9)
    row = b"\x00" + b"\x80" * width
    rows = b"".join(packer.compress(row * 10_000) for _ in range(height // 10_000))
    rows += packer.compress(row * (height % 10_000)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def large_photo(source: Path, target: Path) -> Path:
    """A 12-megapixel JPEG of a real face with sensor-like noise, quality 95 (about 10 MB: the most
    bytes an ordinary phone photo brings)."""
    import numpy as np
    from PIL import Image

    with Image.open(source) as image:
        pixels = np.asarray(image.convert("RGB").resize((4000, 3000)), dtype=np.int16)
    noise = np.random.default_rng(18).normal(0, 14, pixels.shape).astype(np.int16)
    Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8)).save(target, quality=95)
    return target


# ---------------------------------------------------------------- measurements


def _rss(pid: int) -> int:
    import psutil

    return int(psutil.Process(pid).memory_info().rss)


def hostile_peak(server: _Server, folder: Path) -> tuple[float, float, float]:
    """(idle RSS MB, peak RSS above idle MB, seconds) while HOSTILE_CLIENTS upload rgba_png at once."""
    from gradio_client import Client, handle_file

    path = folder / "rgba-40mp.png"
    path.write_bytes(rgba_png())
    clients = [Client(server.url, verbose=False, download_files=False) for _ in range(HOSTILE_CLIENTS)]
    time.sleep(2.0)
    idle = _rss(server.process.pid)
    peak = [idle]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss(server.process.pid))
            time.sleep(SAMPLE_SECONDS)

    def upload(client: Client) -> None:
        try:
            client.predict(handle_file(str(path)), api_name="/upload_husband")
        except Exception:  # noqa: BLE001  (refused or not: only the memory counts here)
            pass

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(HOSTILE_CLIENTS) as pool:
        list(pool.map(upload, clients))
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return idle / 2**20, (peak[0] - idle) / 2**20, seconds


def raw_upload_flood(server: _Server, limit: int) -> int:
    """Bytes /gradio_api/upload accepts from this address before it refuses (at most `limit` calls)."""
    import httpx

    payload = b"\0" * RAW_UPLOAD_BYTES
    accepted = 0
    for _ in range(limit):
        answer = httpx.post(
            f"{server.url}gradio_api/upload", files={"files": ("x.bin", payload)},
            headers={"X-Forwarded-For": RAW_ADDRESS}, timeout=60,
        )
        if answer.status_code != 200:
            break
        accepted += len(payload)
    return accepted


def stored_photo_flood(server: _Server, data_dir: Path, photo: Path, limit: int) -> tuple[int, int]:
    """(bytes stored in the data dir, photos stored) from /upload_husband calls, each a new visitor."""
    from gradio_client import Client, handle_file

    before = _tree_bytes(data_dir / "images")
    stored = 0
    for _ in range(limit):
        client = Client(server.url, verbose=False, download_files=False, headers={"X-Forwarded-For": PHOTO_ADDRESS})
        try:
            shown = client.predict(handle_file(str(photo)), api_name="/upload_husband")
        except Exception:  # noqa: BLE001  (a refused upload ends the flood)
            break
        if not shown or shown[0] is None:  # refused: the status line says why
            break
        stored += 1
    return _tree_bytes(data_dir / "images") - before, stored


def _tree_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) if folder.exists() else 0


def attacks(server: _Server, folder: Path, husband: Path, wife: Path) -> dict[str, str]:
    """Each attack → "refused: <how>" or "accepted: <what happened>"."""
    import httpx
    from gradio_client import Client, handle_file

    url = server.url
    strip = folder / "strip.png"
    strip.write_bytes(strip_png(1, 39_000_000))
    bomb = folder / "bomb.png"
    bomb.write_bytes(strip_png(20_000, 20_000))

    def swap_with(husband_file: Path, mapping: str = "", ids: str = "1") -> Callable[[], object]:
        client = Client(url, verbose=False, download_files=False)
        return lambda: client.predict(handle_file(str(husband_file)), handle_file(str(wife)), ids, mapping, True,
                                      api_name="/swap")

    def call(name: str, data: list[object], event_data: object = None) -> Callable[[], object]:
        def run() -> object:
            body: dict[str, object] = {"data": data, "event_data": event_data}
            started = httpx.post(f"{url}gradio_api/call{name}", json=body, timeout=60)
            if started.status_code != 200:
                raise RuntimeError(f"HTTP {started.status_code}")
            event = started.json()["event_id"]
            text = httpx.get(f"{url}gradio_api/call{name}/{event}", timeout=60).text
            if "event: error" in text:
                raise RuntimeError(text.split("data: ", 1)[-1].strip()[:120])
            return text

        return run

    def http(method: str, route: str, **kwargs: object) -> Callable[[], object]:
        def run() -> object:
            answer = httpx.request(method, f"{url}{route}", timeout=60, **kwargs)  # type: ignore[arg-type]
            if answer.status_code >= 400:
                raise RuntimeError(f"HTTP {answer.status_code}: {answer.text.strip()[:100]}")
            return answer.status_code

        return run

    plan: dict[str, Callable[[], object]] = {
        "1 x 39,000,000 PNG": swap_with(strip),
        "20,000 x 20,000 PNG (decompression bomb)": swap_with(bomb),
        "100,000-deep mapping_json": swap_with(husband, "[" * 100_000 + "]" * 100_000),
        "5,000-deep mapping_json": swap_with(husband, "[" * 5_000 + "]" * 5_000),
        "5 MB batch_id": http("POST", "gradio_api/call/batch_status", json={"data": ["b" * 5_000_000, None]}),
        "20,000-character batch_id": call("/batch_status", ["b" * 20_000, None]),
        "/show_template without click data": call("/show_template", [None]),
        "/before_after without click data": call("/before_after", [None]),
        "/show_template, gallery index 10^9": call("/show_template", [None], {"index": 10**9, "value": None}),
        "/gradio_api/deep_link": http("GET", "gradio_api/deep_link", params={"session_hash": "x"}),
        "17 MB upload": http("POST", "gradio_api/upload", files={"files": ("big.bin", b"\0" * 17_000_000)}),
        "1 MB body to /gradio_api/queue/join": http("POST", "gradio_api/queue/join", content=b"{" + b" " * 1_000_000),
        "file route outside the cache": http("GET", "gradio_api/file=/etc/passwd"),
    }
    answers = {}
    for name, attack in plan.items():
        try:
            result = attack()
            answers[name] = f"accepted: {str(result)[:80]}"
        except Exception as exc:  # noqa: BLE001  (a refusal is the expected answer)
            answers[name] = f"refused: {one_line(exc)[:100]}"
    return answers


def run_abuse(workdir: Path, flood: int = DEFAULT_FLOOD) -> AbuseReport:
    data_dir = workdir / "data"
    report = AbuseReport()
    os.environ["FACESWAP_TRUSTED_PROXIES"] = PROXY  # read by the server _Server starts
    with _Server(data_dir, 1, workdir / "server.log") as server:
        server.wait_for_templates(1)
        husband, wife = _sample_photos(workdir)
        report.idle_rss_mb, report.peak_rss_above_idle_mb, report.hostile_seconds = hostile_peak(server, workdir)
        report.attacks = attacks(server, workdir, husband, wife)
        photo = large_photo(husband, workdir / "large-husband.jpg")
        report.stored_photo_bytes_per_hour, report.stored_photos = stored_photo_flood(server, data_dir, photo, flood)
        report.raw_upload_bytes_per_hour = raw_upload_flood(server, flood)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.bench.abuse", description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--flood", type=int, default=DEFAULT_FLOOD, metavar="N", help="most calls of each flood")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="coswap-abuse-") as folder:
        report = run_abuse(Path(folder), flood=max(1, args.flood))
    print(json.dumps(report.to_json(), indent=2) if args.json else "\n".join(report.lines()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
