"""Training-pipeline figures for `gopolicy bench`.

    pipeline_samples_per_s   shards -> shuffled, symmetry-augmented float batches of 256, the
                             trainer's input path (background prefetch thread included), on
                             synthetic shards of 8192 positions
    prepare_positions_per_s  `gopolicy prepare` on the first real KGS games with all cores:
                             SGF read, replay, 48-plane encoding, packing, shard writes and the
                             worker start-up, per wall-clock second

Run alone: python -m gopolicy.benchmarks.pipeline_bench
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

KGS_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "kgs"
KGS_POSITIONS = 7_000_000  # the shared KGS set, roughly (34,935 games)


def pipeline_samples_per_s(folder: Path, seconds: float = 3.0, batch_size: int = 256) -> float:
    """Return samples/s of the training input pipeline over synthetic shards written to `folder`."""
    from gopolicy.training import shards as sh
    from gopolicy.training.dataset import Batches, ShardDataset

    rng = np.random.default_rng(0)
    n = 8192
    bits = (rng.random((n, 48, 19, 19)) < 0.12).astype(np.uint8)
    arrays = (sh.pack_planes(bits), rng.integers(0, 361, n), np.arange(n) // 200, np.arange(n) % 200)
    sh.write_folder(folder, {"train": arrays}, feature_version=0, per_shard=2048)
    stream = iter(Batches(ShardDataset(folder, "train"), batch_size, seed=1))
    next(stream)  # warm up: first epoch plan, page cache
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, moves = next(stream)
        count += len(moves)
    return count / (time.perf_counter() - start)


def prepare_positions_per_s(folder: Path, games: int = 150) -> tuple[float | None, int]:
    """Return (positions/s, workers) of prepare on the first `games` KGS games; None without KGS."""
    from gopolicy.training.prepare import PrepareOptions, prepare

    archives = sorted(KGS_DIR.glob("*.tar.gz")) if KGS_DIR.exists() else []
    if not archives:
        return None, 0
    workers = os.cpu_count() or 1
    start = time.perf_counter()
    manifest = prepare([archives[0]], folder, PrepareOptions(games_per_shard=max(1, games // (2 * workers))),
                       limit=games, workers=workers, progress=False)
    return manifest["positions"]["total"] / (time.perf_counter() - start), workers


def measure() -> dict:
    """Return {"pipeline_samples_per_s", "prepare_positions_per_s", ...} measured now."""
    with tempfile.TemporaryDirectory() as tmp:
        pipeline = pipeline_samples_per_s(Path(tmp) / "synthetic")
        prepare_rate, workers = prepare_positions_per_s(Path(tmp) / "kgs")
    result = {"pipeline_samples_per_s": round(pipeline, 1),
              "prepare_positions_per_s": round(prepare_rate, 1) if prepare_rate else None,
              "prepare_workers": workers}
    if prepare_rate:
        result["prepare_kgs_minutes_estimate"] = round(KGS_POSITIONS / prepare_rate / 60, 1)
    return result


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
