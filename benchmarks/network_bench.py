"""Network speed on this machine (k=192, CPU unless CUDA is present) against a matmul peak.

    python -m benchmarks.network_bench [--rounds N] [--threads T]

measure() returns (rates in GFLOP/s, FLOPs from gopolicy.model's exact count):

    peak_gflops                 a 2048x2048 float32 matmul (torch) on the same threads
    inference_ms_batch1         one position through Policy's network path (planes -> logits)
    evaluate_ms_batch1          one Position through Policy.evaluate (features, mask, softmax too)
    inference_positions_per_s   batches of INFERENCE_BATCH positions
    train_samples_per_s         forward + backward + SGD momentum step, batches of TRAIN_BATCH
    conv_gflops                 the network's rate while training (train_samples_per_s * FLOPs)
    conv_gflops_batch1          its rate at batch-1 inference
    train_pct_of_peak, batch1_pct_of_peak   conv rate / peak_gflops * 100
    device, threads

The machine may be shared, so each figure is measured in several interleaved rounds (peak,
inference, training in turn, so all see the same conditions); the best is reported, and
`*_median` / `*_worst` keys give the spread.

What was tried on the 2-core AVX2 EPYC this was written on (best of interleaved rounds):
eager NCHW float32 with torch.inference_mode reaches the matmul peak at batch 1 (oneDNN's
convolution kernels beat MKL's sgemm on this AMD CPU) and ~80-90% of it when training at
batch 32; channels_last, torch.jit.freeze + optimize_for_inference (2 s to build) and
torch.compile (45 s to compile) stayed within the noise, so Policy keeps eager NCHW on CPU
(channels_last + bf16 autocast on CUDA). What matters on a shared machine is OpenMP: its
threads spin-wait for each other, so with other processes busy, 2 threads at batch 1 spread
from 70 to 500 ms; OMP_WAIT_POLICY=PASSIVE (set before torch loads) or --threads 1 keeps it
at 45-60 ms.
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

from gopolicy.model import PolicyConfig, PolicyNet, forward_flops, training_flops

FILTERS = 192
INFERENCE_BATCH = 32
TRAIN_BATCH = 32
MATMUL_N = 2048
TRAIN_CHANNELS_LAST = True  # see _train_step: NHWC suits oneDNN's convolutions on CPU


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "cpu"


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


def _train_step(config: PolicyConfig, device: str, batch: int, channels_last: bool):
    """Return a function doing one SGD-momentum training step on random data."""
    torch.manual_seed(0)
    net = PolicyNet(config).to(device).train()
    x = torch.rand(batch, config.input_planes, config.board_size, config.board_size, device=device)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, config.points, (batch,), device=device)
    optimiser = torch.optim.SGD(net.parameters(), lr=0.003, momentum=0.9)

    def step():
        optimiser.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
            loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        optimiser.step()

    return step


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
    device = policy.device
    a, b = (torch.randn(MATMUL_N, MATMUL_N, device=device) for _ in range(2))
    position = _sample_position()
    from gopolicy.features import encode_batch

    planes1 = encode_batch([position])
    planes_batch = np.repeat(planes1, INFERENCE_BATCH, axis=0)
    train = _train_step(config, device, TRAIN_BATCH, TRAIN_CHANNELS_LAST)
    samples = {key: [] for key in ("peak", "batch1", "evaluate", "batch", "train")}
    for r in range(rounds + 1):  # round 0 warms up caches, allocators and oneDNN primitives
        keep = r > 0
        with torch.inference_mode():
            t_peak = _timed(lambda: a @ b)
            t_b1 = [_timed(lambda: policy.logits(planes1)) for _ in range(batch1_calls)]
            t_eval = [_timed(lambda: policy.evaluate(position)) for _ in range(2)]
            t_batch = _timed(lambda: policy.logits(planes_batch))
        t_train = _timed(train)
        if keep:
            samples["peak"].append(2 * MATMUL_N**3 / t_peak / 1e9)
            samples["batch1"] += t_b1
            samples["evaluate"] += t_eval
            samples["batch"].append(INFERENCE_BATCH / t_batch)
            samples["train"].append(TRAIN_BATCH / t_train)
    fwd, trn = forward_flops(config), training_flops(config)
    out = {"device": f"{device} ({_cpu_name()})" if device == "cpu" else torch.cuda.get_device_name(),
           "threads": torch.get_num_threads(), "filters": FILTERS, "rounds": rounds,
           "inference_batch": INFERENCE_BATCH, "train_batch": TRAIN_BATCH}
    out.update(_summary("peak_gflops", samples["peak"]))
    out.update(_summary("inference_ms_batch1", [t * 1e3 for t in samples["batch1"]], higher_is_better=False))
    out.update(_summary("evaluate_ms_batch1", [t * 1e3 for t in samples["evaluate"]], higher_is_better=False))
    out.update(_summary("inference_positions_per_s", samples["batch"]))
    out.update(_summary("train_samples_per_s", samples["train"]))
    out.update(_summary("conv_gflops", [s * trn / 1e9 for s in samples["train"]]))
    out.update(_summary("conv_gflops_batch1", [fwd / t / 1e9 for t in samples["batch1"]]))
    out["conv_gflops_inference_batch"] = out["inference_positions_per_s"] * fwd / 1e9
    # best against best: the fairest figure when other processes share the cores
    out["train_pct_of_peak"] = 100 * out["conv_gflops"] / out["peak_gflops"]
    out["batch1_pct_of_peak"] = 100 * out["conv_gflops_batch1"] / out["peak_gflops"]
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
