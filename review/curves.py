"""`gopolicy plot RUN -o curves.png`: the training curves of a run from RUN/metrics.csv.

metrics.csv (written by training/trainer.py) has the header
`step,samples,split,loss,top1,top5,lr,elapsed_s` with split "train" or "val". Three
panels share the x axis (samples seen): loss, top-1 and top-5 accuracy, each with the
train and the validation curve. Train rows are noisy, so they are drawn faint with a
smoothed line over them; validation rows are drawn with markers.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import numpy as np

from gopolicy.review.game_policy import ReviewError, check_output, run_guarded

COLUMNS = ("step", "samples", "split", "loss", "top1", "top5", "lr", "elapsed_s")
NEEDED = ("samples", "split", "loss", "top1", "top5")
PANELS = (("loss", "loss (cross-entropy)"), ("top1", "top-1 accuracy"), ("top5", "top-5 accuracy"))
SPLIT_STYLE = {"train": ("#3b528b", "train"), "val": ("#e8175d", "validation")}


def metrics_path(run: str | Path) -> Path:
    """Return the metrics.csv of `run` (a run folder or the CSV itself); raises ReviewError if absent."""
    run = Path(run)
    path = run / "metrics.csv" if run.is_dir() else run
    if not path.is_file():
        raise ReviewError(f"{path}: no such file (expected a training run folder with metrics.csv)")
    return path


def _number(text: str, where: str) -> float:
    """Return float(text), NaN for an empty cell; raises ReviewError naming `where`."""
    if text is None or text.strip() == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise ReviewError(f"{where}: not a number: {text!r}") from None


def load_metrics(run: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """Return {split: {column: float array}} from RUN/metrics.csv, rows sorted by samples.

    Raises ReviewError on a missing file, missing columns or a non-numeric cell.
    """
    path = metrics_path(run)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in NEEDED if c not in (reader.fieldnames or [])]
        if missing:
            raise ReviewError(f"{path}: missing column(s) {', '.join(missing)}; "
                              f"expected header {','.join(COLUMNS)}")
        rows: dict[str, list[list[float]]] = {}
        for line, row in enumerate(reader, start=2):
            split = (row["split"] or "").strip()
            values = [_number(row.get(c), f"{path}:{line}") for c in NEEDED if c != "split"]
            rows.setdefault(split, []).append(values)
    if not rows:
        raise ReviewError(f"{path}: no rows yet")
    names = [c for c in NEEDED if c != "split"]
    result = {}
    for split, table in rows.items():
        array = np.array(table, dtype=np.float64)
        array = array[np.argsort(array[:, 0], kind="stable")]
        result[split] = {name: array[:, i] for i, name in enumerate(names)}
    return result


def smooth(values: np.ndarray, weight: float = 0.9) -> np.ndarray:
    """Return the bias-corrected exponential moving average of `values` (NaNs carried over)."""
    out = np.empty_like(values)
    mean, norm = 0.0, 0.0
    for i, v in enumerate(values):
        if not math.isnan(v):
            mean = weight * mean + (1 - weight) * v
            norm = weight * norm + (1 - weight)
        out[i] = mean / norm if norm else math.nan
    return out


def plot_curves(metrics: dict[str, dict[str, np.ndarray]], title: str = ""):
    """Return a matplotlib Figure with the loss, top-1 and top-5 panels of `metrics`."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter, PercentFormatter

    fig = Figure(figsize=(8, 9), dpi=100, layout="constrained")
    axes = fig.subplots(len(PANELS), 1, sharex=True)
    for ax, (column, label) in zip(axes, PANELS):
        for split, data in metrics.items():
            colour, name = SPLIT_STYLE.get(split, ("#5ec962", split))
            x, y = data["samples"], data[column]
            if split == "train" and len(x) > 20:
                ax.plot(x, y, color=colour, alpha=0.25, lw=0.8)
                ax.plot(x, smooth(y), color=colour, lw=1.6, label=f"{name} (smoothed)")
            else:
                ax.plot(x, y, color=colour, lw=1.6, marker="o" if split == "val" else None,
                        markersize=3, label=name)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        if column != "loss":
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
        ax.legend(loc="best", fontsize=8)
    axes[-1].set_xlabel("samples seen")
    axes[-1].xaxis.set_major_formatter(EngFormatter())
    if title:
        fig.suptitle(title)
    return fig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the plot options to `parser`."""
    parser.add_argument("run", metavar="RUN", help="training run folder (holding metrics.csv) or the CSV")
    parser.add_argument("-o", "--output", metavar="OUT", required=True,
                        help="the picture to write (.png, .svg or .pdf)")


def run(args) -> int:
    """Plot the curves of RUN; return the exit status (1 with a one-line error)."""
    def body() -> int:
        out = check_output(args.output, (".png", ".svg", ".pdf"))
        metrics = load_metrics(args.run)
        fig = plot_curves(metrics, title=f"Training run {Path(args.run).resolve().name}")
        fig.savefig(out, format=out.suffix[1:].lower())
        print(f"wrote {out}", file=sys.stderr)
        return 0

    return run_guarded("plot", body)
