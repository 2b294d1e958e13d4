"""The GPU build's check, for a host with onnxruntime-gpu (`make venv GPU=1`): which provider each model
session runs on, and the engine line, on the tiny insightface models and the GFPGAN stand-in (no weights
needed, nothing fetched). Prints one JSON object; exits 1 when CUDA is offered but a session is not on it.

    .venv/bin/python tools/gpu_check.py [--runs N]

On a CPU-only host it reports CPU everywhere (the fallback) and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import onnxruntime  # noqa: E402

from app.bench.enhance import enhance_seconds_per_face  # noqa: E402
from pipeline.engines import describe_engine  # noqa: E402
from pipeline.insight.engine import InsightFaceEngine  # noqa: E402
from pipeline.providers import CUDA  # noqa: E402
from tests.pipeline.tiny_models import write_tiny_models  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    available = onnxruntime.get_available_providers()
    with tempfile.TemporaryDirectory(prefix="coswap-gpu-check-") as folder:
        manifest = write_tiny_models(Path(folder))
        engine = InsightFaceEngine(Path(folder), manifest=manifest)  # providers chosen as in production
        engine.warmup()
        enhance = enhance_seconds_per_face(engine, args.runs)
    report = {
        "onnxruntime": onnxruntime.__version__,
        "device": onnxruntime.get_device(),
        "available_providers": available,
        "engine_line": describe_engine(engine),
        "enhancer_provider": enhance["provider"],
        "enhance_seconds_per_face": enhance,
    }
    print(json.dumps(report, indent=2))
    on_cuda = engine.provider == CUDA and enhance["provider"] == "CUDA"
    return 1 if CUDA in available and not on_cuda else 0


if __name__ == "__main__":
    raise SystemExit(main())
