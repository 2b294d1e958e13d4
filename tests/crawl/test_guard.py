"""The address policy: decisions only, nothing is ever connected to here."""

from __future__ import annotations

import ipaddress

import pytest

from app.crawl.guard import CrawlRefused, FetchFailed, Guard, address_refusal
from tests.crawl.conftest import NetworkLog, fake_resolver

REFUSED_ALWAYS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://2852039166/",  # 169.254.169.254 in decimal
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://0xa9fea9fe/",
    "http://0251.0376.0251.0376/",  # octal: httpx refuses it as an invalid URL
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "ftp://example.com/a.jpg",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "data:image/png;base64,AAAA",
    "gopher://example.com/",
    "http://user:secret@93.184.216.34/",
    "http://user@93.184.216.34/",
    "http:///no-host",
    "http://1.2.3.4.5/",
    "http://foo.123/",
    "http://93.184.216.34:0/",
]

REFUSED_UNLESS_PRIVATE = [
    "http://127.0.0.1/",
    "http://127.8.9.10:8080/",
    "http://10.0.0.1/",
    "http://10.255.255.255/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://100.127.255.254/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[fd00::1]/",
    "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
    "http://[2002:c0a8:101::1]/",  # 6to4 of 192.168.1.1
    "http://[::127.0.0.1]/",  # IPv4-compatible
    "http://2130706433/",  # decimal
    "http://0x7f000001/",  # hex
    "http://0x7f.1/",
    "http://0177.0.0.1/",  # octal: refused as an invalid URL in both modes
    "http://127.1/",
    "http://localhost/",
]

ALLOWED = [
    ("http://93.184.216.34/", "93.184.216.34"),
    ("https://93.184.216.34:8443/a.jpg", "93.184.216.34"),
    ("http://[2606:2800:220:1:248:1893:25c8:1946]/", "2606:2800:220:1:248:1893:25c8:1946"),
    ("http://1572395042/", "93.184.216.34"),  # decimal spelling of a global address, normalised
    ("http://[::ffff:93.184.216.34]/", "::ffff:5db8:d822"),
    ("http://images.example/x.jpg", "93.184.216.34"),
]

RESOLVER = fake_resolver(
    {
        "images.example": ["93.184.216.34"],
        "localhost": ["127.0.0.1", "::1"],
        "mixed.example": ["93.184.216.34", "10.0.0.7"],
        "metadata.example": ["169.254.169.254"],
    }
)


@pytest.mark.parametrize("url", REFUSED_ALWAYS + REFUSED_UNLESS_PRIVATE)
def test_refused_by_default(url: str, network_log: NetworkLog) -> None:
    with pytest.raises(CrawlRefused) as refused:
        Guard(resolver=RESOLVER).check(url)
    assert refused.value.url == url
    assert refused.value.reason
    assert network_log.connects == [] and network_log.lookups == []


@pytest.mark.parametrize("url", REFUSED_ALWAYS)
def test_allow_private_never_opens_link_local_multicast_or_bad_urls(url: str) -> None:
    with pytest.raises(CrawlRefused):
        Guard(allow_private=True, resolver=RESOLVER).check(url)


@pytest.mark.parametrize("url", [u for u in REFUSED_UNLESS_PRIVATE if "0177" not in u])
def test_allow_private_opens_loopback_private_and_cgnat(url: str) -> None:
    target = Guard(allow_private=True, resolver=RESOLVER).check(url)
    assert address_refusal(target.address, allow_private=True) is None


@pytest.mark.parametrize(("url", "address"), ALLOWED)
def test_global_addresses_are_allowed_without_connecting(url: str, address: str, network_log: NetworkLog) -> None:
    target = Guard(resolver=RESOLVER).check(url)
    assert target.address == ipaddress.ip_address(address)
    assert network_log.connects == []


@pytest.mark.parametrize(
    ("url", "reason_part"),
    [
        ("http://169.254.169.254/", "link-local"),
        ("http://[::ffff:169.254.169.254]/", "embeds 169.254.169.254"),
        ("http://2130706433/", "loopback"),
        ("http://100.64.0.1/", "CGNAT"),
        ("http://u:p@93.184.216.34/", "credentials"),
        ("ftp://93.184.216.34/", "not ftp://"),
        ("http://0251.0376.0251.0376/", "invalid URL"),
        ("http://metadata.example/", "link-local"),
    ],
)
def test_reasons_say_why(url: str, reason_part: str) -> None:
    with pytest.raises(CrawlRefused, match=reason_part):
        Guard(resolver=RESOLVER).check(url)


def test_a_name_is_refused_when_any_of_its_addresses_is() -> None:
    with pytest.raises(CrawlRefused, match=r"10\.0\.0\.7"):
        Guard(resolver=RESOLVER).check("http://mixed.example/")


def test_unresolvable_host_is_a_fetch_failure_not_a_refusal() -> None:
    with pytest.raises(FetchFailed, match="cannot resolve"):
        Guard(resolver=RESOLVER).check("http://nowhere.example/")


def test_target_pins_the_address_and_keeps_the_name_for_host_and_sni() -> None:
    target = Guard(resolver=RESOLVER).check("https://Images.Example:8443/a/b.jpg?x=1#frag")
    assert str(target.connect_url) == "https://93.184.216.34:8443/a/b.jpg?x=1"
    assert target.host_header == "images.example:8443"
    assert target.host_is_name and target.is_https
    assert str(target.url) == "https://images.example:8443/a/b.jpg?x=1"


def test_numeric_hosts_are_normalised_to_the_address_they_mean() -> None:
    target = Guard(allow_private=True).check("http://0x7f.1:8080/x")
    assert str(target.connect_url) == "http://127.0.0.1:8080/x"
    assert target.host_header == "127.0.0.1:8080"
    assert not target.host_is_name


def test_the_resolver_is_asked_once_per_check() -> None:
    calls: list[str] = []

    def counting(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["93.184.216.34"]

    Guard(resolver=counting).check("http://images.example/")
    assert calls == ["images.example"]
