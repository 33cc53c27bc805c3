"""`gopolicy burst`: the smoke run end to end, its report, and the deadlines that bound it."""

import json
import math
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import KGS_DIR
from gopolicy.training.burst.command import REQUIRED, Burst, BurstConfig
from gopolicy.training.burst.deadlines import Budget, Watchdog

GOPOLICY = [shutil.which("gopolicy")] if shutil.which("gopolicy") else [sys.executable, "-m", "gopolicy"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    archives = sorted(KGS_DIR.glob("*.tar.gz"))
    if not archives:
        pytest.skip(f"no KGS archives in {KGS_DIR}")
    out = tmp_path_factory.mktemp("burst")
    started = time.time()
    done = subprocess.run(GOPOLICY + ["burst", "--smoke", "--out", str(out)] + [str(a) for a in archives],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, json.loads((out / "report.json").read_text()), time.time() - started, done.stderr


def test_smoke_run_reports_sane_figures_within_three_minutes(smoke):
    out, report, seconds, stderr = smoke
    assert seconds < 180 and report["total_seconds"] < 180
    assert set(REQUIRED) <= set(report) and report["errors"] == {} and report["cut"] == []
    assert report["device"].startswith("cpu") and report["filters"] == 16 and report["exit_status"] == 0
    assert report["prepare_complete"] and 0 < report["prepare_seconds"] < 60 and report["games"] >= 50
    assert report["positions"]["train"] > 1000 and report["positions"]["val"] > 0 and report["positions"]["test"] > 0
    assert 0.4 <= report["train_minutes"] <= 0.6
    assert report["samples"] == report["steps"] * 32 > 0
    assert math.isclose(report["samples_per_s"], report["samples"] / (60 * report["train_minutes"]), rel_tol=0.01)
    assert 0 <= report["loader_wait_pct"] < 5
    if report["bf16_peak_tflops"] is None:  # a CPU without native bf16
        assert report["pct_of_bf16_peak"] is None
    else:
        assert 0 < report["pct_of_bf16_peak"] < 100
    for split in ("val", "test"):
        assert report[f"{split}_positions"] == report["positions"][split]
        assert 1 / 361 < report[f"{split}_top1"] <= report[f"{split}_top5"] <= 1  # it learned something
        assert 0 < report[f"{split}_nll"] < math.log(361)
    assert re.search(r"burst \d+:\d\d train: step [\d,]+", stderr)  # progress while training


def test_smoke_run_writes_the_curve_and_weights_the_engine_plays(smoke):
    out, report, _, _ = smoke
    lines = (out / "metrics.csv").read_text().splitlines()
    assert lines[0] == "step,samples,split,loss,top1,top5,lr,elapsed_s"
    assert sum(",train," in line for line in lines) >= 5 and any(",val," in line for line in lines)
    assert sorted(p.name for p in out.iterdir()) == ["metrics.csv", "report.json", "weights.safetensors"]
    assert report["weights_bytes"] == (out / "weights.safetensors").stat().st_size
    command = GOPOLICY + ["gtp", "--weights", str(out / "weights.safetensors"), "--device", "cpu"]
    done = subprocess.run(command, input="genmove b\nquit\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.fullmatch(r"= [A-HJ-T](1[0-9]|[1-9])", done.stdout.split("\n\n")[0])


def test_budget_shortens_training_when_the_phases_before_it_ran_late():
    budget = Budget.of(8)
    assert budget.total == 600 and budget.train == 480
    start = 1000.0
    assert budget.train_end(start, start + 60) == start + 60 + 480  # on time: the full minutes
    late = budget.train_end(start, start + 200)
    assert late == start + 600 - budget.finish - budget.grace < start + 200 + 480
    assert budget.hard_end(start) == start + 600 - budget.grace
    assert Budget.of(7, 8.7).train_end(start, start + 60) == start + 60 + 420  # the device script's: 7 full minutes
    with pytest.raises(ValueError, match="too short"):
        Budget.of(1, 1.2)


def test_watchdog_fires_once_at_its_deadline_and_never_once_stopped():
    fired, ticks = [], []
    dog = Watchdog(time.time() + 0.5, lambda: fired.append(time.time()), lambda: ticks.append(1), every=0.1)
    started = time.time()
    dog.start()
    dog.join(5)
    assert fired and dog.expired and 0.4 < fired[0] - started < 2 and len(ticks) >= 2
    quiet = Watchdog(time.time() + 0.5, lambda: fired.append(time.time()))
    quiet.start()
    quiet.stop()
    quiet.join(5)
    assert not quiet.is_alive() and len(fired) == 1 and not quiet.expired


def test_watchdog_exports_the_last_checkpoint_and_writes_the_report(tmp_path):
    from gopolicy.weights import load_weights
    from tests.test_trainer import config, learnable
    from gopolicy.training.trainer import Trainer

    exits = []
    burst = Burst(BurstConfig(archives=[], out=str(tmp_path / "out"), smoke=True, work=str(tmp_path)),
                  exit=exits.append)
    burst.out.mkdir()
    learnable(tmp_path / "data")
    burst.trainer = Trainer(config(tmp_path, out="run", batch_norm=True, steps=10))
    burst.trainer.run()
    burst.phase = "train"  # as if training were still running when the deadline came
    burst.expire()
    assert exits == [3]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["cut"] == ["train (watchdog)"] and report["exit_status"] == 3
    assert report["steps"] == 10 and report["samples"] == 160 and report["checkpoint_step"] == 10
    model, meta = load_weights(tmp_path / "out" / "weights.safetensors")
    assert model.config.filters == 8 and "batch_norm" in meta  # exported, batch norm folded
    assert (tmp_path / "out" / "metrics.csv").exists()


def test_a_phase_that_hangs_is_cut_and_the_report_still_written(tmp_path):
    """A real process: prepare never returns; the watchdog ends the command on time, status 3."""
    script = textwrap.dedent(f"""
        import sys, time, types
        import gopolicy.training.burst.command as burst
        import gopolicy.training.prepare as prepare
        from gopolicy.training.burst.deadlines import Budget
        Budget.of = classmethod(lambda cls, *a, **k: Budget(total=6, train=60, prepare=2, peak=1, finish=1, grace=2))
        prepare.prepare = lambda *a, **k: time.sleep(600)
        sys.exit(burst.run(types.SimpleNamespace(archives=["none.tar.gz"], out={str(tmp_path)!r}, smoke=True)))
    """)
    started = time.time()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr[-2000:]
    assert time.time() - started < 30  # the interpreter and torch start, then 6 - 2 s
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["cut"] == ["prepare (watchdog)"] and report["exit_status"] == 3
    assert set(REQUIRED) <= set(report) and report["test_top1"] is None and 3.5 < report["total_seconds"] < 6
    assert not (tmp_path / "weights.safetensors").exists()  # nothing was trained, nothing to export


def test_prepared_splits_score_exactly_as_evaluate_scores_the_games(tmp_path, tiny_weights):
    from gopolicy.model import for_inference
    from gopolicy.weights import load_weights
    from gopolicy.training.evaluate import evaluate, score_prepared
    from gopolicy.training.prepare import PrepareOptions, prepare

    games = sorted((Path(__file__).parent / "data").glob("*.sgf"))
    prepare(games, tmp_path / "data", PrepareOptions(split=(0.0, 0.0, 1.0)), workers=1, progress=False)
    model = for_inference(load_weights(tiny_weights)[0], "fp32")
    ours, cut = score_prepared(model, tmp_path / "data", "test", "cpu", "fp32")
    theirs = evaluate(tiny_weights, games, split="test", fractions=(0.0, 0.0, 1.0), precision="fp32")
    assert not cut and ours["positions"] == theirs["positions"] > 50
    for key in ("top1", "top5", "nll"):
        assert math.isclose(ours[key], theirs[key], rel_tol=1e-6), key
    assert score_prepared(model, tmp_path / "data", "test", "cpu", "fp32", deadline=time.time())[1]


def test_a_phase_that_fails_is_reported_and_the_command_ends_with_status_2(tmp_path):
    burst = Burst(BurstConfig(archives=[str(tmp_path / "missing.tar.gz")], out=str(tmp_path / "out"), smoke=True))
    assert burst.run() == 2
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert list(report["errors"]) == ["prepare"] and "missing.tar.gz" in report["errors"]["prepare"]
    assert report["exit_status"] == 2 and set(REQUIRED) <= set(report) and report["samples"] is None
    assert not burst.work.exists()  # the temporary folder is removed


def test_cuda_recipe_is_k192_batch_norm_nesterov_with_the_lr_scaled_to_the_batch():
    from gopolicy.training.burst.command import recipe

    c = BurstConfig(archives=["a.tar.gz"], device="cuda").resolved()  # no GPU needed to resolve
    assert (c.minutes, c.max_minutes, c.filters, c.layers, c.batch_size, c.limit) == (8, 10, 192, 13, 512, None)
    cfg = recipe(c, "data", "run")
    assert (cfg.filters, cfg.batch_size, cfg.optimizer, cfg.momentum, cfg.nesterov, cfg.batch_norm) == \
        (192, 512, "sgd", 0.9, True, True)
    assert math.isclose(cfg.lr, 0.02 * 512 / 32) and cfg.weight_decay == 1e-4 and cfg.warmup == 500
    assert cfg.schedule == "cosine" and cfg.precision == "auto" and cfg.device == "cuda" and cfg.hours == 8 / 60
    smoke = BurstConfig(archives=["a.tar.gz"], smoke=True, batch_size=64).resolved()
    assert (smoke.device, smoke.filters, smoke.limit, smoke.max_minutes) == ("cpu", 16, 60, 2.5)
    assert math.isclose(smoke.lr, 0.04)


def test_watchdog_leaves_a_run_alone_that_wrote_its_report_first(tmp_path):
    exits = []
    burst = Burst(BurstConfig(archives=[], out=str(tmp_path / "out"), smoke=True, work=str(tmp_path)),
                  exit=exits.append)
    burst.out.mkdir()
    burst.finish(0)
    burst.expire()
    assert exits == [] and json.loads((tmp_path / "out" / "report.json").read_text())["exit_status"] == 0


def test_watchdog_writes_the_report_even_when_salvaging_fails(tmp_path, monkeypatch):
    exits = []
    burst = Burst(BurstConfig(archives=[], out=str(tmp_path / "out"), smoke=True, work=str(tmp_path)),
                  exit=exits.append)
    burst.out.mkdir()
    burst.phase = "evaluate"

    def broken():
        raise RuntimeError("CUDA error: an illegal memory access")

    monkeypatch.setattr(burst, "salvage", broken)
    burst.expire()
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert exits == [3] and report["cut"] == ["evaluate (watchdog)"]
    assert report["errors"] == {"watchdog": "RuntimeError: CUDA error: an illegal memory access"}
