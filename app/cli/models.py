"""`models status | download`: which engine can run, whether faces can be enhanced, and fetching the
insightface and face enhancer files (each sha256-checked)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.cli import EXIT_FAILED, EXIT_OK
from app.cli.common import print_json
from app.config import Settings
from app.errors import one_line


def register(sub: Any) -> None:
    parser = sub.add_parser("models", help="face engine and face enhancer model files")
    actions = parser.add_subparsers(dest="models_command", required=True)
    status = actions.add_parser("status", help="which engine will run, whether faces can be enhanced, and why")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=models_status)
    download = actions.add_parser("download", help="fetch and verify the insightface and face enhancer files")
    download.set_defaults(handler=models_download)


def models_status(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline.enhance.enhancer import unavailable_reason
    from pipeline.engines import resolve_engine
    from pipeline.model_download import check_model_files

    decision = resolve_engine(settings.engine, settings.models_dir)
    files = [(m.label, f) for m in _manifests() for f in check_model_files(settings.models_dir, m)]
    enhancer_problem = unavailable_reason(settings.models_dir)
    if args.json:
        print_json(
            {
                "engine": decision.name,
                "reason": decision.reason,
                "enhancer": {"available": enhancer_problem is None, "reason": enhancer_problem},
                "models_dir": str(settings.models_dir),
                "files": [{"name": f.file.name, "for": label, "state": f.state} for label, f in files],
            }
        )
        return EXIT_OK
    print(f"engine: {decision.name} ({decision.reason})")
    print(f"face enhancer: {'available' if enhancer_problem is None else enhancer_problem}")
    for label, f in files:
        print(f"  {label}: {f.describe()}")
    return EXIT_OK


def models_download(settings: Settings, _args: argparse.Namespace) -> int:
    """Every manifest in turn; one that cannot be had is named and the others are still fetched."""
    from pipeline.errors import ModelUnavailable
    from pipeline.model_download import check_model_files, download_models

    settings.models_dir.mkdir(parents=True, exist_ok=True)
    failed = False
    for manifest in _manifests():
        try:
            download_models(
                settings.models_dir, manifest, progress=sys.stderr.isatty(), base_url_override=settings.models_base_url
            )
        except ModelUnavailable as exc:
            print(f"{manifest.label}: {one_line(exc)}", file=sys.stderr)
            failed = True
            continue
        bad = [f for f in check_model_files(settings.models_dir, manifest) if not f.ok]
        for f in bad:
            print(f"{manifest.label}: {f.describe()}", file=sys.stderr)
        failed = failed or bool(bad)
    if not failed:
        print(f"all model files verified in {settings.models_dir}")
    return EXIT_FAILED if failed else EXIT_OK


def _manifests() -> list[Any]:
    from pipeline.enhance.model_files import ENHANCER_MANIFEST
    from pipeline.insight.model_files import INSIGHTFACE_MANIFEST

    return [INSIGHTFACE_MANIFEST, ENHANCER_MANIFEST]
