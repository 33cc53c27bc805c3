"""Network speed on this machine (k=192, CPU unless CUDA is present) against its peak.

    python -m gopolicy.benchmarks.network_bench [--rounds N] [--threads T]

measure() returns (rates in GFLOP/s, FLOPs from gopolicy.model's exact count):

    peak_gflops_fp32            the best of a large matmul and a large 3x3 convolution
                                (training.peak.peak_kernels), float32, same threads
    peak_gflops_bf16            the same in bfloat16; null where the device has no native bf16
    peak_gflops                 the peak of the precision the trainer uses
    train_precision             what `gopolicy train --precision auto` picks here
    inference_ms_batch1         one position through Policy's network path (planes -> logits)
    evaluate_ms_batch1          one Position through Policy.evaluate (features, mask, softmax too)
    evaluate_ms_symmetries8     the same averaged over the 8 symmetries (one batch of 8)
    evaluate_ms_fp32            evaluate_ms_batch1 with the network in float32, for comparison
    inference_positions_per_s   batches of INFERENCE_BATCH positions
    train_samples_per_s         the trainer's own step (training.trainer.train_step: channels_last,
                                autocast in train_precision, SGD momentum), batches of TRAIN_BATCH
    train_samples_per_s_batch_norm  the same with batch norm (gopolicy train --batch-norm)
    train_samples_per_s_batch_norm_one_thread  the same on one thread (CPU only, else null): where
                                it is as fast as all threads, train on one core and use the others
    conv_gflops                 the network's rate while training (train_samples_per_s * FLOPs)
    conv_gflops_batch1          its rate at batch-1 inference
    train_pct_of_peak, batch1_pct_of_peak   conv rate / the peak of the precision used * 100
    pass_gflops_forward, pass_gflops_input_grad, pass_gflops_weight_grad
                                one 3x3 layer of the trainer (k, batch, precision) in each of the
                                three passes of a training step (training.peak.conv_pass_kernels)
    pass_ceiling_gflops         their harmonic mean: the fastest a training step could run
    train_pct_of_pass_ceiling   conv_gflops / pass_ceiling_gflops * 100: what the step loses to
                                everything that is not a convolution kernel
    device, threads

The machine may be shared, so each figure is measured in several interleaved rounds (peaks,
inference, training in turn, so all see the same conditions); the best is reported, and
`*_median` / `*_worst` keys give the spread.

What was tried on the 2-core AVX2 EPYC this was first written on: eager NCHW float32 reaches
the matmul peak at batch 1 and ~80-90% of it when training at batch 32; torch.jit.freeze
and torch.compile stayed within the noise (torch.compile also on a bf16 AMX Xeon: 305
against 320 samples/s eager for k=128 with batch norm). A 2048x2048 matmul is not the CPU's
peak: oneDNN's 3x3 convolution beats it, hence the best of both. On CPUs with AVX512_BF16
or AMX, bf16 (convolutions in bf16, NHWC) is the fast path for training and inference. On
a shared machine OpenMP threads spin-wait for each other, so with other processes busy 2
threads at batch 1 spread from 70 to 500 ms; OMP_WAIT_POLICY=PASSIVE (set before torch
loads) or --threads 1 keeps it steady.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from gopolicy.model import (PolicyConfig, PolicyNet, device_name, forward_flops, native_bf16, resolve_precision,
                            training_flops)
from gopolicy.training.peak import conv_pass_kernels, peak_kernels

FILTERS = 192
INFERENCE_BATCH = 32
TRAIN_BATCH = 32


def _timed(fn) -> float:
    """Return the seconds one call of fn takes (CUDA work included)."""
    start = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def _sample_position():
    """Return a middle-game-like Position (stones, captures) for the full evaluate path."""
    from gopolicy.board import Position

    rng = np.random.default_rng(0)
    position = Position()
    for _ in range(80):
        legal = np.flatnonzero(position.legal_mask())
        position = position.play(divmod(int(rng.choice(legal)), 19))
    return position


def _train_step(config: PolicyConfig, device: str, batch: int, precision: str, batch_norm: bool = False):
    """Return a function doing one step of the trainer's own train_step on random 0/1 planes."""
    from gopolicy.training.batchnorm import BatchNormPolicyNet
    from gopolicy.training.trainer import train_step

    torch.manual_seed(0)
    net = (BatchNormPolicyNet(config) if batch_norm else PolicyNet(config)).to(device).train()
    net = net.to(memory_format=torch.channels_last)
    shape = (batch, config.input_planes, config.board_size, config.board_size)
    x = (torch.rand(shape, device=device) < 0.3).float().contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, config.points, (batch,), device=device)
    optimiser = torch.optim.SGD(net.parameters(), lr=0.003, momentum=0.9)
    return lambda: train_step(net, optimiser, x, y, precision)


def _summary(name: str, samples: list[float], higher_is_better: bool = True) -> dict:
    best = max(samples) if higher_is_better else min(samples)
    worst = min(samples) if higher_is_better else max(samples)
    return {name: best, f"{name}_median": statistics.median(samples), f"{name}_worst": worst}


def measure(rounds: int = 5, threads: int | None = None, batch1_calls: int = 5) -> dict:
    """Return the figures above, the best of `rounds` interleaved rounds (plus a warm-up)."""
    from gopolicy.policy import Policy
    from gopolicy.weights import save_weights

    if threads:
        torch.set_num_threads(threads)
    config = PolicyConfig(filters=FILTERS)
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        path = save_weights(Path(tmp) / "k192.safetensors", PolicyNet(config), {"provenance": {"bench": True}})
        policy = Policy(path, device="auto")
        policy8 = Policy(path, device="auto", symmetries=8)
        policy_fp32 = Policy(path, device="auto", precision="fp32")
    device = policy.device
    precision = resolve_precision("auto", device)
    peaks = {"fp32": peak_kernels(device, torch.float32)}
    if native_bf16(device):
        peaks["bf16"] = peak_kernels(device, torch.bfloat16)
    position = _sample_position()
    from gopolicy.features import encode_batch

    planes1 = encode_batch([position])
    planes_batch = np.repeat(planes1, INFERENCE_BATCH, axis=0)
    train = _train_step(config, device, TRAIN_BATCH, precision)
    train_bn = _train_step(config, device, TRAIN_BATCH, precision, batch_norm=True)
    passes = conv_pass_kernels(device, torch.bfloat16 if precision == "bf16" else torch.float32,
                               TRAIN_BATCH, FILTERS)
    on_cpu = torch.device(device).type == "cpu"
    samples = {key: [] for key in ("fp32", "bf16", "batch1", "evaluate", "evaluate8", "evaluate_fp32", "batch",
                                   "train", "train_bn", "train_bn_one_thread", *passes)}
    for r in range(rounds + 1):  # round 0 warms up caches, allocators and oneDNN primitives
        keep = r > 0
        with torch.inference_mode():
            t_peaks = {name: max(flops / _timed(fn) for flops, fn in kernels) for name, kernels in peaks.items()}
            t_b1 = [_timed(lambda: policy.logits(planes1)) for _ in range(batch1_calls)]
            t_eval = [_timed(lambda: policy.evaluate(position)) for _ in range(2)]
            t_eval8 = _timed(lambda: policy8.evaluate(position))
            t_eval_fp32 = _timed(lambda: policy_fp32.evaluate(position))
            t_batch = _timed(lambda: policy.logits(planes_batch))
            t_passes = {name: flops / _timed(fn) for name, (flops, fn) in passes.items()}
        t_train, t_train_bn = _timed(train), _timed(train_bn)
        if on_cpu:
            all_threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                t_train_one = _timed(train_bn)
            finally:  # bench goes on to other areas after a failure; they must keep every thread
                torch.set_num_threads(all_threads)
        if keep:
            for name, rate in t_peaks.items():
                samples[name].append(rate / 1e9)
            samples["batch1"] += t_b1
            samples["evaluate"] += t_eval
            samples["evaluate8"].append(t_eval8)
            samples["evaluate_fp32"].append(t_eval_fp32)
            samples["batch"].append(INFERENCE_BATCH / t_batch)
            samples["train"].append(TRAIN_BATCH / t_train)
            samples["train_bn"].append(TRAIN_BATCH / t_train_bn)
            if on_cpu:
                samples["train_bn_one_thread"].append(TRAIN_BATCH / t_train_one)
            for name, rate in t_passes.items():
                samples[name].append(rate / 1e9)
    fwd, trn = forward_flops(config), training_flops(config)
    out = {"device": device_name(device),
           "threads": torch.get_num_threads(), "filters": FILTERS, "rounds": rounds,
           "inference_batch": INFERENCE_BATCH, "train_batch": TRAIN_BATCH, "train_precision": precision,
           "inference_precision": policy.precision}
    out.update(_summary("peak_gflops_fp32", samples["fp32"]))
    out.update(_summary("peak_gflops_bf16", samples["bf16"]) if samples["bf16"] else {"peak_gflops_bf16": None})
    out["peak_gflops"] = out[f"peak_gflops_{precision}"]
    out.update(_summary("inference_ms_batch1", [t * 1e3 for t in samples["batch1"]], higher_is_better=False))
    out.update(_summary("evaluate_ms_batch1", [t * 1e3 for t in samples["evaluate"]], higher_is_better=False))
    out.update(_summary("evaluate_ms_symmetries8", [t * 1e3 for t in samples["evaluate8"]], higher_is_better=False))
    out.update(_summary("evaluate_ms_fp32", [t * 1e3 for t in samples["evaluate_fp32"]], higher_is_better=False))
    out.update(_summary("inference_positions_per_s", samples["batch"]))
    out.update(_summary("train_samples_per_s", samples["train"]))
    out.update(_summary("train_samples_per_s_batch_norm", samples["train_bn"]))
    out.update(_summary("train_samples_per_s_batch_norm_one_thread", samples["train_bn_one_thread"])
               if samples["train_bn_one_thread"] else {"train_samples_per_s_batch_norm_one_thread": None})
    out.update(_summary("conv_gflops", [s * trn / 1e9 for s in samples["train"]]))
    out.update(_summary("conv_gflops_batch1", [fwd / t / 1e9 for t in samples["batch1"]]))
    out["conv_gflops_inference_batch"] = out["inference_positions_per_s"] * fwd / 1e9
    # best against best: the fairest figure when other processes share the cores
    out["train_pct_of_peak"] = 100 * out["conv_gflops"] / out["peak_gflops"]
    out["batch1_pct_of_peak"] = 100 * out["conv_gflops_batch1"] / out[f"peak_gflops_{policy.precision}"]
    for name in passes:
        out.update(_summary(f"pass_gflops_{name}", samples[name]))
    out["pass_ceiling_gflops"] = len(passes) / sum(1 / out[f"pass_gflops_{name}"] for name in passes)
    out["train_pct_of_pass_ceiling"] = 100 * out["conv_gflops"] / out["pass_ceiling_gflops"]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args(argv)
    print(json.dumps(measure(rounds=args.rounds, threads=args.threads), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
