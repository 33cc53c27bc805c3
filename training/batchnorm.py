"""The policy network with batch normalisation, for training only; folded away at export.

    BatchNormPolicyNet: conv (no bias) -> BatchNorm2d -> ReLU for the 5x5 and the eleven 3x3
    layers, then the same 1x1 head and per-point bias as gopolicy.model.PolicyNet.

In eval mode each BatchNorm is an affine map per channel, so it folds into its
convolution (W' = W * s, b' = beta - mean * s with s = gamma / sqrt(var + eps)) and the
exported file is exactly the paper's 13-layer network. The per-channel state that
folding consumes (gamma, beta, mean, var) is tiny and travels in the weights file's
metadata, so a later run unfolds the shipped network back into the network it trained
(W = W' / s), with nothing lost.
"""

from __future__ import annotations

import torch
from torch import nn

from gopolicy.model import PolicyConfig, PolicyNet

EPS = 1e-5


class BatchNormPolicyNet(nn.Module):
    """PolicyNet with a BatchNorm2d after every ReLU layer's convolution; forward(x) -> logits [B, points]."""

    def __init__(self, config: PolicyConfig | None = None):
        super().__init__()
        self.config = config = config or PolicyConfig()
        plain = PolicyNet(config)  # same layer shapes and initialisation, biases dropped
        self.convs = nn.ModuleList(
            nn.Conv2d(c.in_channels, c.out_channels, c.kernel_size, padding=c.padding, bias=False)
            for c in plain.convs)
        for conv, source in zip(self.convs, plain.convs):
            conv.weight.data.copy_(source.weight.data)
        self.norms = nn.ModuleList(nn.BatchNorm2d(config.filters, eps=EPS) for _ in self.convs)
        self.head = plain.head
        self.point_bias = plain.point_bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits float[B, points] for planes float[B, input_planes, size, size]."""
        for conv, norm in zip(self.convs, self.norms):
            x = torch.relu(norm(conv(x)))
        return self.head(x).flatten(1) + self.point_bias


def norm_state(net: BatchNormPolicyNet) -> dict:
    """Return the per-channel BatchNorm state as JSON-able lists: {"eps", "layers": [{weight, bias, mean, var}]}."""
    layers = [{"weight": n.weight.tolist(), "bias": n.bias.tolist(),
               "mean": n.running_mean.tolist(), "var": n.running_var.tolist()} for n in net.norms]
    return {"eps": EPS, "layers": layers}


def _scales(norm: nn.BatchNorm2d) -> torch.Tensor:
    return norm.weight.detach().double() / torch.sqrt(norm.running_var.double() + norm.eps)


@torch.no_grad()
def fold(net: BatchNormPolicyNet) -> PolicyNet:
    """Return the plain PolicyNet that computes what `net` computes in eval mode (float32)."""
    plain = PolicyNet(net.config, initialise=False)
    for conv, norm, out in zip(net.convs, net.norms, plain.convs):
        s = _scales(norm)  # folded in float64: the exported weights are rounded once, at the end
        out.weight.copy_((conv.weight.double() * s[:, None, None, None]).float())
        out.bias.copy_((norm.bias.double() - norm.running_mean.double() * s).float())
    plain.head.weight.copy_(net.head.weight)
    plain.point_bias.copy_(net.point_bias)
    return plain.eval()


@torch.no_grad()
def unfold(plain: PolicyNet, state: dict) -> BatchNormPolicyNet:
    """Return the BatchNormPolicyNet that `fold` turned into `plain`, given its norm_state.

    Raises ValueError if the state does not match the network's layers and filters.
    """
    net = BatchNormPolicyNet(plain.config)
    layers = state.get("layers") if isinstance(state, dict) else None
    if not isinstance(layers, list) or len(layers) != len(net.norms):
        raise ValueError(f"batch-norm state has {len(layers or [])} layers, the network {len(net.norms)}")
    for conv, norm, source, saved in zip(net.convs, net.norms, plain.convs, layers):
        for key, buffer in (("weight", norm.weight), ("bias", norm.bias), ("mean", norm.running_mean),
                            ("var", norm.running_var)):
            values = torch.tensor(saved[key], dtype=torch.float32)
            if values.shape != buffer.shape:
                raise ValueError(f"batch-norm {key} has shape {list(values.shape)}, expected {list(buffer.shape)}")
            buffer.copy_(values)
        norm.eps = float(state.get("eps", EPS))
        s = _scales(norm)
        if not bool((s.abs() > 1e-12).all()):
            raise ValueError("batch-norm state has a zero scale: the folded weights cannot be unfolded")
        conv.weight.copy_((source.weight.double() / s[:, None, None, None]).float())
    net.head.weight.copy_(plain.head.weight)
    net.point_bias.copy_(plain.point_bias)
    return net


@torch.no_grad()
def from_plain(plain: PolicyNet, planes: torch.Tensor) -> BatchNormPolicyNet:
    """Return a BatchNormPolicyNet that computes what `plain` computes on the batch `planes`.

    For a network trained without batch norm: each layer keeps its weights and its
    BatchNorm is set to undo the batch's own normalisation (gamma = the batch's standard
    deviation of the convolution's output, beta = its mean plus the plain bias), layer by
    layer on the same batch, so training continues from the plain network's function.
    """
    net = BatchNormPolicyNet(plain.config)
    x = planes.float()
    for conv, norm, source in zip(net.convs, net.norms, plain.convs):
        conv.weight.copy_(source.weight)
        y = conv(x)
        mean = y.mean(dim=(0, 2, 3))
        var = y.var(dim=(0, 2, 3), unbiased=False)
        norm.weight.copy_(torch.sqrt(var + norm.eps))
        norm.bias.copy_(mean + source.bias)
        norm.running_mean.copy_(mean)
        norm.running_var.copy_(var)
        x = torch.relu(y + source.bias[None, :, None, None])
    net.head.weight.copy_(plain.head.weight)
    net.point_bias.copy_(plain.point_bias)
    return net
