"""`python app.py COMMAND`: the stable command line of the design."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from app.config import Settings, load_settings
from app.errors import one_line

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2

log = logging.getLogger("coswap")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but usage errors are one line on stderr and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_REFUSED, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from app.cli import batch, bench, db_commands, maintenance, models, serve, storage, swap, templates, visitors

    parser = OneLineParser(prog="app.py", description="CoSwap: couple face swap into template images.")
    sub = parser.add_subparsers(dest="command", parser_class=OneLineParser)
    for module in (serve, db_commands, templates, swap, batch, maintenance, visitors, storage, models, bench):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0].startswith("--"):
        args_list = ["serve", *args_list]
    logging.basicConfig(
        level=os.environ.get("COSWAP_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("alembic", "httpx", "urllib3", "huey.consumer.Scheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    parser = build_parser()
    args = parser.parse_args(args_list)
    handler: Callable[[Settings, argparse.Namespace], int] = args.handler
    try:
        settings = load_settings()
    except Exception as exc:  # pydantic ValidationError: bad environment
        return refuse(f"invalid settings: {first_line(exc)}")
    return run_guarded(handler, settings, args)


def run_guarded(
    handler: Callable[[Settings, argparse.Namespace], int], settings: Settings, args: argparse.Namespace
) -> int:
    from app.errors import ServiceError
    from db.migrate import MigrationRefused
    from pipeline.errors import PipelineError

    try:
        return handler(settings, args)
    except (ServiceError, PipelineError, MigrationRefused) as exc:
        return refuse(first_line(exc))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get("COSWAP_DEBUG"):
            raise
        log.debug("unexpected error", exc_info=True)
        print(f"error: {type(exc).__name__}: {first_line(exc)} (set COSWAP_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_FAILED


def refuse(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_REFUSED


first_line = one_line  # the CLI's name for it
