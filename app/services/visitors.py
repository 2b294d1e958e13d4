"""Visitors: a random token kept by the browser (or an API client), and the client address.

A visitor is not a Gradio session. The token (256 random bits, URL-safe base64) lives in the browser;
the server stores only its SHA-256 (the `session_id` columns hold that hex digest) and never logs
either. Tokens are checked by format only: a well-formed token nobody issued simply owns nothing,
and a malformed one is refused.

The client address is the peer's, or, when the peer is a configured trusted proxy, the nearest
address in X-Forwarded-For that is not itself a trusted proxy.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from collections.abc import Sequence

from app.config import IPNetwork
from app.errors import InvalidRequest

TOKEN_BYTES = 32
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
INVALID_TOKEN = "this visitor token is not valid; ask /visitor for a new one (or leave it empty)"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_token(value: object) -> bool:
    return isinstance(value, str) and TOKEN_PATTERN.fullmatch(value) is not None


def key_of(token: object) -> str:
    """The owner key stored for `token` (hex SHA-256); a malformed token is refused."""
    if not is_token(token):
        raise InvalidRequest(INVALID_TOKEN)
    return hashlib.sha256(str(token).encode("ascii")).hexdigest()


def chosen_token(given: object, session_token: object) -> str:
    """The token a call acts for: the one it passed (the browser's, or an API argument), else the one
    its Gradio session holds. A given but malformed token is refused, never replaced."""
    if given not in (None, ""):
        if not is_token(given):
            raise InvalidRequest(INVALID_TOKEN)
        return str(given)
    if is_token(session_token):
        return str(session_token)
    raise InvalidRequest("this page has no visitor token; reload it and try again")


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]) -> str | None:
    """The client's address: X-Forwarded-For is read only when the peer is a trusted proxy, from the
    right, skipping further trusted proxies; a malformed entry stops the walk at the last good one."""
    address = _parse(peer)
    if address is None:
        return peer or None
    if not forwarded_for or not _is_trusted(address, trusted):
        return str(address)
    for item in reversed(forwarded_for.split(",")[-32:]):
        hop = _parse(item.strip())
        if hop is None:
            break
        address = hop
        if not _is_trusted(hop, trusted):
            break
    return str(address)


def _parse(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not value:
        return None
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def _is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: Sequence[IPNetwork]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)
