"""The scaling plot of BENCHMARKS.md, drawn from the bench JSON with matplotlib's Agg backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SERIES = (
    ("task_seconds", "task (service path, default mapping)", "o-"),
    ("preprocess_seconds", "preprocess (engine.detect)", "s--"),
    ("swap_all_faces_seconds", "swap every face (engine.swap)", "^:"),
)


def plot_scaling(data: dict[str, Any], path: Path) -> Path:
    """Three panels: seconds vs faces, seconds vs megapixels, templates/s vs workers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweeps = data["sweeps"]
    figure, (by_faces, by_size, by_workers) = plt.subplots(1, 3, figsize=(15, 4.6))
    _seconds_panel(by_faces, sweeps["faces"], "faces", "faces in the template (t1.jpg, others painted over)")
    _seconds_panel(by_size, sweeps["size"], "megapixels", "template size in megapixels (t1.jpg resized, 6 faces)")
    machine = data.get("machine", {})
    _workers_panel(by_workers, sweeps["workers"], cores=int(machine.get("cores_usable") or 1))
    figure.suptitle(
        f"CoSwap bench, engine {data.get('engine')} on {data.get('provider')}; "
        f"{machine.get('cpu', '?')}, {machine.get('cores_usable', '?')} cores; {machine.get('date', '')[:10]}. "
        "Medians, bars = min..max",
        fontsize=10,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _seconds_panel(axes: Any, rows: list[dict[str, Any]], x_key: str, label: str) -> None:
    xs = [row[x_key] for row in rows]
    for key, name, style in SERIES:
        medians = [row[key]["median"] for row in rows]
        below = [row[key]["median"] - row[key]["min"] for row in rows]
        above = [row[key]["max"] - row[key]["median"] for row in rows]
        axes.errorbar(xs, medians, yerr=[below, above], fmt=style, capsize=3, label=name)
    axes.set_xlabel(label)
    axes.set_ylabel("seconds per template")
    axes.set_xticks(xs)
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)


def _workers_panel(axes: Any, rows: list[dict[str, Any]], *, cores: int) -> None:
    workers = [row["workers"] for row in rows]
    medians = [row["median"] for row in rows]
    below = [row["median"] - row["min"] for row in rows]
    above = [row["max"] - row["median"] for row in rows]
    axes.errorbar(workers, medians, yerr=[below, above], fmt="o-", capsize=3, label="measured (median)")
    if rows:
        base = medians[0] / workers[0]
        axes.plot(workers, [base * min(w, cores) for w in workers], "k:", alpha=0.5, label=f"ideal on {cores} cores")
        machine = rows[0].get("machine_2_process_speedup")
        if machine is not None:
            ceiling = base * machine
            axes.plot(
                [w for w in workers if w >= 2],
                [ceiling for w in workers if w >= 2],
                "r--",
                alpha=0.6,
                label=f"1 worker × the machine's own 2-process speedup ({machine:.2f}×)",
            )
    templates = rows[0]["templates"] if rows else "?"
    axes.set_xlabel(f"worker processes (one batch of {templates} 2-face templates)")
    axes.set_ylabel("templates per second")
    axes.set_xticks(workers)
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
