"""Image candidates in an HTML page, found with BeautifulSoup.

Taken in document order: `<img src>`, `srcset` candidates of `<img>` and `<source>`, and
`<a href>` whose path ends in an image extension. Each is resolved against the page URL (or
the first `<base href>`), stripped of its fragment and taken once. Only http and https URLs
are kept; data:, javascript: and the like fetch nothing and are dropped.
"""

from __future__ import annotations

import httpx
from bs4 import BeautifulSoup, Tag

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
FETCHABLE_SCHEMES = frozenset({"http", "https"})
_SPACE = " \t\n\r\f"


def extract_image_urls(html: bytes | str, page_url: str, *, encoding: str | None = None) -> list[str]:
    """Absolute, distinct image candidate URLs in document order. `encoding` is a charset hint."""
    if isinstance(html, bytes):
        soup = BeautifulSoup(html, "html.parser", from_encoding=encoding)
    else:
        soup = BeautifulSoup(html, "html.parser")
    base = _base_url(soup, httpx.URL(page_url))
    found: dict[str, None] = {}
    for tag in soup.find_all(["img", "source", "a"]):
        if not isinstance(tag, Tag):
            continue
        for reference in _references(tag):
            url = _resolve(base, reference)
            if url is not None and (tag.name != "a" or _has_image_extension(url)):
                found.setdefault(url, None)
    return list(found)


def srcset_urls(srcset: str) -> list[str]:
    """The URLs of a srcset value, following the HTML spec's candidate parsing."""
    urls: list[str] = []
    position, length = 0, len(srcset)
    while True:
        while position < length and (srcset[position] in _SPACE or srcset[position] == ","):
            position += 1
        if position >= length:
            return urls
        start = position
        while position < length and srcset[position] not in _SPACE:
            position += 1
        url = srcset[start:position]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            position = _skip_descriptors(srcset, position)
        if url:
            urls.append(url)


def _skip_descriptors(srcset: str, position: int) -> int:
    """Past the descriptors ("2x", "640w") up to the comma that ends the candidate."""
    depth = 0
    while position < len(srcset):
        char = srcset[position]
        if char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif char == "," and not depth:
            return position + 1
        position += 1
    return position


def _references(tag: Tag) -> list[str]:
    if tag.name == "a":
        return _values(_attribute(tag, "href"))
    references = _values(_attribute(tag, "src")) if tag.name == "img" else []
    srcset = _attribute(tag, "srcset")
    return references + (srcset_urls(srcset) if srcset else [])


def _attribute(tag: Tag, name: str) -> str | None:
    value = tag.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else " ".join(value)


def _values(value: str | None) -> list[str]:
    return [value] if value else []


def _base_url(soup: BeautifulSoup, page_url: httpx.URL) -> httpx.URL:
    """The first <base href> when it is an http(s) URL, else the page URL."""
    base = soup.find("base", href=True)
    href = _attribute(base, "href") if isinstance(base, Tag) else None
    if href:
        resolved = _join(page_url, href)
        if resolved is not None and resolved.scheme in FETCHABLE_SCHEMES:
            return resolved
    return page_url


def _resolve(base: httpx.URL, reference: str) -> str | None:
    url = _join(base, reference)
    if url is None or url.scheme not in FETCHABLE_SCHEMES or not url.host:
        return None
    return str(url.copy_with(fragment=None))


def _join(base: httpx.URL, reference: str) -> httpx.URL | None:
    reference = reference.strip(_SPACE)
    if not reference:
        return None
    try:
        return base.join(reference)
    except httpx.InvalidURL:
        return None


def _has_image_extension(url: str) -> bool:
    return httpx.URL(url).path.lower().endswith(IMAGE_EXTENSIONS)
