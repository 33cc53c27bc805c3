"""`gopolicy bench`'s network figures: the contract keys, and the peak of the precision the trainer uses."""

from gopolicy.benchmarks import network_bench
from gopolicy.training import peak
from gopolicy.model import native_bf16, resolve_precision


def test_network_bench_reports_precision_and_both_peaks(monkeypatch, one_thread):
    # a tiny network and kernels: this checks what is reported, not how fast anything is
    monkeypatch.setattr(network_bench, "FILTERS", 8)
    monkeypatch.setattr(peak, "SHAPES", {"cpu": (64, (2, 16, 9)), "cuda": (64, (2, 16, 9))})
    out = network_bench.measure(rounds=1, batch1_calls=1)
    precision = resolve_precision("auto", "cpu")
    assert out["train_precision"] == out["inference_precision"] == precision
    assert out["peak_gflops_fp32"] > 0
    assert (out["peak_gflops_bf16"] is not None) == native_bf16("cpu")
    assert out["peak_gflops"] == out[f"peak_gflops_{precision}"]
    assert out["evaluate_ms_symmetries8"] > 0 and out["evaluate_ms_fp32"] > 0
    assert out["train_samples_per_s"] > 0 and out["train_samples_per_s_batch_norm"] > 0
    assert out["train_samples_per_s_batch_norm_one_thread"] > 0  # measured on the CPU
    assert abs(out["train_pct_of_peak"] - 100 * out["conv_gflops"] / out["peak_gflops"]) < 1e-9
    rates = [out[f"pass_gflops_{name}"] for name in ("forward", "input_grad", "weight_grad")]
    assert min(rates) <= out["pass_ceiling_gflops"] <= max(rates)
    assert abs(out["train_pct_of_pass_ceiling"] - 100 * out["conv_gflops"] / out["pass_ceiling_gflops"]) < 1e-9


def test_the_three_passes_return_a_layers_output_and_gradients():
    """conv_pass_kernels: forward, input gradient, weight and bias gradients, each the same FLOPs."""
    import torch

    kernels = peak.conv_pass_kernels("cpu", torch.float32, batch=2, channels=4, side=5)
    out = kernels["forward"][1]()
    grad_input = kernels["input_grad"][1]()[0]
    _, grad_weight, grad_bias = kernels["weight_grad"][1]()
    assert out.shape == grad_input.shape == (2, 4, 5, 5)
    assert grad_weight.shape == (4, 4, 3, 3) and grad_bias.shape == (4,)
    assert all(flops == 2 * 2 * 25 * 4 * 4 * 9 for flops, _ in kernels.values())
