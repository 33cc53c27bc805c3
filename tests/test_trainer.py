"""Trainer: metrics and checkpoints, exact resume (also after SIGKILL), DDP under torchrun, export."""

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from gopolicy.training import checkpoint as ck
from gopolicy.training import shards as sh
from gopolicy.training.trainer import TrainConfig, Trainer, learning_rate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def learnable(folder, n_train=512, n_val=64, seed=0):
    """Random boards where the move is the point marked on plane 44: a pattern a tiny net learns."""
    from gopolicy.features import FEATURE_VERSION

    rng = np.random.default_rng(seed)
    splits = {}
    for split, n in (("train", n_train), ("val", n_val)):
        bits = (rng.random((n, 48, 19, 19)) < 0.05).astype(np.uint8)
        moves = rng.integers(0, 361, n)
        bits[:, 44] = 0
        bits[np.arange(n), 44, moves // 19, moves % 19] = 1
        splits[split] = (sh.pack_planes(bits), moves, np.arange(n), np.zeros(n))
    sh.write_folder(folder, splits, FEATURE_VERSION, per_shard=200)
    return folder


def config(tmp_path, out="run", **changes):
    values = dict(data=str(tmp_path / "data"), out=str(tmp_path / out), filters=8, layers=3, batch_size=16,
                  lr=0.02, steps=10, val_every=5, val_samples=64, checkpoint_every=2, log_every=2,
                  progress=False, tensorboard=False, device="cpu", precision="fp32")
    values.update(changes)
    return TrainConfig(**values)


def rows(run):
    with open(run / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def weights(path):
    return ck.load(path)["model"]


@pytest.mark.parametrize("schedule,step,expected", [
    ("step", 0, 0.003), ("step", 79_999_999, 0.003), ("step", 80_000_000, 0.0015), ("step", 160_000_000, 0.00075),
    ("cosine", 0, 0.003), ("cosine", 50, 0.0015), ("cosine", 100, 0.0), ("constant", 10**9, 0.003)])
def test_learning_rate_schedules(schedule, step, expected):
    cfg = TrainConfig(data="d", out="o", lr=0.003, schedule=schedule, steps=100)
    assert math.isclose(learning_rate(cfg, step), expected, abs_tol=1e-12)


def test_training_logs_metrics_and_keeps_last_and_best(tmp_path):
    learnable(tmp_path / "data")
    result = Trainer(config(tmp_path, steps=40, log_every=10, val_every=20, checkpoint_every=20, lr=0.05)).run()
    run = tmp_path / "run"
    table = rows(run)
    assert list(table[0]) == ["step", "samples", "split", "loss", "top1", "top5", "lr", "elapsed_s"]
    assert [(r["step"], r["split"]) for r in table] == [("10", "train"), ("20", "train"), ("20", "val"),
                                                          ("30", "train"), ("40", "train"), ("40", "val")]
    assert table[-1]["samples"] == str(40 * 16)
    train = [float(r["loss"]) for r in table if r["split"] == "train"]
    assert train[-1] < train[0]  # it learns
    assert 0 <= result["top1"] <= result["top5"] <= 1 and result["positions"] == 64
    assert ck.load(run / ck.LAST)["step"] == 40 and ck.load(run / ck.BEST)["best_val_loss"] <= result["loss"]
    assert not [p for p in run.iterdir() if "tmp" in p.name]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_resume_continues_exactly(tmp_path, optimizer):
    learnable(tmp_path / "data")
    Trainer(config(tmp_path, out="straight", optimizer=optimizer)).run()
    Trainer(config(tmp_path, out="split", steps=4, optimizer=optimizer)).run()
    Trainer(config(tmp_path, out="split", steps=10, resume=True, optimizer=optimizer)).run()
    a, b = ck.load(tmp_path / "straight" / ck.LAST), ck.load(tmp_path / "split" / ck.LAST)
    assert a["step"] == b["step"] == 10 and a["data"] == b["data"]
    for name in a["model"]:
        assert torch.equal(a["model"][name], b["model"][name]), name
    for s, state in a["optimizer"]["state"].items():  # momentum buffers, or Adam's moments
        for key, value in state.items():
            assert torch.equal(value, b["optimizer"]["state"][s][key]), key
    # the same training rows (the split run also validated where it stopped, at step 4)
    train = lambda run: [{k: v for k, v in r.items() if k != "elapsed_s"} for r in rows(run) if r["split"] == "train"]
    assert train(tmp_path / "straight") == train(tmp_path / "split")


def test_refuses_to_overwrite_a_run_or_resume_with_other_options(tmp_path):
    learnable(tmp_path / "data")
    Trainer(config(tmp_path, steps=2)).run()
    with pytest.raises(ValueError, match="--resume"):
        Trainer(config(tmp_path, steps=4)).run()
    with pytest.raises(ValueError, match="lr"):
        Trainer(config(tmp_path, steps=4, lr=0.5, resume=True)).run()


def test_damaged_checkpoint_is_a_clear_error(tmp_path):
    learnable(tmp_path / "data")
    Trainer(config(tmp_path, steps=2)).run()
    path = tmp_path / "run" / ck.LAST
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ck.CheckpointError, match="last.pt: cannot load"):
        Trainer(config(tmp_path, steps=4, resume=True)).run()


def train_command(tmp_path, out, steps, *extra):
    return ["-m", "gopolicy", "train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / out),
            "--filters", "8", "--layers", "3", "--batch-size", "16", "--lr", "0.02", "--steps", str(steps),
            "--val-every", "50", "--val-samples", "64", "--log-every", "5", "--quiet", "--no-tensorboard",
            "--precision", "fp32", *extra]


@pytest.mark.slow
def test_sigkill_mid_run_then_resume(tmp_path):
    learnable(tmp_path / "data")
    env = dict(os.environ, PYTHONPATH=REPO)
    command = [sys.executable] + train_command(tmp_path, "run", 3000, "--checkpoint-every", "5")
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    last, deadline = tmp_path / "run" / ck.LAST, time.time() + 120
    while not last.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)
    assert proc.poll() is None, proc.stderr.read().decode()  # still training: kill it mid-way
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = ck.load(last)  # whole: written under a temporary name and renamed
    assert 0 < killed["step"] < 3000 and killed["step"] % 5 == 0
    resumed = subprocess.run([sys.executable] + train_command(tmp_path, "run", killed["step"] + 20, "--resume"),
                             env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    final = ck.load(last)
    assert final["step"] == killed["step"] + 20
    steps = [int(r["step"]) for r in rows(tmp_path / "run") if r["split"] == "train"]
    assert steps == sorted(set(steps)) and steps[-1] == final["step"]  # no row lost twice or logged twice


@pytest.mark.slow
def test_two_process_ddp_matches_one_process(tmp_path):
    learnable(tmp_path / "data")
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone"]
    command += train_command(tmp_path, "ddp", 6)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    Trainer(config(tmp_path, out="single", steps=6, val_every=50, log_every=5)).run()
    a, b = ck.load(tmp_path / "ddp" / ck.LAST), ck.load(tmp_path / "single" / ck.LAST)
    assert a["step"] == b["step"] == 6 and a["samples"] == b["samples"] == 96
    for name in a["model"]:
        torch.testing.assert_close(a["model"][name], b["model"][name], rtol=1e-4, atol=1e-5)
    va, vb = a["val"], b["val"]
    assert va["positions"] == vb["positions"] == 64 and math.isclose(va["loss"], vb["loss"], rel_tol=1e-4)


def test_export_writes_weights_with_provenance(tmp_path):
    from gopolicy.cli import main
    from gopolicy.weights import load_weights

    learnable(tmp_path / "data")
    Trainer(config(tmp_path, steps=10)).run()
    out = tmp_path / "w.safetensors"
    assert main(["export", str(tmp_path / "run"), "--out", str(out), "--fp16"]) == 0
    model, meta = load_weights(out)
    assert meta["dtype"] == "float16" and meta["config"]["filters"] == 8
    assert meta["provenance"]["step"] == 10 and meta["provenance"]["checkpoint"] == "best"
    assert meta["provenance"]["data"]["positions"]["train"] == 512
    assert str(tmp_path) not in json.dumps(meta)  # no paths of the machine that trained it
    assert set(meta["metrics"]["val"]) >= {"loss", "top1", "top5"}
    state = ck.load(tmp_path / "run" / ck.BEST)["model"]
    torch.testing.assert_close(model.state_dict()["point_bias"], state["point_bias"].half().float())
    assert main(["export", str(tmp_path / "nothing"), "--out", str(out)]) == 2
