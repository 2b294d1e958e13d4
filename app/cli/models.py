"""`models status | download`: which engine can run, and fetching the insightface files."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.cli import EXIT_FAILED, EXIT_OK
from app.cli.common import print_json
from app.config import Settings


def register(sub: Any) -> None:
    parser = sub.add_parser("models", help="face engine model files")
    actions = parser.add_subparsers(dest="models_command", required=True)
    status = actions.add_parser("status", help="which engine will run, and why")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=models_status)
    download = actions.add_parser("download", help="fetch and verify the insightface model files")
    download.set_defaults(handler=models_download)


def models_status(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline.engines import resolve_engine
    from pipeline.model_files import check_model_files

    decision = resolve_engine(settings.engine, settings.models_dir)
    files = check_model_files(settings.models_dir)
    if args.json:
        print_json(
            {
                "engine": decision.name,
                "reason": decision.reason,
                "models_dir": str(settings.models_dir),
                "files": [{"name": f.file.name, "state": f.state} for f in files],
            }
        )
        return EXIT_OK
    print(f"engine: {decision.name} ({decision.reason})")
    for f in files:
        print(f"  {f.describe()}")
    return EXIT_OK


def models_download(settings: Settings, _args: argparse.Namespace) -> int:
    from pipeline.model_files import check_model_files, download_models

    settings.models_dir.mkdir(parents=True, exist_ok=True)
    download_models(settings.models_dir, progress=sys.stderr.isatty())
    bad = [f for f in check_model_files(settings.models_dir) if not f.ok]
    for f in bad:
        print(f.describe(), file=sys.stderr)
    if not bad:
        print(f"all model files verified in {settings.models_dir}")
    return EXIT_OK if not bad else EXIT_FAILED
