"""`gopolicy bench`'s network figures: the contract keys, and the peak of the precision the trainer uses."""

from benchmarks import network_bench
from training import peak
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
    assert abs(out["train_pct_of_peak"] - 100 * out["conv_gflops"] / out["peak_gflops"]) < 1e-9
