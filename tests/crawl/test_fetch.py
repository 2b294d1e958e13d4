"""The guarded fetcher against a real server on 127.0.0.1: redirects, caps, deadline, pinning."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from app.crawl.fetch import Fetched, FetchedImage, Fetcher, FetchLimits, sniff_image_type
from app.crawl.guard import CrawlRefused, FetchFailed, Guard, Resolver, system_resolver
from tests.crawl.conftest import (
    PUBLIC_ADDRESS,
    PUBLIC_NAME,
    LocalServer,
    LoopbackRouter,
    NetworkLog,
    TlsFiles,
    endless,
    fake_resolver,
    redirect,
    send,
    trickle,
)

DEFAULT_LIMITS = FetchLimits()


def fetch(
    url: str,
    *,
    allow_private: bool = True,
    limits: FetchLimits = DEFAULT_LIMITS,
    resolver: Resolver = system_resolver,
    router: LoopbackRouter | None = None,
    image: bool = False,
) -> Fetched | FetchedImage:
    async def run() -> Fetched | FetchedImage:
        guard = Guard(allow_private=allow_private, resolver=resolver)
        async with Fetcher(guard, limits, transport=router) as fetcher:
            return await (fetcher.fetch_image(url) if image else fetcher.fetch(url))

    return asyncio.run(run())


def test_fetches_a_page(server: LocalServer) -> None:
    server.routes["/"] = send(b"<html>hi</html>", "text/html; charset=ISO-8859-1")
    page = fetch(server.url("/"))
    assert isinstance(page, Fetched)
    assert (page.data, page.content_type, page.charset) == (b"<html>hi</html>", "text/html", "iso-8859-1")
    assert server.requests[0].headers["accept-encoding"] == "identity"


@pytest.mark.parametrize("fixture_name", ["jpeg_bytes", "png_bytes", "webp_bytes"])
def test_fetches_images_and_reports_the_sniffed_type(
    server: LocalServer, request: pytest.FixtureRequest, fixture_name: str
) -> None:
    data: bytes = request.getfixturevalue(fixture_name)
    kind = sniff_image_type(data)
    assert kind is not None
    server.routes["/img"] = send(data, kind)
    image = fetch(server.url("/img"), image=True)
    assert isinstance(image, FetchedImage)
    assert (image.content_type, image.data) == (kind, data)


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"just some text", "image/jpeg", "not an image"),
        (b"just some text", "text/plain", "text/plain"),
        (b"GIF89a....", "image/gif", "image/gif"),
        (b"\xff\xd8\xff\xe0", None, "missing"),
    ],
)
def test_non_images_fail_with_a_reason(server: LocalServer, body: bytes, content_type: str | None, reason: str) -> None:
    server.routes["/fake.jpg"] = send(body, content_type)
    with pytest.raises(FetchFailed, match=reason):
        fetch(server.url("/fake.jpg"), image=True)


def test_bad_status_fails(server: LocalServer) -> None:
    with pytest.raises(FetchFailed, match="HTTP status 404"):
        fetch(server.url("/missing"))


def test_follows_up_to_three_redirects(server: LocalServer, png_bytes: bytes) -> None:
    server.routes["/r1"] = redirect("/r2", 301)
    server.routes["/r2"] = redirect(server.url("/r3"), 307)
    server.routes["/r3"] = redirect("r4", 308)
    server.routes["/r4"] = send(png_bytes, "image/png")
    image = fetch(server.url("/r1"), image=True)
    assert image.url == server.url("/r4")
    assert server.paths() == ["/r1", "/r2", "/r3", "/r4"]


def test_a_fourth_redirect_fails(server: LocalServer) -> None:
    for hop in range(1, 6):
        server.routes[f"/r{hop}"] = redirect(f"/r{hop + 1}")
    with pytest.raises(FetchFailed, match="more than 3 redirects"):
        fetch(server.url("/r1"))
    assert server.paths() == ["/r1", "/r2", "/r3", "/r4"]


def test_redirect_to_a_refused_scheme_is_refused(server: LocalServer) -> None:
    server.routes["/go"] = redirect("file:///etc/passwd")
    with pytest.raises(CrawlRefused, match="only http:// and https:// .*not file://"):
        fetch(server.url("/go"))


def test_public_page_redirecting_to_loopback_is_refused_before_connecting(
    server: LocalServer, router: LoopbackRouter, public_resolver: Resolver
) -> None:
    server.routes["/page"] = redirect(server.url("/secret"))
    server.routes["/secret"] = send(b"internal", "text/html")
    with pytest.raises(CrawlRefused, match="loopback") as refused:
        fetch(f"http://{PUBLIC_NAME}:{server.port}/page", allow_private=False, resolver=public_resolver, router=router)
    assert refused.value.url == server.url("/secret")
    assert server.paths() == ["/page"]
    assert router.seen == [(PUBLIC_ADDRESS, f"{PUBLIC_NAME}:{server.port}")]


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://2852039166/",
        "http://10.0.0.1/",
        "http://localhost/",
    ],
)
def test_redirects_to_internal_addresses_are_refused(
    server: LocalServer, router: LoopbackRouter, public_resolver: Resolver, location: str
) -> None:
    server.routes["/page"] = redirect(location)
    with pytest.raises(CrawlRefused):
        fetch(f"http://{PUBLIC_NAME}:{server.port}/page", allow_private=False, resolver=public_resolver, router=router)
    assert len(router.seen) == 1


def test_connects_to_the_checked_address_even_if_dns_changes(server: LocalServer, router: LoopbackRouter) -> None:
    answers = iter([[PUBLIC_ADDRESS], ["127.0.0.1"]])  # a rebinding resolver: public, then loopback

    def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    server.routes["/page"] = send(b"<p>ok</p>", "text/html")
    page = fetch(f"http://{PUBLIC_NAME}:{server.port}/page", allow_private=False, resolver=rebinding, router=router)
    assert page.data == b"<p>ok</p>"
    assert router.seen == [(PUBLIC_ADDRESS, f"{PUBLIC_NAME}:{server.port}")]
    assert server.requests[0].headers["host"] == f"{PUBLIC_NAME}:{server.port}"


def test_no_cookies_are_kept_across_redirects(server: LocalServer) -> None:
    server.routes["/login"] = redirect("/next", headers={"Set-Cookie": "session=abc; Path=/"})
    server.routes["/next"] = send(b"<p></p>", "text/html")
    fetch(server.url("/login"))
    assert "cookie" not in server.requests[1].headers


def test_proxy_environment_is_ignored(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    server.routes["/"] = send(b"<p></p>", "text/html")
    assert fetch(server.url("/")).data == b"<p></p>"


LIMITS_1K = FetchLimits(max_bytes=1024, deadline_s=5.0)


@pytest.mark.parametrize(
    ("handler", "reason"),
    [
        (endless("image/jpeg"), "over the 1024 byte cap"),  # no Content-Length
        (endless("image/jpeg", chunked=True), "over the 1024 byte cap"),
        (send(b"x" * 5000, "image/jpeg"), "Content-Length 5000 is over"),
    ],
)
def test_byte_cap_holds_while_streaming(server: LocalServer, handler: Callable[..., None], reason: str) -> None:
    server.routes["/big.jpg"] = handler
    started = time.monotonic()
    with pytest.raises(FetchFailed, match=reason):
        fetch(server.url("/big.jpg"), limits=LIMITS_1K, image=True)
    assert time.monotonic() - started < 3


def test_a_content_length_smaller_than_the_body_reads_no_more_than_it_says(server: LocalServer) -> None:
    server.routes["/lie.jpg"] = endless("image/jpeg", declared_length=100)
    image = fetch(server.url("/lie.jpg"), limits=LIMITS_1K, image=True)
    assert len(image.data) == 100


def test_compressed_replies_are_refused(server: LocalServer) -> None:
    server.routes["/"] = send(b"\x1f\x8b...", "text/html", headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchFailed, match="content encoding 'gzip'"):
        fetch(server.url("/"))


def test_deadline_covers_the_whole_body(server: LocalServer, jpeg_bytes: bytes) -> None:
    server.routes["/slow.jpg"] = trickle(jpeg_bytes, "image/jpeg", delay_s=0.05)  # each read is fast
    started = time.monotonic()
    with pytest.raises(FetchFailed, match=r"deadline of 0\.6 s exceeded"):
        fetch(server.url("/slow.jpg"), limits=FetchLimits(deadline_s=0.6), image=True)
    assert time.monotonic() - started < 1.5


def test_deadline_covers_a_slow_redirect_chain(server: LocalServer) -> None:
    def slow_redirect(target: str) -> Callable[..., None]:
        hop = redirect(target)

        def handle(request: object) -> None:
            time.sleep(0.25)
            hop(request)  # type: ignore[arg-type]

        return handle

    server.routes["/a"] = slow_redirect("/b")
    server.routes["/b"] = slow_redirect("/c")
    server.routes["/c"] = slow_redirect("/d")
    with pytest.raises(FetchFailed, match="deadline"):
        fetch(server.url("/a"), limits=FetchLimits(deadline_s=0.6))


def test_refused_target_is_never_connected(network_log: NetworkLog) -> None:
    with pytest.raises(CrawlRefused):
        fetch("http://169.254.169.254/latest/meta-data/x.jpg", image=True)
    assert not network_log.touched("169.254.169.254")


def test_https_is_pinned_to_the_checked_address_and_verified_against_the_host_name(
    tls_server: LocalServer, tls_files: TlsFiles, public_resolver: Resolver, jpeg_bytes: bytes
) -> None:
    tls_server.routes["/a.jpg"] = send(jpeg_bytes, "image/jpeg")
    router = LoopbackRouter(verify=tls_files.client_context())
    url = f"https://{PUBLIC_NAME}:{tls_server.port}/a.jpg"
    image = fetch(url, allow_private=False, resolver=public_resolver, router=router, image=True)
    assert image.url == url and image.data == jpeg_bytes
    assert router.seen == [(PUBLIC_ADDRESS, f"{PUBLIC_NAME}:{tls_server.port}")]
    assert tls_server.server_names == [PUBLIC_NAME]


def test_https_with_a_certificate_for_another_name_fails(
    tls_server: LocalServer, tls_files: TlsFiles, jpeg_bytes: bytes
) -> None:
    tls_server.routes["/a.jpg"] = send(jpeg_bytes, "image/jpeg")
    router = LoopbackRouter(verify=tls_files.client_context())
    resolver = fake_resolver({"other.example": [PUBLIC_ADDRESS]})
    with pytest.raises(FetchFailed, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        fetch(f"https://other.example:{tls_server.port}/a.jpg", allow_private=False, resolver=resolver, router=router)
    assert tls_server.requests == []
