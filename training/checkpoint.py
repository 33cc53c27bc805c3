"""Run-folder I/O for the trainer: atomic checkpoints, RNG state, metrics.csv, TensorBoard.

A checkpoint is a dict of tensors, numbers, strings, lists and dicts written by
torch.save to a temporary file, fsynced and renamed over RUN/last.pt (or best.pt), so
a killed run leaves the previous checkpoint whole. It is read back with
torch.load(weights_only=True): no pickled code is ever run.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import torch

FORMAT = 1
LAST = "last.pt"
BEST = "best.pt"
METRICS = "metrics.csv"
METRICS_HEADER = ["step", "samples", "split", "loss", "top1", "top5", "lr", "elapsed_s"]


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the message names the file and the problem."""


def save(path: Path, state: dict) -> None:
    """Write `state` to `path` atomically (temporary file, fsync, rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load(path: Path) -> dict:
    """Return the checkpoint dict at `path`; raises CheckpointError if missing, damaged or foreign."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no checkpoint")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for damaged or unsafe files
        raise CheckpointError(f"{path}: cannot load checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a gopolicy checkpoint of format {FORMAT}")
    return state


def get_rng_state() -> dict:
    """Return the torch (and CUDA) random generator states as tensors."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore generator states saved by get_rng_state()."""
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def truncate_metrics(path: Path, step: int) -> None:
    """Drop metrics rows logged after `step` (a killed run may have logged past its checkpoint)."""
    path = Path(path)
    if not path.exists():
        return
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, METRICS_HEADER)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


class RunLog:
    """config.json, metrics.csv rows, TensorBoard scalars and the progress bar (rank 0 only)."""

    def __init__(self, out: Path, cfg, net_config, lead: bool):
        self.lead, self.writer, self.csv = lead, None, None
        self.progress_enabled = cfg.progress
        if not lead:
            return
        out.mkdir(parents=True, exist_ok=True)
        config = {"train": asdict(cfg), "network": net_config.to_dict()}
        (out / "config.json").write_text(json.dumps(config, indent=1, sort_keys=True) + "\n")
        path = out / METRICS
        new = not path.exists()
        self.csv = open(path, "a", newline="")
        self._rows = csv.writer(self.csv)
        if new:
            self._rows.writerow(METRICS_HEADER)
        if cfg.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                print("gopolicy train: tensorboard is not installed; metrics go to metrics.csv only "
                      "(pip install tensorboard)", file=sys.stderr)
            else:
                self.writer = SummaryWriter(str(out / "tensorboard"))

    def row(self, step, samples, split, loss, top1, top5, lr, elapsed) -> None:
        """Append one metrics row (flushed at once) and its TensorBoard scalars."""
        if not self.lead:
            return
        self._rows.writerow([step, samples, split, f"{loss:.6f}", f"{top1:.6f}", f"{top5:.6f}",
                             f"{lr:.8g}", f"{elapsed:.3f}"])
        self.csv.flush()
        if self.writer:
            for name, value in (("loss", loss), ("top1", top1), ("top5", top5)):
                self.writer.add_scalar(f"{split}/{name}", value, step)
            if split == "train":
                self.writer.add_scalar("lr", lr, step)

    def progress(self, total, initial):
        """Return a tqdm bar over steps (disabled off rank 0 or with --quiet)."""
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True,
                    disable=not (self.lead and self.progress_enabled))

    def postfix(self, bar, **values) -> None:
        bar.set_postfix(values, refresh=False)

    def advance(self, bar) -> None:
        bar.update(1)

    def close(self) -> None:
        if self.csv:
            self.csv.close()
        if self.writer:
            self.writer.close()
