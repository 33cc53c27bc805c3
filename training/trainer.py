"""`gopolicy train`: supervised training of the policy network on prepared shards.

Minibatch SGD with momentum (or AdamW), a step, cosine or constant learning-rate schedule,
random symmetry per sample, periodic validation (NLL, top-1, top-5), RUN/metrics.csv,
TensorBoard, atomic checkpoints (RUN/last.pt and RUN/best.pt) and an exact --resume; an
average of the weights (--ema-decay); RUN/run-state.safetensors, from which --continue
begins the next leg of one long run, and --decay branches off a leg whose rate falls to
zero (training.config has the options, training.run_state the file); --future-moves N trains
N heads for the moves after the next beside the network (training.future_heads). Under torchrun
(WORLD_SIZE, RANK, LOCAL_RANK set) it runs DistributedDataParallel, gloo on CPU and
nccl on GPU; --batch-size is the global batch, split evenly over the ranks, so a run
gives the same updates whatever the number of processes.

Checkpoints hold only tensors, numbers, strings, lists and dicts: torch.save writes
them and torch.load(weights_only=True) reads them, so loading never runs code.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from gopolicy.model import resolve_precision
from gopolicy.training import checkpoint as ck
from gopolicy.training import future_heads, run_state
from gopolicy.training.config import RESUME_FREE, RUN_STATE, TrainConfig, config_from_args, leg_options, portable
from gopolicy.training.config import add_arguments  # noqa: F401 (`gopolicy train`'s options, read here by the cli)
from gopolicy.training.dataset import NONE, Batches, ShardDataset, sequential_batches, to_tensors
from gopolicy.training.distributed import Dist, pick_device
from gopolicy.training.shards import load_manifest, manifest_summary, unpack_planes


def learning_rate(cfg: TrainConfig, step: int, elapsed_s: float = 0.0, leg_start: int = 0) -> float:
    """Return the learning rate of step `step`, `elapsed_s` seconds into the leg that began at step `leg_start`.

    A pure function of these (saved in checkpoints), so resuming needs no other state. The
    cosine schedule, and a --decay branch's fall to zero, follow whichever stop condition
    of the leg is nearer: steps/samples or --hours. Each --lr-drop at or before `step`
    multiplies the rate by lr_gamma.
    """
    warm = min(1.0, (step + 1) / cfg.warmup) if cfg.warmup else 1.0
    if cfg.schedule == "constant":
        lr = cfg.lr * warm
    elif cfg.schedule == "step":
        lr = cfg.lr * warm * cfg.lr_gamma ** (step // cfg.lr_step)
    else:
        lr = cfg.lr * warm * _cosine(cfg, step, elapsed_s, 0)
    lr *= cfg.lr_gamma ** sum(step >= drop for drop in cfg.lr_drops)
    return lr * _cosine(cfg, step, elapsed_s, leg_start) if cfg.decay else lr


def _cosine(cfg: TrainConfig, step: int, elapsed_s: float, start: int) -> float:
    """Return 1 -> 0 along half a cosine over steps start..total or over --hours, whichever ends first."""
    total = cfg.total_steps()
    if not total and not cfg.hours:
        raise ValueError("the cosine schedule and --decay need --steps, --samples or --hours")
    done = max((step - start) / max(total - start, 1) if total else 0.0,
               elapsed_s / (cfg.hours * 3600) if cfg.hours else 0.0)
    return 0.5 * (1 + math.cos(math.pi * min(done, 1.0)))


def batch_stats(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Return float64[4]: summed NLL, top-1 hits, top-5 hits and count of a batch's samples that
    have a target (a future-move head's NONE ones are left out); no host sync."""
    logits = logits.detach().float()
    nll = F.cross_entropy(logits, targets, ignore_index=NONE, reduction="sum")
    hits = logits.topk(5, dim=1).indices == targets[:, None]  # NONE matches no point
    return torch.stack([nll, hits[:, 0].sum(), hits.any(1).sum(), (targets != NONE).sum()]).double()


def train_step(model, optimizer, planes: torch.Tensor, targets: torch.Tensor, precision: str) -> torch.Tensor:
    """Run one optimizer step on a batch (bf16 autocast if precision is "bf16"); return the logits.

    A model with future-move heads takes targets int64[B, 1+heads] (training.future_heads.loss)."""
    with torch.autocast(planes.device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        logits = model(planes)
    loss = future_heads.loss(logits.float(), targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return logits


def averaged_model(model: torch.nn.Module, decay: float) -> torch.nn.Module:
    """Return an exponential moving average of `model`'s weights (torch's AveragedModel), updated
    by `update_parameters(model)` after each step; its batch-norm statistics are recomputed, not averaged."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=False)


class Trainer:
    """One training run: model, optimizer, data, logs; `run()` trains until a stop condition."""

    def __init__(self, cfg: TrainConfig, batches: Batches | None = None):
        """Set up a run of `cfg`; `batches` replaces the default CPU-made Batches of its train
        split (e.g. training.gpu_batches.DeviceBatches, which makes them on the GPU).

        Raises ValueError for a batch size the ranks do not divide, or --future-moves with
        batches that carry no following moves (DeviceBatches carries none)."""
        from gopolicy.features import FEATURE_VERSION
        from gopolicy.model import PolicyConfig

        self.cfg, self.dist = cfg, Dist.from_env()
        self.device = pick_device(cfg.device, self.dist)
        if cfg.batch_size % self.dist.world:
            raise ValueError(f"--batch-size {cfg.batch_size} must be a multiple of the {self.dist.world} ranks")
        if self.dist.world > 1 and not torch.distributed.is_initialized():
            if self.device.type == "cuda":
                torch.cuda.set_device(self.device)
            torch.distributed.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
        self.out = Path(cfg.out)
        torch.manual_seed(cfg.seed)
        self.cuda = self.device.type == "cuda"
        self.precision = resolve_precision(cfg.precision, self.device)
        self.train_data = ShardDataset(cfg.data, "train", FEATURE_VERSION)
        # kept in the state, since the state keeps only the data folder's name (config.portable)
        self.data_summary = manifest_summary(load_manifest(cfg.data))
        val = ShardDataset(cfg.data, "val", FEATURE_VERSION)
        self.val_data = val if len(val) else None
        self.net_config = PolicyConfig(filters=cfg.filters, layers=cfg.layers)
        net = self.build_model()
        # the heads come after the network: its initialisation (and the RNG's) is as without them
        self.model = future_heads.FutureHeads(net, cfg.future_moves) if cfg.future_moves else net
        # NHWC is what oneDNN's and cuDNN's fast convolutions want, in either precision
        self.model = self.model.to(self.device).to(memory_format=torch.channels_last)
        self.heads = self.model.heads if cfg.future_moves else None
        # the heads' parameters are a second group, so a run state without them still loads
        params = [{"params": list(net.parameters())}] + ([{"params": list(self.heads.parameters())}] if self.heads else [])
        if cfg.optimizer == "adam":
            self.optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        else:
            self.optimizer = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                                             nesterov=cfg.nesterov, weight_decay=cfg.weight_decay)
        # A loader thread pays off only when the CPU is otherwise idle (a GPU run): on a CPU run
        # it takes cores and the GIL from the step and cost 20% of the rate on 2 cores.
        if batches is None:
            batches = Batches(self.train_data, cfg.batch_size // self.dist.world, cfg.seed, self.dist.rank,
                              self.dist.world, cfg.augment, prefetch=2 if self.cuda else 0, following=cfg.future_moves)
        if getattr(batches, "following", 0) != cfg.future_moves:
            raise ValueError(f"--future-moves {cfg.future_moves}: these batches carry no following moves")
        self.batches = batches
        # the average is the network's alone: the heads are not exported
        self.average = averaged_model(net, cfg.ema_decay) if cfg.ema_decay else None
        self.step, self.samples, self.elapsed, self.best = 0, 0, 0.0, math.inf
        self.last_val: dict = {}
        self.norms_step: int | None = None  # the step whose averaged weights the average's batch-norm statistics fit
        # the long run's earlier legs, and where this leg began (step, samples)
        self.legs: list = []
        self.leg_start = (0, 0)
        self.feature_version = FEATURE_VERSION

    def build_model(self) -> torch.nn.Module:
        """Return the network to train: fresh, or from --init (unfolding its batch norm if it has one).

        Raises WeightsError for a bad --init file, ValueError if its shape is not the run's.
        """
        from gopolicy.model import PolicyNet
        from gopolicy.training import batchnorm

        if not self.cfg.init:
            return batchnorm.BatchNormPolicyNet(self.net_config) if self.cfg.batch_norm else PolicyNet(self.net_config)
        from gopolicy.weights import load_weights

        plain, meta = load_weights(self.cfg.init)
        if plain.config != self.net_config:
            raise ValueError(f"--init {self.cfg.init} holds a network with {plain.config.filters} filters and "
                             f"{plain.config.layers} layers; give the same --filters and --layers")
        if not self.cfg.batch_norm:
            return plain.train()
        if "batch_norm" in meta:
            return batchnorm.unfold(plain, meta["batch_norm"])
        rng = np.random.default_rng(self.cfg.seed)
        sample = rng.choice(len(self.train_data), size=min(512, len(self.train_data)), replace=False)
        planes, _ = to_tensors(unpack_planes(self.train_data.gather(np.sort(sample))[0]), np.zeros(len(sample)))
        return batchnorm.from_plain(plain, planes)

    @property
    def lead(self) -> bool:
        return self.dist.rank == 0

    def resume(self) -> None:
        """Load RUN/last.pt into model, optimizer, data position and RNG; drop later metric rows."""
        state = ck.load(self.out / ck.LAST)
        self.load_state(state, free=RESUME_FREE, source=self.out / "config.json")
        self.elapsed, self.best = float(state["elapsed_s"]), float(state["best_val_loss"])
        self.legs, self.leg_start = list(state.get("legs", [])), tuple(state.get("leg_start", (0, 0)))
        if self.lead:
            ck.truncate_metrics(self.out / "metrics.csv", self.step)

    def continue_run(self, path) -> None:
        """Load a run state file (RUN_STATE of an earlier leg) and begin a new leg of that run.

        Raises CheckpointError for a bad file, ValueError if an option would change the run or
        a new --lr-drop lies before the state's step (the rate of steps already made is history).
        """
        state = run_state.load(path)
        saved = list(state["config"].get("lr_drops", []))
        drops = self.cfg.lr_drops
        past = [d for d in drops[len(saved):] if d < int(state["step"])]
        if drops[:len(saved)] != saved or past:
            raise ValueError(f"--lr-drop {past or drops}: the run is at step {state['step']} with drops at {saved}; "
                             "a leg keeps those and may add drops at or after its first step")
        self.load_state(state, free=leg_options(state["config"], self.cfg.future_moves) | {"lr_drops"}, source=path)
        self.legs = list(state.get("legs", [])) + [state["leg"]]
        self.leg_start = (self.step, self.samples)

    def load_state(self, state: dict, free: set, source) -> None:
        """Load weights, optimizer, averaged weights, data position, RNG, step and samples of
        a checkpoint dict; raises ValueError if an option outside `free` differs from the run's (an
        option the run's state predates counts as its default). Future-move heads that the state
        lacks (a leg that adds them) start fresh, with no optimizer state."""
        saved, defaults = state["config"], asdict(TrainConfig(data="", out=""))
        changed = sorted(k for k, v in asdict(self.cfg).items() if k not in free and saved.get(k, defaults[k]) != v)
        if changed:
            raise ValueError(f"options other than the run's: {', '.join(changed)} (saved in {source})")
        future_heads.network(self.model).load_state_dict(state["model"])
        optimizer = state["optimizer"]
        if self.heads is not None and "future_heads" in state:
            self.heads.load_state_dict(state["future_heads"])
        elif self.heads is not None:  # fresh heads: their group as built, the network's as saved
            optimizer = dict(optimizer, param_groups=optimizer["param_groups"] +
                             self.optimizer.state_dict()["param_groups"][1:])
        self.optimizer.load_state_dict(optimizer)
        if self.average is not None and "average" in state:
            self.average.load_state_dict(state["average"])
        self.batches.load_state_dict(state["data"])
        self.step, self.samples = int(state["step"]), int(state["samples"])
        self.last_val = dict(state.get("val", {}))
        self.norms_step = state.get("average_norms_step")
        ck.set_rng_state(state["rng"])

    def state(self) -> dict:
        """Return the checkpoint dict of the run as it stands."""
        model = future_heads.network(self.model)
        heads = {"future_heads": {k: v.detach().cpu().contiguous() for k, v in self.heads.state_dict().items()}} \
            if self.heads is not None else {}
        return {"format": ck.FORMAT, "step": self.step, "samples": self.samples, "elapsed_s": self.elapsed,
                "best_val_loss": self.best, "val": self.last_val, "config": asdict(self.cfg),
                "net_config": self.net_config.to_dict(), "feature_version": self.feature_version,
                "model": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
                "optimizer": self.optimizer.state_dict(), "data": self.batches.state_dict(),
                "rng": ck.get_rng_state(), "data_summary": self.data_summary, "legs": self.legs, "leg_start": list(self.leg_start),
                "leg": self.leg_summary(),
                **({"average": self.average.state_dict(), "average_norms_step": self.norms_step}
                   if self.average is not None else {}), **heads}

    def leg_summary(self) -> dict:
        """Return this leg's record for the run's history: steps, samples, seconds, where it ran."""
        from gopolicy.model import device_name

        return {"steps": self.step - self.leg_start[0], "samples": self.samples - self.leg_start[1],
                "seconds": round(self.elapsed, 1), "device": device_name(self.device),
                "precision": self.precision, "decay": self.cfg.decay, "val": self.last_val}

    def validate(self, model=None) -> dict:
        """Return {"loss", "top1", "top5", "positions"} of `model` (the trained one by default)
        over the first --val-samples positions: its main head's. The trained model with future-move
        heads adds "future": the heads' metrics (training.future_heads.metrics)."""
        heads = self.cfg.future_moves if model is None else 0
        model = model or self.model
        model.eval()
        sums = torch.zeros(4 + 4 * heads, dtype=torch.float64, device=self.device)
        with torch.no_grad(), self.autocast():
            for planes, targets, _ in sequential_batches(self.val_data, 256, self.cfg.val_samples,
                                                         self.dist.rank, self.dist.world, heads):
                logits, targets = model(self.to_device(planes)), targets.to(self.device)
                heads_of = [(logits[:, j], targets[:, j]) for j in range(1, 1 + heads)]
                sums += torch.cat([batch_stats(*pair) for pair in [future_heads.main_head(logits, targets), *heads_of]])
        model.train()
        values = self.dist.all_sum(sums.tolist(), self.device)
        nll, top1, top5, n = values[:4]
        result = {"loss": nll / n, "top1": top1 / n, "top5": top5 / n, "positions": int(n)}
        return dict(result, future=future_heads.metrics(values[4:], heads)) if heads else result

    def autocast(self):
        """Return a bf16 autocast context on the run's device, a no-op in fp32."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16")

    def to_device(self, planes: torch.Tensor) -> torch.Tensor:
        return planes.to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)

    def run(self) -> dict:
        """Train until --steps, --samples or --hours; return the last validation metrics."""
        cfg = self.cfg
        if cfg.resume and (self.out / ck.LAST).exists():
            self.resume()
        elif (self.out / ck.LAST).exists():
            raise ValueError(f"{self.out} already holds a run; add --resume to continue it or pick another --out")
        elif cfg.continue_from:
            self.continue_run(cfg.continue_from)
        if self.lead:  # a run killed while saving leaves a partial temporary file, never a partial checkpoint
            for stale in self.out.glob(".*.pt.tmp*"):
                stale.unlink()
        log = ck.RunLog(self.out, cfg, self.net_config, self.lead)
        if self.lead:
            print(f"gopolicy train: {self.device} in {self.precision}, channels_last"
                  f"{', batch norm' if cfg.batch_norm else ''}", file=sys.stderr)
        model = self.model
        if self.dist.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            model = self.model = DistributedDataParallel(self.model, device_ids=[self.device] if self.cuda else None)
        total = cfg.total_steps()
        bar = log.progress(total, self.step)
        start, start_elapsed = time.time(), self.elapsed
        sums, window_start = torch.zeros(4, dtype=torch.float64, device=self.device), time.time()
        batches = iter(self.batches)
        try:
            done = self.should_stop(total)
            while not done:
                planes, targets = next(batches)
                lr = learning_rate(cfg, self.step, self.elapsed, self.leg_start[0])
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                targets = targets.to(self.device, non_blocking=True)
                logits = train_step(model, self.optimizer, self.to_device(planes), targets, self.precision)
                if self.average is not None:
                    self.average.update_parameters(future_heads.network(self.model))
                self.step += 1
                self.samples += cfg.batch_size
                self.elapsed = start_elapsed + time.time() - start
                sums += batch_stats(*future_heads.main_head(logits, targets))
                done = self.should_stop(total)
                if self.step % cfg.log_every == 0 or done:
                    nll, top1, top5, n = self.dist.all_sum(sums.tolist(), self.device)
                    log.row(self.step, self.samples, "train", nll / n, top1 / n, top5 / n, lr, self.elapsed)
                    rate = n / max(time.time() - window_start, 1e-9)  # n: samples over all ranks
                    log.postfix(bar, loss=f"{nll / n:.3f}", samples_s=f"{rate:,.0f}")
                    sums, window_start = torch.zeros(4, dtype=torch.float64, device=self.device), time.time()
                log.advance(bar)
                if self.val_data is not None and (self.step % cfg.val_every == 0 or done):
                    self.last_val = self.validate()
                    v = self.last_val
                    log.row(self.step, self.samples, "val", v["loss"], v["top1"], v["top5"], lr, self.elapsed)
                    for h in v.get("future", []):  # rows "val-move2", "val-move3"...: the heads' own metrics
                        log.row(self.step, self.samples, f"val-move{h['move']}", h["loss"], h["top1"], h["top5"],
                                lr, self.elapsed)
                    if v["loss"] < self.best:
                        self.best = v["loss"]
                        if self.lead:
                            ck.save(self.out / ck.BEST, self.state())
                    if self.average is not None:  # kept in the state, for export --checkpoint average
                        v = self.last_val["average"] = self.validate_average()
                        log.row(self.step, self.samples, "val-average", v["loss"], v["top1"], v["top5"], lr,
                                self.elapsed)
                if self.lead and (self.step % cfg.checkpoint_every == 0 or done):
                    state = self.state()
                    ck.save(self.out / ck.LAST, state)
                    run_state.save(self.out / RUN_STATE, {**state, "config": portable(state["config"])})
        finally:
            bar.close()
            log.close()
        return self.last_val

    def validate_average(self) -> dict:
        """Recompute the averaged network's batch-norm statistics on training positions, then
        return its validation metrics, as validate() does."""
        if self.cfg.batch_norm:
            from torch.optim.swa_utils import update_bn

            with self.autocast():
                update_bn(self.norm_batches(), self.average, self.device)
        self.norms_step = self.step
        return self.validate(self.average)

    def norm_batches(self, positions: int = 4096, batch: int = 128):
        """Yield the same unaugmented training batches every time (the seed's own choice of positions)."""
        rng = np.random.default_rng([self.cfg.seed, 1])
        chosen = np.sort(rng.choice(len(self.train_data), size=min(positions, len(self.train_data)), replace=False))
        for start in range(0, len(chosen), batch):
            packed, _, _ = self.train_data.gather(chosen[start:start + batch])
            planes, _ = to_tensors(unpack_planes(packed), np.zeros(len(packed)))
            yield self.to_device(planes)

    def should_stop(self, total: int | None) -> bool:
        """Return True once a stop condition holds (rank 0's clock decides for --hours)."""
        if total is not None and self.step >= total:
            return True
        if self.cfg.hours is None:
            return False
        flag = float(self.lead and self.elapsed >= self.cfg.hours * 3600)
        return self.dist.all_sum([flag], self.device)[0] > 0


def run(args) -> int:
    """Run `gopolicy train`; return the exit status."""
    from gopolicy.training.shards import ShardError

    try:
        cfg = config_from_args(args)
        if cfg.total_steps() is None and cfg.hours is None:
            raise ValueError("give a stop condition: --steps, --samples or --hours")
        result = Trainer(cfg).run()
    except (ValueError, ShardError, ck.CheckpointError) as e:
        print(f"gopolicy train: {e}", file=sys.stderr)
        return 2
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    if result and Dist.from_env().rank == 0:
        print(json.dumps(result), file=sys.stderr)
    return 0
