"""The per-process object graph: settings, database engine and session factory, image store, face engine.

Built by `build_context` from `main`; never at import time.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Engine

from app.config import Settings
from app.ratelog import AddressBook, RateLog
from app.objects import open_objects
from app.storage import DecodedImageCache, ImageStore
from db.session import SessionFactory, make_engine, make_session_factory

if TYPE_CHECKING:
    from pipeline.engines import EngineDecision
    from pipeline.face import FaceEngine
    from pipeline.background_download import BackgroundDownload
    from pipeline.enhance.enhancer import FaceEnhancer
    from pipeline.model_download import ModelManifest


@dataclass
class AppContext:
    settings: Settings
    db_engine: Engine
    sessions: SessionFactory
    image_cache: DecodedImageCache = field(default_factory=DecodedImageCache, repr=False)
    _face_engine: FaceEngine | None = field(default=None, repr=False)
    _engine_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    model_download: BackgroundDownload | None = field(default=None, repr=False)  # FACESWAP_AUTO_DOWNLOAD
    model_manifest: ModelManifest | None = field(default=None, repr=False)  # None: the pinned insightface set
    enhancer_manifest: ModelManifest | None = field(default=None, repr=False)  # None: the pinned GFPGAN file
    enhancer_download: BackgroundDownload | None = field(default=None, repr=False)  # FACESWAP_AUTO_DOWNLOAD
    _face_enhancer: FaceEnhancer | None = field(default=None, repr=False)
    _enhancer_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    upload_log: RateLog = field(default_factory=RateLog, repr=False)  # uploads per visitor and address, this process
    address_book: AddressBook = field(default_factory=AddressBook, repr=False)  # visitor keys per address
    _image_store: ImageStore | None = field(default=None, repr=False)
    _store_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def image_store(self) -> ImageStore:
        """Where image bytes live (the data dir, or the FACESWAP_STORAGE_URL bucket), built on first use."""
        with self._store_lock:
            if self._image_store is None:
                self._image_store = ImageStore(open_objects(self.settings))
            return self._image_store

    def engine_decision(self) -> EngineDecision:
        from pipeline.engines import resolve_engine

        if self.model_manifest is None:
            return resolve_engine(self.settings.engine, self.settings.models_dir)
        return resolve_engine(self.settings.engine, self.settings.models_dir, self.model_manifest)

    def face_engine(self) -> FaceEngine:
        """The face engine, built and warmed once per process on first use."""
        with self._engine_lock:
            if self._face_engine is None:
                engine = self._create_engine()
                engine.warmup()
                self._face_engine = engine
            return self._face_engine

    def reload_face_engine(self) -> FaceEngine:
        """Build and warm the engine the settings pick now (e.g. insightface once its files verify),
        then switch to it; calls already running keep the engine they hold."""
        engine = self._create_engine()
        engine.warmup()
        with self._engine_lock:
            self._face_engine = engine
        return engine

    def _create_engine(self) -> FaceEngine:
        from pipeline.engines import create_engine

        name = self.engine_decision().name
        if self.model_manifest is None:
            return create_engine(name, self.settings.models_dir)
        return create_engine(name, self.settings.models_dir, self.model_manifest)

    def loaded_face_engine(self) -> FaceEngine | None:
        """The face engine if it is already built and warmed; never builds it."""
        return self._face_engine

    def face_enhancer(self) -> FaceEnhancer:
        """The face enhancer, built once per process; its model loads on the first enhanced face."""
        from pipeline.enhance.enhancer import FaceEnhancer

        with self._enhancer_lock:  # not the engine's lock: building this never waits for an engine warmup
            if self._face_enhancer is None:
                kwargs = {} if self.enhancer_manifest is None else {"manifest": self.enhancer_manifest}
                self._face_enhancer = FaceEnhancer(self.settings.models_dir, **kwargs)
            return self._face_enhancer

    def use_face_engine(self, engine: FaceEngine) -> None:
        """Inject an already built engine (tests, bench)."""
        self._face_engine = engine

    def dispose(self) -> None:
        self.db_engine.dispose()


def json_column(text: str | bytes) -> Any:
    """A JSON column's value: orjson (about six times faster than the json module on the 25 KB of
    face points a batch and a template carry, read by every task); what orjson refuses and json
    reads (NaN, integers past 64 bits) goes to json."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def build_context(settings: Settings) -> AppContext:
    settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
    db_engine = make_engine(settings.sqlalchemy_url, json_deserializer=json_column)
    return AppContext(settings=settings, db_engine=db_engine, sessions=make_session_factory(db_engine))
