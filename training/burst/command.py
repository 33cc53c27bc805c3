"""`gopolicy burst`: prepare, train, export and evaluate in one command, each phase under a deadline.

    gopolicy burst ARCHIVES... --out DIR [--minutes M] [--max-minutes T] [--filters K] [--smoke]

Made for a GPU lent for minutes. Prepare encodes the archives with every core into a
local temporary folder (cut at its deadline: the finished shards are used); the bf16
peak of the device is measured (training.peak); the network trains for M minutes of
wall clock on batches made on the device (training.burst.gpu_batches) with the recipe of the
CPU work: batch norm, SGD with Nesterov momentum 0.9, lr 0.02 per 32 samples of batch,
weight decay 1e-4, a linear warm-up, then cosine to zero at the end of the minutes,
bf16 autocast and channels_last where native; k=192 by default. The run is exported
with its batch norm folded (training.export) and scored, as `gopolicy evaluate` scores
(illegal points masked), on the prepared test and validation splits.

DIR receives weights.safetensors, report.json and metrics.csv; progress goes to stderr.
The whole command ends within T minutes (default M + 2; training is shortened when the
phases before it ran late): a phase that overruns is cut (training.burst.deadlines), and a
run cut short still exports its last checkpoint and writes the report (exit status 3).
--smoke is the same path on the CPU with a slice of the games and a tiny network.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

import torch

from gopolicy.model import device_name
from gopolicy.policy import resolve_device
from gopolicy.training import checkpoint as ck
from gopolicy.training import shards as sh
from gopolicy.training.burst.deadlines import Budget, Watchdog
from gopolicy.training.burst.recipe import LR_PER_32, SMOKE_SPLIT, BurstConfig, recipe

WEIGHTS, REPORT, METRICS = "weights.safetensors", "report.json", "metrics.csv"
REQUIRED = ("device", "filters", "samples", "samples_per_s", "train_minutes", "prepare_seconds",
            "loader_wait_pct", "pct_of_bf16_peak", "val_top1", "test_top1", "test_top5", "test_nll")


class Burst:
    """One `gopolicy burst` run; `run()` returns the exit status (0, 2 on bad input, 3 when cut by the watchdog)."""

    def __init__(self, cfg: BurstConfig, exit=os._exit):
        self.start = time.time()
        self.cfg = cfg = cfg.resolved()
        self.budget = Budget.of(cfg.minutes, cfg.max_minutes, cfg.smoke)
        self.device = torch.device(resolve_device(cfg.device))  # ValueError for CUDA that is not here
        self.out = Path(cfg.out)
        self.temporary = cfg.work is None
        self.work = Path(tempfile.mkdtemp(prefix="gopolicy-burst-") if self.temporary else cfg.work)
        self.data, self.run_dir = self.work / "data", self.work / "run"
        self.exit, self.lock, self.written = exit, threading.Lock(), False
        self.phase, self.trainer, self.ticked = "start", None, (self.start, 0)
        self.report = dict.fromkeys(REQUIRED)
        self.report.update(device=device_name(self.device), torch=torch.__version__, smoke=cfg.smoke,
                           archives=[Path(a).name for a in cfg.archives], minutes=cfg.minutes,
                           max_minutes=cfg.max_minutes, filters=cfg.filters, layers=cfg.layers,
                           batch_size=cfg.batch_size, lr=cfg.lr, warmup=cfg.warmup, phase_seconds={},
                           cut=[], errors={}, started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    def log(self, text: str) -> None:
        """Print one progress line on stderr, stamped with the time since the start."""
        minutes, seconds = divmod(int(time.time() - self.start), 60)
        print(f"burst {minutes:d}:{seconds:02d} {text}", file=sys.stderr, flush=True)

    def run(self) -> int:
        """Run every phase under its deadline, write DIR's files; return the exit status."""
        self.out.mkdir(parents=True, exist_ok=True)
        watchdog = Watchdog(self.budget.hard_end(self.start), self.expire, self.tick, 10 if self.cfg.smoke else 30)
        watchdog.start()
        self.log(f"{self.report['device']}: k={self.cfg.filters}, {self.cfg.minutes:g} min of training, "
                 f"all done within {self.cfg.max_minutes:g} min; work in {self.work}")
        status = 0
        try:
            if self.phase_run("prepare", self.prepare):
                self.phase_run("peak", self.peak)
                self.phase_run("train", self.train)  # failed or not: export what it saved
                if self.phase_run("export", self.export):
                    self.phase_run("evaluate", self.evaluate)
            status = 2 if self.report["errors"] else 0
        finally:
            watchdog.stop()
        with self.lock:  # not while the watchdog writes its own
            self.finish(status)
        if self.temporary:
            shutil.rmtree(self.work, ignore_errors=True)
        return status

    def phase_run(self, name: str, fn) -> bool:
        """Run one phase, timing it; return False, the error in the report and its traceback on
        stderr, if it raised. Any Exception: on a lent GPU a bug in one phase must not cost the
        minutes of the others, the trained weights or the report."""
        self.phase, started = name, time.time()
        try:
            fn()
            return True
        except Exception as e:  # noqa: BLE001 -- reported, not hidden: see the docstring
            self.report["errors"][name] = f"{type(e).__name__}: {e}"
            self.log(f"{name} failed: {type(e).__name__}: {e}")
            traceback.print_exc(file=sys.stderr)
            return False
        finally:
            self.report["phase_seconds"][name] = round(time.time() - started, 2)

    def prepare(self) -> None:
        from gopolicy.training.prepare import PrepareOptions, prepare

        options = PrepareOptions(split=SMOKE_SPLIT if self.cfg.smoke else (0.96, 0.02, 0.02),
                                 games_per_shard=20 if self.cfg.smoke else 200)
        m = prepare(self.cfg.archives, self.data, options, self.cfg.limit, self.cfg.workers, progress=False,
                    deadline=self.start + self.budget.prepare)
        self.report.update(prepare_seconds=round(m["elapsed_s"], 2), prepare_complete=m["complete"],
                           games=m["games"]["kept"], positions=m["positions"], split=list(options.split))
        if not m["complete"]:
            self.report["cut"].append("prepare")
        self.log(f"prepare: {m['games']['kept']:,} games, {m['positions']['total']:,} positions in "
                 f"{m['elapsed_s']:.0f} s{'' if m['complete'] else ' (cut at its deadline)'}")
        if m["positions"]["train"] < self.cfg.batch_size:
            raise ValueError(f"{m['positions']['train']} training positions: fewer than one batch")

    def peak(self) -> None:
        from gopolicy.training.peak import bf16_peak_flops

        flops = bf16_peak_flops(self.device, self.budget.peak)
        self.report["bf16_peak_tflops"] = None if flops is None else round(flops / 1e12, 3)
        self.log(f"bf16 peak: {'none (no native bf16)' if flops is None else f'{flops / 1e12:.1f} TFLOP/s'}")

    def train(self) -> None:
        from gopolicy.features import FEATURE_VERSION
        from gopolicy.model import PolicyConfig, training_flops
        from gopolicy.training.dataset import ShardDataset
        from gopolicy.training.burst.gpu_batches import DeviceBatches
        from gopolicy.training.trainer import Trainer

        c = self.cfg
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: pick the fastest convolutions once
        source = DeviceBatches(ShardDataset(self.data, "train", FEATURE_VERSION), c.batch_size, self.device, c.seed)
        cfg = recipe(c, self.data, self.run_dir)
        self.trainer = trainer = Trainer(cfg, batches=source)
        now = time.time()
        end = self.budget.train_end(self.start, now)
        cfg.hours = (end - now) / 3600  # the cosine reaches zero at the end of the minutes left
        if end - now < self.budget.train - 1:
            self.report["cut"].append("train")
        self.report.update(precision=trainer.precision, loader=source.mode, planned_train_minutes=round(cfg.hours * 60, 3))
        self.log(f"train: {cfg.hours * 60:.2f} min, {trainer.precision}, batch {c.batch_size}, lr {c.lr:g}; {source.mode}")
        self.ticked = (time.time(), 0)
        try:
            self.report["trainer_val"] = trainer.run()
        finally:
            self.record_training(training_flops(PolicyConfig(filters=c.filters, layers=c.layers)))

    def record_training(self, flops_per_sample: int) -> None:
        """Put the trainer's figures (so far) into the report."""
        t = self.trainer
        rate = t.samples / t.elapsed if t.elapsed > 0 else 0.0
        peak = self.report.get("bf16_peak_tflops")
        self.report.update(steps=t.step, samples=t.samples, train_minutes=round(t.elapsed / 60, 3),
                           samples_per_s=round(rate, 1), training_tflops=round(rate * flops_per_sample / 1e12, 4),
                           loader_wait_pct=round(100 * t.batches.waited / max(t.batches.served, 1), 2),
                           pct_of_bf16_peak=round(100 * rate * flops_per_sample / (peak * 1e12), 2) if peak else None)

    def export(self) -> None:
        from gopolicy.training.export import export

        with self.lock:  # never at the same time as the watchdog's export
            meta = export(self.run_dir, self.out / WEIGHTS)
            self.copy_metrics()
        p = meta["provenance"]
        self.report.update(weights=WEIGHTS, weights_bytes=(self.out / WEIGHTS).stat().st_size,
                           checkpoint=p["checkpoint"], checkpoint_step=p["step"])
        self.log(f"export: {p['checkpoint']} checkpoint of step {p['step']:,} to {self.out / WEIGHTS}")

    def copy_metrics(self) -> None:
        """Copy the run's metrics.csv (the training curve so far) into DIR."""
        if (self.run_dir / ck.METRICS).exists():
            shutil.copyfile(self.run_dir / ck.METRICS, self.out / METRICS)

    def evaluate(self) -> None:
        from gopolicy.model import for_inference, resolve_precision
        from gopolicy.weights import load_weights
        from gopolicy.training.evaluate import score_prepared

        precision = resolve_precision("auto", self.device)
        model = for_inference(load_weights(self.out / WEIGHTS, device=self.device)[0], precision)
        self.report["eval_precision"] = precision
        for split in ("test", "val"):
            result, cut = score_prepared(model, self.data, split, self.device, precision,
                                         self.budget.evaluate_end(self.start) - 3)
            for key in ("top1", "top5", "nll", "positions"):
                self.report[f"{split}_{key}"] = result[key] if result["positions"] else None
            if cut:
                self.report["cut"].append(f"evaluate {split}")
            self.log(f"{split}: top-1 {result['top1']:.2%}, top-5 {result['top5']:.2%}, NLL {result['nll']:.3f} "
                     f"on {result['positions']:,} positions{' (cut at its deadline)' if cut else ''}"
                     if result["positions"] else f"{split}: no positions prepared")

    def tick(self) -> None:
        """Print the training progress (the watchdog calls this every 10-30 s)."""
        t = self.trainer
        if self.phase != "train" or t is None:
            self.log(f"{self.phase} ...")
            return
        now, (then, samples) = time.time(), self.ticked
        self.ticked = (now, t.samples)
        self.log(f"train: step {t.step:,}, {t.samples:,} samples, {(t.samples - samples) / (now - then):,.0f} "
                 f"samples/s, {t.elapsed / 60:.1f} of {t.cfg.hours * 60:.1f} min")

    def expire(self) -> None:
        """At the hard deadline: export the last checkpoint if none was, write the report, end the
        process (status 3); nothing if the main thread wrote the report first."""
        got = self.lock.acquire(timeout=self.budget.grace / 2)  # the main thread's export or report
        try:
            if self.written:
                return
            self.log(f"deadline: {self.phase} cut short by the watchdog")
            self.report["cut"].append(f"{self.phase} (watchdog)")
            try:
                self.salvage()
            except Exception as e:  # noqa: BLE001 -- whatever failed here, the report is still written
                self.report["errors"]["watchdog"] = f"{type(e).__name__}: {e}"
            self.finish(3)
        finally:
            if got:
                self.lock.release()
        for child in multiprocessing.active_children():  # prepare's workers, if any
            child.terminate()
        if self.temporary:
            shutil.rmtree(self.work, ignore_errors=True)
        self.exit(3)

    def salvage(self) -> None:
        """Put what training reached into the report and DIR: its figures, its last checkpoint, its curve."""
        if self.trainer is not None and self.phase == "train":
            from gopolicy.model import PolicyConfig, training_flops

            self.record_training(training_flops(PolicyConfig(filters=self.cfg.filters, layers=self.cfg.layers)))
        if not (self.out / WEIGHTS).exists() and any((self.run_dir / n).exists() for n in (ck.BEST, ck.LAST)):
            from gopolicy.training.export import export

            p = export(self.run_dir, self.out / WEIGHTS)["provenance"]
            self.report.update(weights=WEIGHTS, checkpoint=p["checkpoint"], checkpoint_step=p["step"])
        self.copy_metrics()

    def finish(self, status: int) -> None:
        """Write DIR/report.json (once: the watchdog and the main thread may both get here)."""
        if self.written:
            return
        self.written = True
        self.report.update(exit_status=status, total_seconds=round(time.time() - self.start, 2))
        sh.write_json(self.out / REPORT, self.report)
        keys = ("samples", "samples_per_s", "pct_of_bf16_peak", "loader_wait_pct", "val_top1", "test_top1")
        self.log("report: " + json.dumps({k: self.report.get(k) for k in keys}))


def add_arguments(parser) -> None:
    """Add the `gopolicy burst` options to `parser`."""
    parser.add_argument("archives", nargs="+", help="SGF archives, files or folders (e.g. data/kgs-archives/*.tar.gz)")
    parser.add_argument("--out", required=True, help="folder for weights.safetensors, report.json, metrics.csv")
    parser.add_argument("--minutes", type=float, help="minutes of training (default 8; 0.5 with --smoke)")
    parser.add_argument("--max-minutes", type=float, help="the whole command ends within this (default minutes + 2)")
    parser.add_argument("--filters", type=int, help="filters per layer (default 192; 16 with --smoke)")
    parser.add_argument("--layers", type=int, help="convolution layers (default 13; 5 with --smoke)")
    parser.add_argument("--batch-size", type=int, help="minibatch (default 512 on CUDA, 32 on a CPU)")
    parser.add_argument("--lr", type=float, help=f"peak learning rate (default {LR_PER_32} x batch size / 32)")
    parser.add_argument("--warmup", type=int, help="steps of linear warm-up (default 500 on CUDA, 20 on a CPU)")
    parser.add_argument("--limit", type=int, help="prepare at most N games (default all; 60 with --smoke)")
    parser.add_argument("--workers", type=int, help="prepare processes (default: all cores)")
    parser.add_argument("--device", default="auto", help="auto (cuda if present; cpu with --smoke), cpu or cuda")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--work", help="prepare and train in this folder and keep it (default: a temporary one)")
    parser.add_argument("--smoke", action="store_true", help="the same path on a slice of the games with a tiny network")


def run(args) -> int:
    """Run `gopolicy burst`; return the exit status."""
    values = {k: v for k, v in vars(args).items() if k in BurstConfig.__dataclass_fields__}
    try:
        burst = Burst(BurstConfig(**values))
    except (ValueError, RuntimeError) as e:
        print(f"gopolicy burst: {e}", file=sys.stderr)
        return 2
    return burst.run()
