"""`templates list [--json] | remove ID... | rename ID NAME | reprocess [ID...]` (the operator's view:
shared and private templates alike)."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli import EXIT_FAILED, EXIT_OK
from app.cli.common import app_context, print_json
from app.config import Settings


def template_id(text: str) -> int:
    """A template id on the command line: a whole number, else a one-line usage error (exit 2)."""
    clean = text.strip()
    if not (clean.isascii() and clean.isdigit()) or len(clean) > 9 or int(clean) == 0:
        raise argparse.ArgumentTypeError(f"template ids are whole numbers, got {text[:20]!r}")
    return int(clean)


def register_actions(actions: Any) -> None:
    listing = actions.add_parser("list", help="every template, shared and private, with its faces")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_command)
    remove = actions.add_parser("remove", help="remove templates: rows, image, mask, preprocessing")
    remove.add_argument("ids", nargs="+", type=template_id, metavar="ID")
    remove.set_defaults(handler=remove_command)
    rename = actions.add_parser("rename", help="rename one template")
    rename.add_argument("id", type=template_id, metavar="ID")
    rename.add_argument("name", metavar="NAME")
    rename.set_defaults(handler=rename_command)
    reprocess = actions.add_parser("reprocess", help="preprocess again (all when no ID), keeping ids and names")
    reprocess.add_argument("ids", nargs="*", type=template_id, metavar="ID")
    reprocess.add_argument("--json", action="store_true", help="print JSON")
    reprocess.set_defaults(handler=reprocess_command)


def list_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.templates import EVERYONE, list_templates

    with app_context(settings) as ctx:
        summaries = list_templates(ctx, viewer=EVERYONE)
    if args.json:
        print_json({"templates": [s.to_json() for s in summaries]})
        return EXIT_OK
    if not summaries:
        print("no templates yet: python app.py templates add FILE...")
    for s in summaries:
        scope = "private" if s.private else "shared"
        faces = f"{len(s.faces)} faces ({s.male_face_count} male, {s.female_face_count} female)"
        print(f"{s.id:>5}  {s.name!r}  {scope}  {s.status}  {faces}" + (f"  {s.error}" if s.error else ""))
    return EXIT_OK


def remove_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.template_admin import remove_templates

    with app_context(settings) as ctx:
        removed = remove_templates(ctx, args.ids)
    for r in removed:
        kept = f"; {r.results_kept} results made from it stay" if r.results_kept else ""
        print(f"removed template {r.template_id} {r.name!r} ({r.files_removed} files){kept}")
    return EXIT_OK


def rename_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.template_admin import rename_template

    with app_context(settings) as ctx:
        summary = rename_template(ctx, args.id, args.name)
    print(f"template {summary.id} is now {summary.name!r}")
    return EXIT_OK


def reprocess_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.template_admin import reprocess_templates

    with app_context(settings) as ctx:
        outcomes = reprocess_templates(ctx, args.ids or None)
    if args.json:
        print_json(
            {
                "templates": [
                    {**(s.to_json() if s else {"id": template_id}), "kept_as_it_was": reason}
                    for template_id, s, reason in outcomes
                ]
            }
        )
    else:
        for template_id, s, reason in outcomes:
            if s is None:
                print(f"template {template_id}: {reason}")
            else:
                print(f"template {s.id} {s.name!r}: {s.status}, {len(s.faces)} faces")
    if any(reason for _, _, reason in outcomes):
        return EXIT_FAILED
    return EXIT_OK if all(s is not None and s.status == "completed" for _, s, _ in outcomes) else EXIT_FAILED


