"""The visitor token in the page (tokens and keys: app.services.visitors, through app.ui.actions).

The browser keeps it in localStorage (gr.BrowserState), so a reload or the eviction of the Gradio
session changes nothing; every event sends it. The Gradio session keeps a copy too (gr.State), for
API clients that do not pass one: each new client session starts with a new token, and `/visitor`
tells it (or adopts a token the client kept). Events take both, as their last two inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.ui.actions import is_visitor_token, new_visitor_token

STORAGE_KEY = "coswap-visitor"
# BrowserState encrypts with a key the page itself carries: it only keeps the value from being read as
# plain text in localStorage. A fixed key keeps visitors' tokens valid across server restarts.
BROWSER_KEY = "coswap-visitor-v1"


@dataclass(frozen=True)
class VisitorBox:
    session: gr.State  # this Gradio session's token (API clients that pass none)
    browser: gr.BrowserState  # the token the browser keeps; an API client may pass its own here

    @property
    def inputs(self) -> list[Any]:
        return [self.session, self.browser]


def create() -> VisitorBox:
    return VisitorBox(gr.State(new_visitor_token), gr.BrowserState(None, storage_key=STORAGE_KEY, secret=BROWSER_KEY))


def settle(session_token: str | None, visitor: str | None = None) -> tuple[str, str]:
    """At page load: keep the browser's token when it is well-formed, else give it the session's
    (new) one; both components end up holding the same token."""
    token = next((str(t) for t in (visitor, session_token) if is_visitor_token(t)), None) or new_visitor_token()
    return token, token


def is_settler(fn: object) -> bool:
    return fn is settle or fn is new_visitor_token
