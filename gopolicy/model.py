"""The supervised policy network of Silver et al. 2016 ("Mastering the game of Go
with deep neural networks and tree search", Methods: "Neural network architecture").

    input  float[B, 48, 19, 19]   the feature planes of gopolicy.features
    conv 5x5, k filters, zero padding 2, ReLU          (layer 1)
    conv 3x3, k filters, zero padding 1, ReLU          (layers 2 .. layers-1; eleven for 13)
    conv 1x1, one filter, no bias                      (layer `layers`)
    + a learned bias per point (361 of them)
    output logits float[B, 361]   (flat index row * 19 + col; softmax is left to the consumers)

The paper's network has 13 layers and k = 192 filters (k = 128, 256, 384 were also
trained). Only this module and policy/weights import torch.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

MAX_BOARD_SIZE = 25  # GTP's largest board


@dataclass(frozen=True)
class PolicyConfig:
    """Shape of a PolicyNet; validated on construction (ValueError if nonsensical)."""

    filters: int = 192
    layers: int = 13
    board_size: int = 19
    input_planes: int = 48

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            # bool is an int subclass; a config of True filters is a bug, not a network
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"PolicyConfig.{f.name} must be an int, got {value!r}")
        if self.filters < 1:
            raise ValueError(f"PolicyConfig.filters must be >= 1, got {self.filters}")
        if self.layers < 2:
            raise ValueError(f"PolicyConfig.layers must be >= 2 (5x5 input and 1x1 output convolutions), got {self.layers}")
        if not 2 <= self.board_size <= MAX_BOARD_SIZE:
            raise ValueError(f"PolicyConfig.board_size must be in 2..{MAX_BOARD_SIZE}, got {self.board_size}")
        if self.input_planes < 1:
            raise ValueError(f"PolicyConfig.input_planes must be >= 1, got {self.input_planes}")

    @property
    def points(self) -> int:
        """Return the number of board points (361 on 19x19)."""
        return self.board_size * self.board_size

    def to_dict(self) -> dict:
        """Return the config as a plain JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PolicyConfig:
        """Return the config in `data`; ValueError on unknown keys or bad values."""
        if not isinstance(data, dict):
            raise ValueError(f"network config must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown network config keys {unknown}")
        return cls(**data)


class PolicyNet(nn.Module):
    """The 13-layer AlphaGo SL policy network; forward(x) returns logits [B, points]."""

    def __init__(self, config: PolicyConfig | None = None, initialise: bool = True):
        super().__init__()
        self.config = config = config or PolicyConfig()
        k = config.filters
        convs = [nn.Conv2d(config.input_planes, k, kernel_size=5, padding=2)]
        convs += [nn.Conv2d(k, k, kernel_size=3, padding=1) for _ in range(config.layers - 2)]
        self.convs = nn.ModuleList(convs)
        self.head = nn.Conv2d(k, 1, kernel_size=1, bias=False)
        # The paper: "a different bias for each position"; a conv bias would be one shared number.
        self.point_bias = nn.Parameter(torch.zeros(config.points))
        if initialise:  # skipped when weights are about to be loaded: start-up time matters
            self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise weights (He-normal for the ReLU layers, zero biases)."""
        for conv in self.convs:
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)
        nn.init.normal_(self.head.weight, std=1.0 / self.config.filters**0.5)
        nn.init.zeros_(self.point_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits float[B, points] for planes float[B, input_planes, size, size]."""
        for conv in self.convs:
            x = torch.relu(conv(x))
        x = self.head(x.to(self.head.weight.dtype))  # Policy may run the convolutions in bf16
        return x.flatten(1) + self.point_bias


def expected_shapes(config: PolicyConfig) -> dict[str, tuple[int, ...]]:
    """Return {state_dict name: shape} of a PolicyNet with `config`, without building one."""
    k = config.filters
    shapes = {"convs.0.weight": (k, config.input_planes, 5, 5), "convs.0.bias": (k,)}
    for i in range(1, config.layers - 1):
        shapes[f"convs.{i}.weight"] = (k, k, 3, 3)
        shapes[f"convs.{i}.bias"] = (k,)
    shapes["head.weight"] = (1, k, 1, 1)
    shapes["point_bias"] = (config.points,)
    return shapes


def multiply_adds(config: PolicyConfig) -> int:
    """Return the multiply-adds of one forward pass for one position (biases ignored)."""
    k, n = config.filters, config.points
    per_point = config.input_planes * k * 25 + (config.layers - 2) * k * k * 9 + k
    return n * per_point


def forward_flops(config: PolicyConfig) -> int:
    """Return the floating-point operations of one forward pass for one position (2 per multiply-add)."""
    return 2 * multiply_adds(config)


def training_flops(config: PolicyConfig) -> int:
    """Return the FLOPs of one training sample: forward, weight gradients, input gradients.

    Weight gradients cost as much as the forward pass; input gradients too, except for the
    first layer, whose input (the feature planes) needs none: 3x forward minus that layer.
    """
    first = config.points * config.input_planes * config.filters * 25
    return 3 * forward_flops(config) - 2 * first


PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16(device: torch.device | str = "cpu") -> bool:
    """Return True where `device` computes bfloat16 natively: CUDA with bf16, or a CPU with
    AVX512_BF16 or AMX (where bf16 convolutions run about twice as fast as float32)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private, hence the getattr
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def device_name(device: torch.device | str = "cpu") -> str:
    """Return e.g. "cuda (NVIDIA H200)" or "cpu (<model name>, 2 cores)": the hardware a figure was measured on."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    name = "unknown model"
    try:
        with open("/proc/cpuinfo") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), name)
    except OSError:
        pass
    return f"cpu ({name}, {os.cpu_count()} cores)"


def resolve_precision(precision: str, device: torch.device | str = "cpu") -> str:
    """Return "fp32" or "bf16" for a --precision of "auto", "fp32" or "bf16" on `device`.

    auto picks bf16 only where it is native. Raises ValueError for an unknown name.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return precision


def for_inference(model: PolicyNet, precision: str) -> PolicyNet:
    """Return `model` in eval mode, set up for "fp32" or "bf16" inference (changed in place).

    bf16: the convolutions in bf16 and NHWC, as the fast kernels of GPUs and AVX512_BF16/AMX
    CPUs want; the 1x1 head and the point biases stay float32, so logits keep float32
    resolution (bf16 logits would move probabilities by several percent).
    """
    if precision == "bf16":
        model.convs.to(torch.bfloat16)
        model = model.to(memory_format=torch.channels_last)
    return model.eval()


def inference_input(planes: torch.Tensor, precision: str) -> torch.Tensor:
    """Return feature planes (uint8 or float, on the model's device) as the input for_inference expects."""
    if precision == "bf16":
        return planes.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    return planes.float()
