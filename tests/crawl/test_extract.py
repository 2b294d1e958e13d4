"""Image candidates from HTML: img, srcset, image links; resolved, deduplicated, in order."""

from __future__ import annotations

import pytest

from app.crawl.extract import extract_image_urls, srcset_urls

PAGE = "https://site.example/gallery/index.html"


def test_takes_img_srcset_and_image_links_in_document_order() -> None:
    html = """
    <html><body>
      <img src="a.jpg">
      <picture>
        <source srcset="b.webp 1x, b@2x.webp 2x" type="image/webp">
        <img src="/c.png" srcset="c-small.png 320w, c-large.png 1024w">
      </picture>
      <a href="photos/d.JPEG?size=large">big</a>
      <a href="about.html">about</a>
      <a href="e.jpeg#top"><img src="e-thumb.jpg"></a>
    </body></html>
    """
    assert extract_image_urls(html, PAGE) == [
        "https://site.example/gallery/a.jpg",
        "https://site.example/gallery/b.webp",
        "https://site.example/gallery/b@2x.webp",
        "https://site.example/c.png",
        "https://site.example/gallery/c-small.png",
        "https://site.example/gallery/c-large.png",
        "https://site.example/gallery/photos/d.JPEG?size=large",
        "https://site.example/gallery/e.jpeg",
        "https://site.example/gallery/e-thumb.jpg",
    ]


def test_each_url_is_taken_once() -> None:
    html = """
    <img src="a.jpg"><img src="./a.jpg"><img src="a.jpg#x">
    <img srcset="a.jpg 2x"><a href="https://site.example/gallery/a.jpg">same</a>
    <img src="b.png">
    """
    assert extract_image_urls(html, PAGE) == [
        "https://site.example/gallery/a.jpg",
        "https://site.example/gallery/b.png",
    ]


def test_base_href_is_respected() -> None:
    html = '<head><base href="https://cdn.example/assets/"></head><img src="a.jpg"><a href="/b.png">b</a>'
    assert extract_image_urls(html, PAGE) == ["https://cdn.example/assets/a.jpg", "https://cdn.example/b.png"]


def test_relative_base_href_resolves_against_the_page() -> None:
    html = '<base href="../media/"><img src="a.jpg">'
    assert extract_image_urls(html, PAGE) == ["https://site.example/media/a.jpg"]


def test_a_non_http_base_is_ignored() -> None:
    html = '<base href="javascript:alert(1)//"><img src="a.jpg">'
    assert extract_image_urls(html, PAGE) == ["https://site.example/gallery/a.jpg"]


def test_unfetchable_references_are_dropped() -> None:
    html = """
    <img src="data:image/png;base64,iVBORw0KGgo=">
    <img src="javascript:alert(1)"><img src="  "><img>
    <a href="mailto:x@example.com?subject=a.jpg">mail</a>
    <a href="ftp://files.example/a.jpg">ftp</a>
    <img src=" spaced.jpg ">
    """
    assert extract_image_urls(html, PAGE) == ["https://site.example/gallery/spaced.jpg"]


def test_links_to_internal_addresses_are_kept_for_the_guard_to_refuse() -> None:
    html = '<a href="http://169.254.169.254/latest/meta-data/x.jpg">x</a>'
    assert extract_image_urls(html, PAGE) == ["http://169.254.169.254/latest/meta-data/x.jpg"]


def test_bytes_are_decoded_with_the_charset_hint() -> None:
    html = '<img src="caf\xe9.jpg">'.encode("latin-1")
    assert extract_image_urls(html, PAGE, encoding="latin-1") == ["https://site.example/gallery/caf%C3%A9.jpg"]


@pytest.mark.parametrize(
    ("srcset", "urls"),
    [
        ("a.jpg", ["a.jpg"]),
        ("a.jpg 1x, b.jpg 2x", ["a.jpg", "b.jpg"]),
        ("a.jpg 1x,b.jpg 2x", ["a.jpg", "b.jpg"]),
        ("a.jpg 480w, b.jpg 800w ,  c.jpg 1200w", ["a.jpg", "b.jpg", "c.jpg"]),
        ("a.jpg, b.jpg 2x", ["a.jpg", "b.jpg"]),
        ("a.jpg,b.jpg", ["a.jpg,b.jpg"]),  # the spec reads this as one URL
        ("img,1.jpg 1x, img,2.jpg 2x", ["img,1.jpg", "img,2.jpg"]),
        ("a.jpg (weird, descriptor) 2x, b.jpg", ["a.jpg", "b.jpg"]),
        ("  ,, ", []),
        ("", []),
    ],
)
def test_srcset_parsing(srcset: str, urls: list[str]) -> None:
    assert srcset_urls(srcset) == urls
