"""The per-process object graph: settings, database engine and session factory, face engine.

Built by `build_context` from `main`; never at import time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from app.config import Settings
from app.storage import DecodedImageCache
from db.session import SessionFactory, make_engine, make_session_factory

if TYPE_CHECKING:
    from pipeline.engines import EngineDecision
    from pipeline.face import FaceEngine


@dataclass
class AppContext:
    settings: Settings
    db_engine: Engine
    sessions: SessionFactory
    image_cache: DecodedImageCache = field(default_factory=DecodedImageCache, repr=False)
    _face_engine: FaceEngine | None = field(default=None, repr=False)
    _engine_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def engine_decision(self) -> EngineDecision:
        from pipeline.engines import resolve_engine

        return resolve_engine(self.settings.engine, self.settings.models_dir)

    def face_engine(self) -> FaceEngine:
        """The face engine, built and warmed once per process on first use."""
        with self._engine_lock:
            if self._face_engine is None:
                from pipeline.engines import create_engine

                engine = create_engine(self.engine_decision().name, self.settings.models_dir)
                engine.warmup()
                self._face_engine = engine
            return self._face_engine

    def loaded_face_engine(self) -> FaceEngine | None:
        """The face engine if it is already built and warmed; never builds it."""
        return self._face_engine

    def use_face_engine(self, engine: FaceEngine) -> None:
        """Inject an already built engine (tests, bench)."""
        self._face_engine = engine

    def dispose(self) -> None:
        self.db_engine.dispose()


def build_context(settings: Settings) -> AppContext:
    settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
    db_engine = make_engine(settings.sqlalchemy_url)
    return AppContext(settings=settings, db_engine=db_engine, sessions=make_session_factory(db_engine))
