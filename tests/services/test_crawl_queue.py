"""Crawls started from the UI go through the job queue; the operator setting decides private access."""

from __future__ import annotations

from pathlib import Path

from app.context import AppContext, build_context
from app.services.crawl import crawl_report
from app.services.crawl import start_crawl
from app.queue.tasks import enqueue_crawl, make_huey
from app.ui.presenters import crawl_markdown as describe
from db import migrate
from pipeline.face import FaceEngine
from tests.conftest import make_settings
from tests.crawl.conftest import LocalServer, network_log, send, server  # noqa: F401  (fixtures)
from tests.fixtures_data import SamplePhotos


def _queued_context(tmp_path: Path, engine: FaceEngine, allow_private: bool) -> AppContext:
    ctx = build_context(make_settings(tmp_path / "data", FACESWAP_CRAWL_ALLOW_PRIVATE=allow_private))
    migrate.upgrade(ctx.db_engine)
    ctx.use_face_engine(engine)
    return ctx


def _page(server: LocalServer, photos: SamplePhotos) -> str:  # noqa: F811
    server.routes["/p"] = send(b'<img src="/pair.png"><img src="/fake.jpg">', "text/html")
    server.routes["/pair.png"] = send(Path(photos.pair).read_bytes(), "image/png")
    server.routes["/fake.jpg"] = send(b"text", "image/jpeg")
    return server.url("/p")


def test_queued_crawl_imports_when_the_operator_allows_private(
    tmp_path: Path, classic: FaceEngine, photos: SamplePhotos, server: LocalServer  # noqa: F811
) -> None:
    ctx = _queued_context(tmp_path, classic, allow_private=True)
    huey = make_huey(ctx.settings, immediate=True, context=ctx)
    crawl_id = start_crawl(ctx, _page(server, photos), lambda cid: enqueue_crawl(huey, cid))
    report = crawl_report(ctx, crawl_id)
    assert (report.status, report.imported, report.rejected) == ("partial", 1, 1)
    assert "imported 1" in describe(report)
    ctx.dispose()


def test_queued_crawl_of_a_private_page_is_refused_by_default(
    tmp_path: Path, classic: FaceEngine, photos: SamplePhotos, server: LocalServer  # noqa: F811
) -> None:
    ctx = _queued_context(tmp_path, classic, allow_private=False)
    huey = make_huey(ctx.settings, immediate=True, context=ctx)
    crawl_id = start_crawl(ctx, _page(server, photos), lambda cid: enqueue_crawl(huey, cid))
    report = crawl_report(ctx, crawl_id)
    assert report.status == "failed" and report.imported == 0
    assert server.paths() == []
    ctx.dispose()
