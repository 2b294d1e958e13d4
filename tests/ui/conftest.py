"""UI fixtures: a context with the classic engine and templates, and one served app per run.

The served app is the real `python app.py serve` in a subprocess on 127.0.0.1 with a free port,
a temp data dir, a private Gradio cache dir and FACESWAP_ENGINE=classic.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.context import AppContext
from app.services import runs, templates
from app.services.runs import Submit
from tests.cli_helpers import ROOT
from pipeline.face import FaceEngine
from tests.conftest import make_settings, open_context
from tests.fixtures_data import SamplePhotos, write_sample_photos

ARTIFACTS = ROOT / "test-artifacts"
START_TIMEOUT = 90.0


@dataclass(frozen=True)
class ServedApp:
    url: str
    data_dir: Path
    cache_dir: Path
    template_ids: list[int]
    cold_start_seconds: float
    photos: SamplePhotos


@pytest.fixture
def ui_ctx(tmp_path: Path, classic: FaceEngine) -> Iterator[AppContext]:
    context = open_context(make_settings(tmp_path / "data"), classic)
    yield context
    context.dispose()


@pytest.fixture
def pair_template(ui_ctx: AppContext, photos: SamplePhotos) -> int:
    return templates.add_template_files(ui_ctx, [str(photos.pair)], name="Friends pair")[0].id


@pytest.fixture
def run_now(ui_ctx: AppContext) -> Submit:
    """A submitter that runs the batch before returning (deterministic handler tests)."""
    return lambda batch_id: runs.run_inline(ui_ctx, batch_id)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not answer within {START_TIMEOUT}s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def served_app(tmp_path_factory: pytest.TempPathFactory, classic: FaceEngine) -> Iterator[ServedApp]:
    """`python app.py serve` with two preprocessed templates (a 3-face pair and a faceless image)."""
    base = tmp_path_factory.mktemp("served")
    data_dir, cache_dir = base / "data", base / "gradio-cache"
    sample = write_sample_photos(base / "photos")
    context = open_context(make_settings(data_dir), classic)
    try:
        pair = templates.add_template_files(context, [str(sample.pair)], name="Friends pair")[0]
        blank = templates.add_template_files(context, [str(sample.landscape)], name="Empty room")[0]
    finally:
        context.dispose()
    overrides = {"FACESWAP_DATA_DIR": str(data_dir), "GRADIO_TEMP_DIR": str(cache_dir), "COSWAP_LOG_LEVEL": "WARNING"}
    with running_server(base, overrides, host="127.0.0.1") as server:
        yield ServedApp(server.url, data_dir, cache_dir, [pair.id, blank.id], server.cold_start_seconds, sample)


@dataclass(frozen=True)
class RunningServer:
    url: str
    log: Path
    cold_start_seconds: float

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running_server(base: Path, overrides: dict[str, str], *, host: str | None = None) -> Iterator[RunningServer]:
    """`python app.py serve` on a free port with the classic engine, embedded SQLite and queue, and
    `overrides` in its environment; its output goes to base/server.log; stopped on exit."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(FACESWAP_ENGINE="classic", GRADIO_ANALYTICS_ENABLED="False", **overrides)
    port, log = free_port(), base / "server.log"
    command = [sys.executable, str(ROOT / "app.py"), "serve", "--port", str(port)]
    if host:
        command += ["--host", host]
    started = time.perf_counter()
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, process, log)
        yield RunningServer(url, log, time.perf_counter() - started)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[object]:
    """Debian's Chromium through Playwright (never a downloaded browser)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def pick_first_template(page) -> None:  # type: ignore[no-untyped-def]
    """Open the first template of the shared gallery and use it, as a visitor does; returns once the
    pick reached the page (the button says so: the same answer set the picker), so that a Run clicked
    next sends it."""
    from app.ui.templates_tab import PICKED_LABEL

    page.get_by_role("tab", name="2 · Templates").click()
    page.locator("#template-gallery button.thumbnail-item").first.click()
    page.wait_for_selector("#template-detail img")
    page.get_by_role("button", name="Use this template").click()
    page.locator(f"#use-template:has-text('{PICKED_LABEL}')").wait_for()


def wait_for_seeded_gallery(data_dir: Path, timeout: float = START_TIMEOUT) -> None:
    """The server seeds its gallery in the background after its engine is warm; the marker file is
    written once every sample template is stored and preprocessed."""
    from app.services.seeding import MARKER_NAME

    deadline = time.monotonic() + timeout
    while not (data_dir / MARKER_NAME).exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the gallery was not seeded within {timeout}s")
        time.sleep(0.1)


def record_figure(name: str, value: object) -> None:
    """Merge one measured figure into test-artifacts/ui_figures.json."""
    import json

    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "ui_figures.json"
    figures = json.loads(target.read_text()) if target.exists() else {}
    figures[name] = value
    target.write_text(json.dumps(figures, indent=2) + "\n")
