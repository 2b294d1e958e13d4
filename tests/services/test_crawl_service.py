"""Crawling into the gallery: two face photos become preprocessed templates, once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.context import AppContext
from app.crawl import CrawlRefused
from app.services.crawl import crawl_report, run_crawl
from db.models import CrawlTask, Template
from tests.cli_helpers import run_cli
from tests.crawl.conftest import LocalServer, network_log, send, server  # noqa: F401  (fixtures)
from tests.fixtures_data import SamplePhotos

METADATA_IMAGE = "http://169.254.169.254/latest/meta-data/face.jpg"


@pytest.fixture
def face_page(server: LocalServer, photos: SamplePhotos) -> LocalServer:  # noqa: F811
    server.routes["/wedding"] = send(
        f"""<html><body><h1>Couples</h1>
        <img src="/pair.png" alt="couple"><a href="/astronaut.png">big</a>
        <img src="/fake.jpg"><a href="{METADATA_IMAGE}">meta</a></body></html>""".encode(),
        "text/html",
    )
    server.routes["/pair.png"] = send(Path(photos.pair).read_bytes(), "image/png")
    server.routes["/astronaut.png"] = send(Path(photos.wife).read_bytes(), "image/png")
    server.routes["/fake.jpg"] = send(b"just text pretending", "image/jpeg")
    return server


def test_crawl_imports_exactly_the_two_photos_once(ctx: AppContext, face_page: LocalServer) -> None:
    report = run_crawl(ctx, face_page.url("/wedding"), allow_private=True)
    assert report.imported == 2 and report.duplicates == 0
    assert report.rejected == 2  # the fake, and the metadata link (refused without a connection)
    assert report.status == "partial"
    with ctx.sessions() as session:
        templates = session.execute(select(Template)).scalars().all()
        assert len(templates) == 2
        assert all(t.is_preprocessed for t in templates)
        assert {t.source_url for t in templates} == {face_page.url("/pair.png"), face_page.url("/astronaut.png")}
    again = run_crawl(ctx, face_page.url("/wedding"), allow_private=True)
    assert again.imported == 0 and again.duplicates == 2
    with ctx.sessions() as session:
        assert session.execute(select(func.count()).select_from(Template)).scalar() == 2
    assert "/latest/meta-data/face.jpg" not in face_page.paths()


def test_loopback_page_is_refused_by_default_and_recorded(ctx: AppContext, face_page: LocalServer) -> None:
    with pytest.raises(CrawlRefused):
        run_crawl(ctx, face_page.url("/wedding"))
    with ctx.sessions() as session:
        row = session.execute(select(CrawlTask)).scalar_one()
    assert row.status == "failed" and row.error
    assert crawl_report(ctx, row.id).imported == 0
    assert face_page.paths() == []


def test_cli_refuses_a_private_url_with_exit_2(tmp_path: Path) -> None:
    result = run_cli("templates", "crawl", "http://127.0.0.1:9/page", env={"FACESWAP_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
