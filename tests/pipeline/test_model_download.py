"""Model file pins, checks and downloads, against a real HTTP server on 127.0.0.1 serving tiny files."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from pipeline.errors import ModelUnavailable
from tests.model_host import serving
from pipeline.insight.model_files import BUFFALO_L_ZIP, INSIGHT_ROLES, INSIGHTFACE_MANIFEST
from pipeline.model_download import (
    Download,
    ModelFile,
    ModelManifest,
    all_verified,
    check_model_files,
    download_models,
    file_sha256,
    verified_paths,
)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class FileServer:
    """Serves `files` by name; `/cut/NAME` announces the full length but sends half and hangs up."""

    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def server() -> Iterator[FileServer]:
    state = FileServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            state.requests.append(self.path)
            cut = self.path.startswith("/cut/")
            name = self.path.rsplit("/", 1)[-1]
            data = state.files.get(name)
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2] if cut else data)
            if cut:
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep test output quiet
            pass

    with serving(Handler) as url:
        state.url = url
        yield state


@dataclass(frozen=True)
class Pack:
    """A tiny stand-in for the real set: three files in a zip (one in a folder) and one direct file."""

    manifest: ModelManifest
    contents: dict[str, bytes]
    archive: bytes
    direct: bytes


def _make_pack(seed: int = 0) -> Pack:
    contents = {
        "det_10g.onnx": os.urandom(3000 + seed),
        "genderage.onnx": os.urandom(500),
        "w600k_r50.onnx": os.urandom(2000),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("pack/det_10g.onnx", contents["det_10g.onnx"])
        bundle.writestr("genderage.onnx", contents["genderage.onnx"])
        bundle.writestr("w600k_r50.onnx", contents["w600k_r50.onnx"])
        bundle.writestr("unused.onnx", b"not needed")
    archive = buffer.getvalue()
    direct = os.urandom(4000)
    contents["inswapper_128.onnx"] = direct
    zip_download = Download("pack.zip", ("http://unused.invalid/pack.zip",), _sha(archive), len(archive))
    direct_download = Download(
        "inswapper_128.onnx", ("http://unused.invalid/inswapper_128.onnx",), _sha(direct), len(direct)
    )
    roles = {"det_10g.onnx": "detector", "genderage.onnx": "genderage", "w600k_r50.onnx": "recognizer"}
    files = [
        ModelFile(role=roles[name], name=name, sha256=_sha(data), size=len(data), source=zip_download, member=name)  # type: ignore[arg-type]
        for name, data in contents.items()
        if name in roles
    ]
    files.append(
        ModelFile(
            role="swapper", name="inswapper_128.onnx", sha256=_sha(direct), size=len(direct), source=direct_download
        )
    )
    return Pack(manifest=ModelManifest(files=tuple(files)), contents=contents, archive=archive, direct=direct)


def _serve(server: FileServer, pack: Pack) -> None:
    server.files["pack.zip"] = pack.archive
    server.files["inswapper_128.onnx"] = pack.direct


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".") or p.suffix in {".part", ".zip"})


def test_download_from_a_local_server_installs_verified_files(server: FileServer, tmp_path: Path) -> None:
    pack = _make_pack()
    _serve(server, pack)
    statuses = download_models(tmp_path, progress=False, base_url_override=server.url, manifest=pack.manifest)
    assert [s.state for s in statuses] == ["present"] * 4
    for name, data in pack.contents.items():
        assert (tmp_path / name).read_bytes() == data
    assert _leftovers(tmp_path) == []  # no temp files, no archive
    assert not (tmp_path / "unused.onnx").exists()  # only the needed members are extracted
    assert sorted(server.requests) == ["/inswapper_128.onnx", "/pack.zip"]


def test_a_second_download_fetches_nothing(server: FileServer, tmp_path: Path) -> None:
    pack = _make_pack()
    _serve(server, pack)
    download_models(tmp_path, progress=False, base_url_override=server.url, manifest=pack.manifest)
    server.requests.clear()
    download_models(tmp_path, progress=False, base_url_override=server.url, manifest=pack.manifest)
    assert server.requests == []


def test_only_the_broken_file_is_fetched_again(server: FileServer, tmp_path: Path) -> None:
    pack = _make_pack()
    _serve(server, pack)
    download_models(tmp_path, progress=False, base_url_override=server.url, manifest=pack.manifest)
    (tmp_path / "genderage.onnx").write_bytes(b"truncated")
    server.requests.clear()
    download_models(tmp_path, progress=False, base_url_override=server.url, manifest=pack.manifest)
    assert server.requests == ["/pack.zip"]
    assert all_verified(tmp_path, pack.manifest)


def test_the_next_url_is_tried_when_one_fails(server: FileServer, tmp_path: Path) -> None:
    pack = _make_pack()
    _serve(server, pack)
    urls_with_a_dead_one = ModelManifest(
        files=tuple(
            ModelFile(
                role=f.role,
                name=f.name,
                sha256=f.sha256,
                size=f.size,
                member=f.member,
                source=Download(
                    f.source.file_name,
                    (f"{server.url}/missing/{f.source.file_name}", f"{server.url}/{f.source.file_name}"),
                    f.source.sha256,
                    f.source.size,
                ),
            )
            for f in pack.manifest.files
        )
    )
    download_models(tmp_path, progress=False, manifest=urls_with_a_dead_one)
    assert all_verified(tmp_path, pack.manifest)


def test_an_archive_with_another_checksum_installs_nothing(server: FileServer, tmp_path: Path) -> None:
    pack = _make_pack()
    _serve(server, pack)
    tampered = bytearray(pack.archive)
    tampered[10] ^= 0xFF
    server.files["pack.zip"] = bytes(tampered)
    with pytest.raises(ModelUnavailable, match=r"pack\.zip: sha256 [0-9a-f]{64} does not match"):
        download_models(tmp_path, progress=False, base_url_override=server.url, manifest=pack.manifest)
    assert not any((tmp_path / name).exists() for name in ("det_10g.onnx", "genderage.onnx", "w600k_r50.onnx"))
    assert _leftovers(tmp_path) == []


def test_a_cut_connection_leaves_no_partial_file(server: FileServer, tmp_path: Path) -> None:
    pack = _make_pack()
    _serve(server, pack)
    with pytest.raises(ModelUnavailable, match="could not download pack.zip"):
        download_models(tmp_path, progress=False, base_url_override=f"{server.url}/cut", manifest=pack.manifest)
    assert list(tmp_path.iterdir()) == []


def test_a_short_file_is_refused_and_not_installed(server: FileServer, tmp_path: Path) -> None:
    pack = _make_pack()
    _serve(server, pack)
    server.files["inswapper_128.onnx"] = pack.direct[:-10]
    with pytest.raises(ModelUnavailable, match="inswapper_128.onnx"):
        download_models(tmp_path, progress=False, base_url_override=server.url, manifest=pack.manifest)
    assert not (tmp_path / "inswapper_128.onnx").exists()
    assert _leftovers(tmp_path) == []


def test_progress_goes_to_stderr_only(server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = _make_pack()
    _serve(server, pack)
    download_models(tmp_path, progress=True, base_url_override=server.url, manifest=pack.manifest)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "pack.zip" in captured.err and "inswapper_128.onnx" in captured.err


def test_check_reports_each_state(tmp_path: Path) -> None:
    pack = _make_pack()
    (tmp_path / "det_10g.onnx").write_bytes(pack.contents["det_10g.onnx"])
    (tmp_path / "genderage.onnx").write_bytes(pack.contents["genderage.onnx"][:-1])
    wrong = bytearray(pack.contents["w600k_r50.onnx"])
    wrong[0] ^= 0xFF
    (tmp_path / "w600k_r50.onnx").write_bytes(bytes(wrong))
    states = {s.file.name: s.state for s in check_model_files(tmp_path, pack.manifest)}
    assert states == {
        "det_10g.onnx": "present",
        "genderage.onnx": "wrong_size",
        "w600k_r50.onnx": "checksum_mismatch",
        "inswapper_128.onnx": "missing",
    }
    with pytest.raises(ModelUnavailable) as caught:
        verified_paths(tmp_path, pack.manifest)
    message = str(caught.value)
    for expected in ("genderage.onnx: wrong size", "w600k_r50.onnx: checksum mismatch", "inswapper_128.onnx: missing"):
        assert expected in message
    assert "det_10g.onnx" not in message


def test_hashes_are_cached_by_size_and_mtime(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"a" * 1000)
    first = file_sha256(path)
    stat = path.stat()
    path.write_bytes(b"b" * 1000)  # same size; put the old mtime back: the cached sum is reused
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert file_sha256(path) == first
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert file_sha256(path) == _sha(b"b" * 1000)


def test_the_pinned_manifest_covers_the_engine() -> None:
    by_role = {f.role: f for f in INSIGHTFACE_MANIFEST.files}
    assert tuple(by_role) == INSIGHT_ROLES
    assert {f.name for f in INSIGHTFACE_MANIFEST.files} == {
        "det_10g.onnx",
        "genderage.onnx",
        "w600k_r50.onnx",
        "inswapper_128.onnx",
    }
    for model_file in INSIGHTFACE_MANIFEST.files:
        assert len(model_file.sha256) == 64 and int(model_file.sha256, 16) >= 0
        assert model_file.size > 1_000_000 or model_file.name == "genderage.onnx"
        assert all(url.startswith("https://") for url in model_file.source.urls)
    buffalo = [f for f in INSIGHTFACE_MANIFEST.files if f.source == BUFFALO_L_ZIP]
    assert {f.member for f in buffalo} == {"det_10g.onnx", "genderage.onnx", "w600k_r50.onnx"}
    swapper = by_role["swapper"]
    assert swapper.member is None and (swapper.sha256, swapper.size) == (swapper.source.sha256, swapper.source.size)
    assert INSIGHTFACE_MANIFEST.downloads() == (BUFFALO_L_ZIP, swapper.source)
