"""Per-task time outside the swap on a 2 MP template: claim, read the template, store the result, commit.

`python -m app.bench.overhead [--tasks 20] [--storage local|s3|both] [--json]` runs single-template
tasks in this process (a scratch workspace, the classic engine) into a 2 MP 2-face template and
reports the median task time, swap time and their difference, plus the template decode and the
result encode timed alone. `--storage s3` keeps the images in a throwaway SeaweedFS bucket.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from app.bench.images import resized_to, t1_pixels, with_faces
from app.config import Settings, load_settings

MEGAPIXELS = 2.0


def measure(tasks: int, storage: str) -> dict[str, Any]:
    from app.bench import workspace as bench_workspace
    from app.bench.seaweed import SeaweedS3
    from db.models import Image, Template
    from app.storage import encode_result

    base = load_settings()
    with ExitStack() as stack:
        if storage == "s3":
            server = stack.enter_context(SeaweedS3(Path(stack.enter_context(tempfile.TemporaryDirectory()))))
            env = server.environment("coswap-bench", f"overhead-{int(time.time())}")
            base = _with_s3(base, env)
            original = bench_workspace.bench_settings
            stack.callback(setattr, bench_workspace, "bench_settings", original)
            bench_workspace.bench_settings = lambda b, d: _with_s3(original(b, d), env)  # type: ignore[assignment]
        ws = stack.enter_context(bench_workspace.open_workspace(base))
        template = resized_to(with_faces(t1_pixels(), 2), MEGAPIXELS)
        template_id = ws.add_template(template, "overhead 2 MP")
        totals, swaps, decodes, encodes = [], [], [], []
        for number in range(tasks + 2):  # two warm-up tasks
            outcome = ws.run_task(template_id)
            with ws.ctx.sessions() as session:
                key = session.get_one(Image, session.get_one(Template, template_id).original_image_id).path
            started = time.perf_counter()
            pixels = ws.ctx.image_store.read_key(key)
            decoded = time.perf_counter() - started
            started = time.perf_counter()
            encode_result(pixels)
            encoded = time.perf_counter() - started
            if number >= 2:
                totals.append(outcome.total_seconds)
                swaps.append(outcome.swap_seconds)
                decodes.append(decoded)
                encodes.append(encoded)
        outside = [t - s for t, s in zip(totals, swaps, strict=True)]
        height, width = template.shape[:2]
        return {
            "storage": storage,
            "template": f"{width}x{height}",
            "tasks": tasks,
            "task_ms": _ms(totals),
            "swap_ms": _ms(swaps),
            "outside_swap_ms": _ms(outside),
            "template_decode_ms": _ms(decodes),
            "result_encode_ms": _ms(encodes),
        }


def _with_s3(settings: Settings, env: dict[str, str]) -> Settings:
    return settings.model_copy(update={
        "storage_url": env["FACESWAP_STORAGE_URL"],
        "aws_endpoint_url": env["AWS_ENDPOINT_URL"],
        "aws_region": env["AWS_REGION"],
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
    })


def _ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1) if values else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.bench.overhead", description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--storage", choices=("local", "s3", "both"), default="both")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    kinds = ["local", "s3"] if args.storage == "both" else [args.storage]
    figures = [measure(args.tasks, kind) for kind in kinds]
    if args.json:
        json.dump({"runs": figures}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for f in figures:
            print(
                f"{f['storage']:5} {f['template']}: task {f['task_ms']} ms, swap {f['swap_ms']} ms, outside the swap "
                f"{f['outside_swap_ms']} ms (template decode {f['template_decode_ms']} ms, result encode "
                f"{f['result_encode_ms']} ms)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
