"""`visitors list [--older-than HOURS] [--json]` and `visitors purge --older-than HOURS [--json]`."""

from __future__ import annotations

import argparse
import math
from typing import Any

from app.cli import EXIT_OK
from app.cli.common import app_context, print_json
from app.config import Settings

MAX_HOURS = 24 * 365 * 100


def register(sub: Any) -> None:
    parser = sub.add_parser("visitors", help="what visitors stored, by age; remove it")
    actions = parser.add_subparsers(dest="visitors_command", required=True)
    listing = actions.add_parser("list", help="each visitor's photos, templates, results and bytes, oldest first")
    listing.add_argument("--older-than", type=hours, metavar="HOURS", help="only visitors idle for longer")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=list_command)
    purge = actions.add_parser("purge", help="remove visitors idle for longer than HOURS, and old orphan files")
    purge.add_argument("--older-than", type=hours, metavar="HOURS", required=True)
    purge.add_argument("--json", action="store_true")
    purge.set_defaults(handler=purge_command)


def hours(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of hours: {value[:40]!r}") from None
    if not math.isfinite(number) or not 0 <= number <= MAX_HOURS:
        raise argparse.ArgumentTypeError(f"hours must be between 0 and {MAX_HOURS}")
    return number


def list_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.visitor_data import list_visitors

    with app_context(settings) as ctx:
        listing = list_visitors(ctx, older_than_hours=args.older_than)
    if args.json:
        print_json(listing.to_json())
        return EXIT_OK
    for owner in listing.owners:
        print(
            f"{owner.owner[:12]:<12}  idle {owner.age_hours(listing.now):7.1f} h  {owner.photos} photos, "
            f"{owner.templates} templates, {owner.results} results, {owner.batches} batches, "
            f"{owner.permanent} permanent, {owner.bytes / 1e6:.1f} MB"
        )
    print(
        f"{len(listing.owners)} visitors, {listing.total_bytes / 1e6:.1f} MB; "
        f"{len(listing.orphans.files)} orphan files, {listing.orphans.bytes / 1e6:.1f} MB"
    )
    return EXIT_OK


def purge_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.visitor_data import purge_visitors

    with app_context(settings) as ctx:
        report = purge_visitors(ctx, older_than_hours=args.older_than)
    if args.json:
        print_json(report.to_json())
    else:
        print(f"visitors purge: {report.summary()}")
    return EXIT_OK
