"""The device's bfloat16 peak, measured briefly: the best of a large matmul and a large 3x3 convolution.

Sized for the device: on CUDA an 8192^3 matmul and a 128 x 512 -> 512 channel 3x3
convolution on 32x32 (each well past launch overhead; an H200 gives about 790 TFLOP/s
on the matmul); on a CPU a 2048^3 matmul and a 64 x 256 -> 256 channel convolution on
19x19. Convolutions run NHWC, the layout the trainer uses.
"""

from __future__ import annotations

import time

import torch

from gopolicy.model import native_bf16

SHAPES = {"cuda": (8192, (128, 512, 32)), "cpu": (2048, (64, 256, 19))}  # matmul n; conv batch, channels, side


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _best_rate(fn, flops: int, device: torch.device, rounds: int, reps: int, until: float) -> float:
    """Return the best FLOP/s of `rounds` timings of `reps` calls, stopping early at time `until`."""
    fn()  # warm-up: kernel choice, allocator, oneDNN primitives
    _sync(device)
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        _sync(device)
        best = max(best, flops * reps / (time.perf_counter() - start))
        if time.time() >= until:
            break
    return best


def peak_kernels(device, dtype: torch.dtype = torch.bfloat16) -> list[tuple[int, object]]:
    """Return [(flops, fn)]: the square matmul and the NHWC 3x3 convolution sized for `device`, in `dtype`."""
    device = torch.device(device)
    n, (batch, channels, side) = SHAPES["cuda" if device.type == "cuda" else "cpu"]
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    x = torch.randn(batch, channels, side, side, device=device, dtype=dtype)
    w = torch.randn(channels, channels, 3, 3, device=device, dtype=dtype)
    x, w = (t.contiguous(memory_format=torch.channels_last) for t in (x, w))
    return [(2 * n**3, lambda: a @ b),
            (2 * batch * side * side * channels * channels * 9, lambda: torch.nn.functional.conv2d(x, w, padding=1))]


def conv_pass_kernels(device, dtype: torch.dtype, batch: int, channels: int,
                      side: int = 19) -> dict[str, tuple[int, object]]:
    """Return {pass: (flops, fn)} for the three passes of training one 3x3 layer (with bias) in `dtype`, NHWC.

    | pass         | computes                                | oneDNN call                      |
    | ------------ | --------------------------------------- | -------------------------------- |
    | forward      | the layer's output                      | convolution                      |
    | input_grad   | the gradient of its input               | convolution_backward, input only |
    | weight_grad  | the gradients of its weights and biases | convolution_backward, weights    |

    Each pass is the same number of multiply-adds; a training step can go no faster than
    their harmonic mean (the "pass ceiling").
    """
    device = torch.device(device)
    shape = (batch, channels, side, side)
    x, grad = (torch.randn(shape, device=device, dtype=dtype).contiguous(memory_format=torch.channels_last)
               for _ in range(2))
    w = torch.randn(channels, channels, 3, 3, device=device, dtype=dtype).contiguous(memory_format=torch.channels_last)
    b = torch.zeros(channels, device=device, dtype=dtype)
    flops = 2 * batch * side * side * channels * channels * 9

    def backward(mask):
        return torch.ops.aten.convolution_backward(grad, x, w, [channels], [1, 1], [1, 1], [1, 1], False,
                                                   [0, 0], 1, mask)

    return {"forward": (flops, lambda: torch.nn.functional.conv2d(x, w, b, padding=1)),
            "input_grad": (flops, lambda: backward([True, False, False])),
            "weight_grad": (flops, lambda: backward([False, True, True]))}


def bf16_peak_flops(device, seconds: float = 10.0) -> float | None:
    """Return the device's bf16 FLOP/s (the better of matmul and 3x3 convolution), or None where
    it has no native bf16. Takes about a second on a GPU; stops timing after `seconds`."""
    device = torch.device(device)
    if not native_bf16(device):
        return None
    until = time.time() + seconds
    reps = 10 if device.type == "cuda" else 1
    with torch.inference_mode():
        return max(_best_rate(fn, flops, device, 3, reps, until) for flops, fn in peak_kernels(device))
