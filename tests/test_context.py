"""The per-process context: JSON columns read back exactly as the json module reads them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from sqlalchemy import JSON, literal, select

from app.context import build_context, json_column
from tests.conftest import make_settings

FACES = {"husband": {"mesh": [[0.1 * i, 2.5, -1.0] for i in range(478)], "age": 31}}


def test_json_columns_read_what_json_reads_including_what_orjson_refuses() -> None:
    assert json_column(json.dumps(FACES)) == FACES
    assert json_column(b"[18446744073709551616]") == [2**64]  # past 64 bits: json's answer
    assert math.isnan(json_column('{"score": NaN}')["score"])  # written by json.dumps on SQLite, read by json


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_contexts_database_decodes_json_with_it(database: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    overrides = {"DATABASE_URL": request.getfixturevalue("postgres_url")} if database == "postgresql" else {}
    ctx = build_context(make_settings(tmp_path / "data", **overrides))
    try:
        assert ctx.db_engine.dialect._json_deserializer is json_column  # what create_engine was given
        with ctx.db_engine.connect() as connection:
            value = connection.execute(select(literal(FACES, JSON))).scalar_one()  # stored, then read as a column
        assert value == FACES
    finally:
        ctx.dispose()
