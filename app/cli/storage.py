"""`storage migrate [--from DIR] [--keep-local] [--json]` and `storage check [--json]`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.cli import EXIT_OK
from app.cli.common import app_context, print_json
from app.config import Settings


def register(sub: Any) -> None:
    parser = sub.add_parser("storage", help="where images live: move a data dir into the bucket, check it")
    actions = parser.add_subparsers(dest="storage_command", required=True)
    migrate = actions.add_parser("migrate", help="move the data dir's images into FACESWAP_STORAGE_URL (rerun: no-op)")
    migrate.add_argument("--from", dest="source", type=Path, metavar="DIR",
                         help="the images folder to move (default: <data dir>/images)")
    migrate.add_argument("--keep-local", action="store_true", help="upload, but leave the local files in place")
    migrate.add_argument("--json", action="store_true")
    migrate.set_defaults(handler=migrate_command)
    check = actions.add_parser("check", help="write, read and delete one probe object in the image store")
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=check_command)


def migrate_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.storage_migration import migrate_to_bucket

    with app_context(settings) as ctx:
        report = migrate_to_bucket(ctx, args.source, keep_local=args.keep_local)
    if args.json:
        print_json(report.to_json())
    else:
        print(f"storage migrate: {report.summary()}")
    return EXIT_OK


def check_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.storage_migration import check_store

    with app_context(settings, migrate_embedded=False) as ctx:
        result = check_store(ctx)
    if args.json:
        print_json(result)
    else:
        print(f"storage check: {result['store']} answers (round trip {result['round_trip_ms']} ms)")
    return EXIT_OK
