"""End to end: crawl() against pages and images served on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from app.crawl import CrawlRefused, CrawlResult, FetchFailed, Rejected, crawl
from app.crawl.guard import Resolver
from app.errors import InvalidRequest
from tests.crawl.conftest import (
    PUBLIC_NAME,
    LocalServer,
    LoopbackRouter,
    NetworkLog,
    endless,
    redirect,
    send,
    trickle,
)

METADATA_IMAGE = "http://169.254.169.254/latest/meta-data/x.jpg"


@pytest.fixture
def gallery(server: LocalServer, jpeg_bytes: bytes, png_bytes: bytes) -> LocalServer:
    """A page with two images, a text file named fake.jpg, and a link to the metadata address."""
    server.routes["/gallery"] = send(
        f"""<html><body>
          <img src="/one.jpg"><img srcset="two.png 2x, /one.jpg 1x">
          <a href="fake.jpg">fake</a>
          <a href="{METADATA_IMAGE}">credentials</a>
        </body></html>""".encode(),
        "text/html; charset=utf-8",
    )
    server.routes["/one.jpg"] = send(jpeg_bytes, "image/jpeg")
    server.routes["/two.png"] = send(png_bytes, "image/png")
    server.routes["/fake.jpg"] = send(b"this is not an image", "image/jpeg")
    return server


def test_a_loopback_page_is_refused_by_default(gallery: LocalServer, network_log: NetworkLog) -> None:
    with pytest.raises(CrawlRefused, match="loopback"):
        crawl(gallery.url("/gallery"))
    assert gallery.requests == []
    assert "127.0.0.1" not in network_log.connects


def test_allow_private_gives_exactly_the_two_images(
    gallery: LocalServer, jpeg_bytes: bytes, png_bytes: bytes, network_log: NetworkLog
) -> None:
    result = crawl(gallery.url("/gallery"), allow_private=True)

    assert result.page_url == gallery.url("/gallery")
    assert result.found == 4
    assert [(image.url, image.content_type, image.data) for image in result.images] == [
        (gallery.url("/one.jpg"), "image/jpeg", jpeg_bytes),
        (gallery.url("/two.png"), "image/png", png_bytes),
    ]
    assert [rejected.url for rejected in result.rejected] == [gallery.url("/fake.jpg"), METADATA_IMAGE]
    assert "not an image" in result.rejected[0].reason
    assert "link-local" in result.rejected[1].reason
    assert "127.0.0.1" in network_log.connects  # the recorder sees the crawler's connects
    assert not network_log.touched("169.254.169.254")
    assert sorted(gallery.paths()) == ["/fake.jpg", "/gallery", "/one.jpg", "/two.png"]


def test_an_image_url_gives_one_image(server: LocalServer, png_bytes: bytes) -> None:
    server.routes["/photo.png"] = send(png_bytes, "image/png")
    result = crawl(server.url("/photo.png"), allow_private=True)
    assert result == CrawlResult(
        page_url=server.url("/photo.png"),
        found=1,
        images=[result.images[0]],
        rejected=[],
    )
    assert result.images[0].data == png_bytes


def test_a_fake_image_url_is_rejected_not_raised(server: LocalServer) -> None:
    server.routes["/x.webp"] = send(b"RIFF", "image/webp")
    result = crawl(server.url("/x.webp"), allow_private=True)
    assert (result.found, result.images) == (1, [])
    assert result.rejected == [Rejected(server.url("/x.webp"), result.rejected[0].reason)]


def test_a_page_that_is_neither_html_nor_image_fails(server: LocalServer) -> None:
    server.routes["/notes.txt"] = send(b"hello", "text/plain")
    with pytest.raises(FetchFailed, match="neither an HTML page nor an image"):
        crawl(server.url("/notes.txt"), allow_private=True)


def test_an_unreachable_page_fails(server: LocalServer) -> None:
    with pytest.raises(FetchFailed, match="HTTP status 404"):
        crawl(server.url("/nothing-here"), allow_private=True)


def test_max_images_limits_the_fetches_but_found_counts_all(server: LocalServer, jpeg_bytes: bytes) -> None:
    names = [f"/p{index}.jpg" for index in range(6)]
    server.routes["/page"] = send("".join(f'<img src="{name}">' for name in names).encode(), "text/html")
    for name in names:
        server.routes[name] = send(jpeg_bytes, "image/jpeg")
    result = crawl(server.url("/page"), allow_private=True, max_images=2)
    assert result.found == 6
    assert [image.url for image in result.images] == [server.url("/p0.jpg"), server.url("/p1.jpg")]
    assert sorted(server.paths()) == ["/p0.jpg", "/p1.jpg", "/page"]


def test_bad_candidates_end_cleanly_with_their_reasons(server: LocalServer, jpeg_bytes: bytes) -> None:
    server.routes["/page"] = send(
        b'<img src="/ok.jpg"><img src="/huge.jpg"><img src="/slow.jpg"><img src="/gone.jpg"><img src="/loop.jpg">',
        "text/html",
    )
    server.routes["/ok.jpg"] = send(jpeg_bytes, "image/jpeg")
    server.routes["/huge.jpg"] = endless("image/jpeg")
    server.routes["/slow.jpg"] = trickle(jpeg_bytes, "image/jpeg", delay_s=0.05)
    for hop in range(5):
        server.routes[f"/loop{hop}.jpg" if hop else "/loop.jpg"] = redirect(f"/loop{hop + 1}.jpg")
    started = time.monotonic()
    result = crawl(server.url("/page"), allow_private=True, max_bytes=64 * 1024, deadline_s=0.8)
    assert time.monotonic() - started < 4
    assert [image.url for image in result.images] == [server.url("/ok.jpg")]
    reasons = {rejected.url.rsplit("/", 1)[1]: rejected.reason for rejected in result.rejected}
    assert "byte cap" in reasons["huge.jpg"]
    assert "deadline" in reasons["slow.jpg"]
    assert "HTTP status 404" in reasons["gone.jpg"]
    assert "redirects" in reasons["loop.jpg"]


def test_a_public_page_redirecting_to_a_private_address_is_refused(
    server: LocalServer, router: LoopbackRouter, public_resolver: Resolver
) -> None:
    server.routes["/start"] = redirect("http://10.1.2.3/admin")
    with pytest.raises(CrawlRefused, match=r"10\.1\.2\.3 is private"):
        crawl(f"http://{PUBLIC_NAME}:{server.port}/start", resolver=public_resolver, transport=router)


def test_a_public_page_cannot_make_the_crawler_fetch_internal_images(
    server: LocalServer, router: LoopbackRouter, public_resolver: Resolver, jpeg_bytes: bytes, network_log: NetworkLog
) -> None:
    server.routes["/page"] = send(
        f'<img src="/pic.jpg"><img src="{server.url("/internal.jpg")}">'
        f'<img src="http://localhost:{server.port}/internal.jpg"><a href="{METADATA_IMAGE}">m</a>'.encode(),
        "text/html",
    )
    server.routes["/pic.jpg"] = send(jpeg_bytes, "image/jpeg")
    server.routes["/internal.jpg"] = send(jpeg_bytes, "image/jpeg")
    result = crawl(f"http://{PUBLIC_NAME}:{server.port}/page", resolver=public_resolver, transport=router)
    assert [image.url for image in result.images] == [f"http://{PUBLIC_NAME}:{server.port}/pic.jpg"]
    assert len(result.rejected) == 3
    assert "/internal.jpg" not in server.paths()
    assert not network_log.touched("169.254.169.254")


@pytest.mark.parametrize(
    "arguments",
    [{"max_images": 0}, {"max_images": 10_000}, {"max_bytes": 0}, {"deadline_s": 0.0}],
)
def test_out_of_range_limits_are_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(InvalidRequest):
        crawl("http://93.184.216.34/", **arguments)  # type: ignore[arg-type]
