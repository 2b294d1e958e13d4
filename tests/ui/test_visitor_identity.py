"""A hostile visitor against a real public-mode server, end to end: the visitor
token survives new sessions, reloads and a session-eviction flood; a guessed or malformed token sees
nothing; 'Keep' is refused; per-address upload quotas hold across new sessions and tokens, and
X-Forwarded-For counts only from a trusted proxy. Every loop is bounded."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.fixtures_data import SamplePhotos, write_sample_photos
from tests.ui.conftest import running_server

pytestmark = pytest.mark.slow

SESSIONS_KEPT = 10  # FACESWAP_SESSION_CAPACITY for the flood
FLOOD = 3 * SESSIONS_KEPT
TEMPORARY = "Delete after 24 h"
GUESSED = "A" * 43  # well-formed, never issued


@dataclass(frozen=True)
class Server:
    url: str
    data_dir: Path
    photos: SamplePhotos
    log: Path

    def client(self, **headers: str) -> Client:
        return Client(self.url, verbose=False, headers=headers or None)

    def rows(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.data_dir / "faceswap.db") as db:
            return db.execute(sql).fetchall()

    def upload(self, client: Client, token: str | None = None, keep: str = TEMPORARY) -> str:
        """The husband photo through /upload_husband; returns the status line."""
        _image, status = client.predict(
            handle_file(str(self.photos.husband)), keep, token, api_name="/upload_husband"
        )
        return str(status)


@contextmanager
def _server(base: Path, **settings: str) -> Iterator[Server]:
    data_dir = base / "data"
    overrides = {
        "FACESWAP_DATA_DIR": str(data_dir),
        "FACESWAP_PUBLIC_DEMO": "true",
        "FACESWAP_SEED_TEMPLATES": "false",
        "GRADIO_TEMP_DIR": str(base / "gradio-cache"),
        "COSWAP_LOG_LEVEL": "INFO",
        **settings,
    }
    with running_server(base, overrides) as server:
        yield Server(server.url, data_dir, write_sample_photos(base / "photos"), server.log)
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with _server(tmp_path_factory.mktemp("visitors"), FACESWAP_SESSION_CAPACITY=str(SESSIONS_KEPT)) as server:
        yield server


def _token(client: Client) -> str:
    answer = client.predict(api_name="/visitor")
    return str(answer["visitor"])


def test_a_new_session_with_the_same_token_finds_photos_templates_and_batches(public: Server) -> None:
    first = public.client()
    token = _token(first)
    assert len(token) == 43
    assert "cs-refused" not in public.upload(first)
    status = first.predict([handle_file(str(public.photos.pair))], "Our wedding", api_name="/add_templates")
    assert "Our wedding" in status and "private" in status.lower(), status
    [ours] = [t for t in first.predict(api_name="/templates") if t["private"]]
    first.predict(
        handle_file(str(public.photos.husband)), handle_file(str(public.photos.wife)), str(ours["id"]), "", True,
        api_name="/swap",
    )
    mine = first.predict(api_name="/my_photos")
    assert len(mine) == 3 and all(p["storage_type"] == "temporary" and p["expires_at"] for p in mine)

    again = public.client()  # a reload: a new Gradio session
    assert again.predict(api_name="/my_photos") == []  # its own new token owns nothing
    assert len(again.predict(token, api_name="/my_photos")) == 3
    [batch] = again.predict(token, api_name="/my_batches")
    assert batch["status"] == "completed"
    assert ours["id"] in {t["id"] for t in again.predict(token, api_name="/templates")}
    assert again.predict(token, api_name="/visitor") == {"visitor": token}  # adopted for this session
    assert len(again.predict(api_name="/my_photos")) == 3

    stranger = public.client()
    assert stranger.predict(GUESSED, api_name="/my_photos") == []
    assert stranger.predict(GUESSED, api_name="/my_batches") == []
    assert ours["id"] not in {t["id"] for t in stranger.predict(GUESSED, api_name="/templates")}
    with pytest.raises(AppError, match="visitor token is not valid"):
        stranger.predict("my-guess", api_name="/my_photos")
    with pytest.raises(AppError, match="visitor token is not valid"):
        stranger.predict("x" * 5000, api_name="/visitor")

    answer = again.predict(api_name="/delete_my_data")
    assert "Deleted 6 pictures, 1 swap and 1 own template " in str(answer[-1]), answer
    assert first.predict(api_name="/my_photos") == []
    owners = {row[0] for row in public.rows("SELECT session_id FROM images WHERE session_id IS NOT NULL")}
    assert token not in owners  # only hashes were ever stored, and now none of this visitor's


def test_an_eviction_flood_does_not_cost_a_visitor_their_data(public: Server) -> None:
    victim = public.client()
    token = _token(victim)
    public.upload(victim)
    assert len(victim.predict(api_name="/my_photos")) == 1
    for _ in range(FLOOD):  # cheap calls, each from a new Gradio session
        public.client().predict(api_name="/visitor")
    assert victim.predict(api_name="/my_photos") == []  # the victim's Gradio session was evicted...
    assert len(victim.predict(token, api_name="/my_photos")) == 1  # ...but the token still finds the photo
    answer = victim.predict(token, api_name="/delete_my_data")
    assert "Deleted 1 picture " in str(answer[-1]), answer
    assert victim.predict(token, api_name="/my_photos") == []


def test_keep_is_refused_in_public_mode(public: Server) -> None:
    client = public.client()
    status = public.upload(client, keep="Keep")
    assert "keeps nothing permanently" in status, status
    assert client.predict(api_name="/my_photos") == []
    assert public.rows("SELECT COUNT(*) FROM images WHERE storage_type = 'permanent' AND session_id IS NOT NULL") == [
        (0,)
    ]


PER_ADDRESS = 2


@pytest.mark.parametrize("trusted", [False, True], ids=["no proxy configured", "behind a trusted proxy"])
def test_uploads_count_per_address_across_new_sessions_and_tokens(
    tmp_path_factory: pytest.TempPathFactory, trusted: bool
) -> None:
    settings = {"FACESWAP_MAX_UPLOADS_PER_HOUR_PER_ADDRESS": str(PER_ADDRESS)}
    if trusted:
        settings["FACESWAP_TRUSTED_PROXIES"] = "127.0.0.1/32, ::1"
    with _server(tmp_path_factory.mktemp("addresses"), **settings) as server:
        # a new session (so a new token) per upload, each claiming another address
        statuses = [server.upload(server.client(**{"X-Forwarded-For": f"203.0.113.{n}"})) for n in range(3)]
        if not trusted:  # the header is the client's own claim: all three are one address
            assert [("from your address" in s) for s in statuses] == [False, False, True], statuses
        else:
            assert not any("from your address" in s for s in statuses), statuses
            repeat = [server.upload(server.client(**{"X-Forwarded-For": "203.0.113.0"})) for _ in range(2)]
            assert [("from your address" in s) for s in repeat] == [False, True], repeat
