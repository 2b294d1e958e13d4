"""Crawler fixtures: a scripted HTTP server on 127.0.0.1, small real images, and a recorder of
every socket connect and DNS lookup (autouse; it also blocks any connect beyond loopback), so
tests can prove an address was never contacted.

Nothing here reaches beyond loopback: tests that need a "public" host use a fake resolver that
maps a name to a public-looking address and `LoopbackRouter`, a transport that carries
requests for that address to the local server.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from PIL import Image

Handler = Callable[[BaseHTTPRequestHandler], None]

PUBLIC_NAME = "images.example"
PUBLIC_ADDRESS = "93.184.216.34"  # looks global to the guard; never contacted, see LoopbackRouter
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})


@dataclass
class SeenRequest:
    path: str
    headers: dict[str, str]


@dataclass
class LocalServer:
    """Routes are path -> handler; `requests` lists every request the server received."""

    port: int
    scheme: str = "http"
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[SeenRequest] = field(default_factory=list)
    server_names: list[str] = field(default_factory=list)  # TLS SNI names received

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        return [seen.path for seen in self.requests]


def _handler_class(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class ScriptedHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            server.requests.append(SeenRequest(self.path, {k.lower(): v for k, v in self.headers.items()}))
            route = server.routes.get(self.path.split("?", 1)[0], send(b"not found", "text/plain", 404))
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                route(self)  # a client that gives up on purpose (cap, deadline) breaks the pipe

        def log_message(self, format: str, *args: object) -> None:
            pass

    return ScriptedHandler


def send(body: bytes, content_type: str | None, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        if content_type is not None:
            request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(body)

    return handle


def redirect(location: str, status: int = 302, headers: dict[str, str] | None = None) -> Handler:
    return send(b"", None, status, {"Location": location, **(headers or {})})


def endless(content_type: str, *, declared_length: int | None = None, chunked: bool = False) -> Handler:
    """A body that never ends: no Content-Length (close-delimited), a small lie, or chunked."""

    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", content_type)
        if chunked:
            request.send_header("Transfer-Encoding", "chunked")
        elif declared_length is not None:
            request.send_header("Content-Length", str(declared_length))
        else:
            request.send_header("Connection", "close")
        request.end_headers()
        block = b"\xff\xd8\xff" + b"x" * 65533
        for _ in range(2000):  # 128 MiB at most, far past any cap in the tests
            request.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
        request.close_connection = True

    return handle


def trickle(body: bytes, content_type: str, delay_s: float) -> Handler:
    """Honest headers, then one byte every `delay_s` seconds."""

    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        for byte in body:
            request.wfile.write(bytes([byte]))
            request.wfile.flush()
            time.sleep(delay_s)

    return handle


@contextlib.contextmanager
def _serve(tls: ssl.SSLContext | None = None) -> Iterator[LocalServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    httpd.daemon_threads = True
    httpd.block_on_close = False
    local = LocalServer(port=httpd.server_address[1], scheme="https" if tls else "http")
    httpd.RequestHandlerClass = _handler_class(local)
    if tls is not None:
        tls.sni_callback = lambda _socket, name, _context: local.server_names.append(str(name))
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield local
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with _serve() as local:
        yield local


@dataclass(frozen=True)
class TlsFiles:
    certificate: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certificate))


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for PUBLIC_NAME only, made with the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    files = TlsFiles(certificate=folder / "cert.pem", key=folder / "key.pem")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(files.key), "-out", str(files.certificate), "-days", "2", "-subj", f"/CN={PUBLIC_NAME}",
         "-addext", f"subjectAltName=DNS:{PUBLIC_NAME}"],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return files


@pytest.fixture
def tls_server(tls_files: TlsFiles) -> Iterator[LocalServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files.certificate, tls_files.key)
    with _serve(context) as local:
        yield local


def _image_bytes(fmt: str, colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def jpeg_bytes() -> bytes:
    return _image_bytes("JPEG", (200, 40, 40))


@pytest.fixture(scope="session")
def png_bytes() -> bytes:
    return _image_bytes("PNG", (40, 200, 40))


@pytest.fixture(scope="session")
def webp_bytes() -> bytes:
    return _image_bytes("WEBP", (40, 40, 200))


@dataclass
class NetworkLog:
    connects: list[str] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)

    def touched(self, address: str) -> bool:
        return address in self.connects or address in self.lookups


@pytest.fixture(autouse=True)
def network_log(monkeypatch: pytest.MonkeyPatch) -> NetworkLog:
    """Records the host of every socket connect and getaddrinfo call, and blocks every connect
    that is not to loopback, so no crawl test can reach beyond this machine."""
    log = NetworkLog()
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def loopback_only(address: object) -> None:
        host = str(address[0]) if isinstance(address, tuple) else str(address)
        log.connects.append(host)
        if host not in LOOPBACK:
            raise ConnectionRefusedError(f"test network: {host} is not loopback")

    def connect(sock: socket.socket, address: object) -> None:
        loopback_only(address)
        real_connect(sock, address)  # type: ignore[arg-type]

    def connect_ex(sock: socket.socket, address: object) -> int:
        loopback_only(address)
        return real_connect_ex(sock, address)  # type: ignore[arg-type]

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        log.lookups.append(str(host))
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return log


class LoopbackRouter(httpx.AsyncBaseTransport):
    """Carries requests for PUBLIC_ADDRESS to 127.0.0.1 and records what the fetcher asked for."""

    def __init__(self, verify: ssl.SSLContext | bool = True) -> None:
        self._inner = httpx.AsyncHTTPTransport(trust_env=False, verify=verify)
        self.seen: list[tuple[str, str]] = []  # (connect host, Host header)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.url.host, request.headers["host"]))
        if request.url.host == PUBLIC_ADDRESS:
            request.url = request.url.copy_with(host="127.0.0.1")
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def fake_resolver(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    """A resolver that knows only `table` and fails like DNS for anything else."""

    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


@pytest.fixture
def router() -> LoopbackRouter:
    return LoopbackRouter()


@pytest.fixture
def public_resolver() -> Callable[[str, int], list[str]]:
    return fake_resolver({PUBLIC_NAME: [PUBLIC_ADDRESS], "localhost": ["127.0.0.1", "::1"]})
