"""`templates add FILE... [--name N] [--json]`, `templates crawl URL ...`; list/remove/rename/reprocess
live in app.cli.template_admin."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli import EXIT_FAILED, EXIT_OK
from app.cli import template_admin
from app.cli.common import app_context, print_json
from app.config import Settings


def register(sub: Any) -> None:
    parser = sub.add_parser("templates", help="template gallery")
    actions = parser.add_subparsers(dest="templates_command", required=True)
    add = actions.add_parser("add", help="store images as permanent templates and preprocess them")
    add.add_argument("files", nargs="+", metavar="FILE")
    add.add_argument("--name", help="template name (numbered when several files)")
    add.add_argument("--json", action="store_true", help="print JSON")
    add.set_defaults(handler=add_templates)
    crawl = actions.add_parser("crawl", help="import the images of a web page or image URL as templates")
    crawl.add_argument("url")
    crawl.add_argument("--max-images", type=int, default=20)
    crawl.add_argument("--allow-private", action="store_true", help="allow private/loopback addresses")
    crawl.add_argument("--json", action="store_true")
    crawl.set_defaults(handler=crawl_templates)
    template_admin.register_actions(actions)


def add_templates(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.templates import add_template_files

    with app_context(settings) as ctx:
        summaries = add_template_files(ctx, list(args.files), name=args.name)
    if args.json:
        print_json({"templates": [s.to_json() for s in summaries]})
    else:
        for s in summaries:
            counts = f"{len(s.faces)} faces ({s.male_face_count} male, {s.female_face_count} female)"
            extra = " [duplicate]" if s.duplicate else ""
            print(f"template {s.id} {s.name!r}: {s.status}, {counts}{extra}" + (f": {s.error}" if s.error else ""))
    return EXIT_OK if all(s.status == "completed" for s in summaries) else EXIT_FAILED


def crawl_templates(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.crawl import run_crawl

    with app_context(settings) as ctx:
        report = run_crawl(ctx, args.url, allow_private=args.allow_private, max_images=args.max_images)
    if args.json:
        print_json(report.to_json())
    else:
        print(
            f"crawl {report.status}: found {report.found}, imported {report.imported}, "
            f"duplicates {report.duplicates}, rejected {report.rejected}"
        )
    return EXIT_OK if report.status == "completed" else EXIT_FAILED
