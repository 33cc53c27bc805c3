"""Heads that predict the moves after the next one (Tian & Zhu 2016, darkforest), for training only.

`FutureHeads(net, count)` wraps a PolicyNet or a BatchNormPolicyNet with `count` extra
heads on its last hidden layer (the input of its 1x1 head, after the last ReLU). Each is
what the main head is: a 1x1 convolution to one plane plus a bias per point. Head k
predicts the k-th move from the position: head 1 (the network's own) the move played in
it, head 2 the opponent's reply, head 3 our next move, and so on (count 2 is darkforest's
3-step prediction).

    forward(planes) -> logits float[B, 1+count, points]; [:, 0] is exactly net(planes)

The loss is head 1's cross entropy plus weight(k) = 1/k times head k's (1, 1/2, 1/3):
darkforest's weights, as its training code builds its criterion (facebookresearch/
darkforestGo, train/rl_framework/examples/go/models/model-12-parallel-384-n-output-bn.lua,
`w = 1.0 / k`). Each head's cross entropy is its mean over the samples that have its move;
where there is none (NONE: a pass, the end of the game) the sample counts for the other
heads only. darkforest instead skipped the positions that some head had no move for.

The heads live beside the network, never in it: a run's checkpoint keeps the network's
state dict as without heads ("model") and the heads' apart ("future_heads"); the
optimizer holds them as a second parameter group; the averaged weights (--ema-decay)
average the network alone. So export writes the paper's 13-layer network unchanged.
On --continue a run without heads may gain fresh ones, and a run with heads keeps them
(training.config.leg_options).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gopolicy.training.dataset import NONE


def weight(k: int) -> float:
    """Return the loss weight of head k, the one for the k-th move from the position: 1/k."""
    return 1.0 / k


class Heads(nn.Module):
    """`count` heads on a hidden layer of `filters` channels: forward(hidden) -> logits [B, count, points]."""

    def __init__(self, filters: int, points: int, count: int):
        super().__init__()
        if count < 1:
            raise ValueError(f"future-move heads: at least one, got {count}")
        self.conv = nn.Conv2d(filters, count, kernel_size=1, bias=False)  # one plane per head
        self.point_bias = nn.Parameter(torch.zeros(count, points))
        # as PolicyNet initialises its own head
        nn.init.normal_(self.conv.weight, std=1.0 / filters**0.5)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """Return logits float[B, count, points] of the last hidden layer float[B, filters, size, size]."""
        return self.conv(hidden).flatten(2) + self.point_bias


class FutureHeads(nn.Module):
    """A policy network `net` plus `count` Heads on its last hidden layer; see the module docstring."""

    def __init__(self, net: nn.Module, count: int):
        super().__init__()
        self.net, self.count = net, count
        self.heads = Heads(net.config.filters, net.config.points, count)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits float[B, 1+count, points]: the network's own, then the heads'."""
        hidden = []
        hook = self.net.head.register_forward_pre_hook(lambda module, args: hidden.append(args[0]))
        try:
            main = self.net(x)  # the network's own forward: [:, 0] is what the exported network computes
        finally:
            hook.remove()
        return torch.cat([main.unsqueeze(1), self.heads(hidden[0]).to(main.dtype)], dim=1)


def network(model: nn.Module) -> nn.Module:
    """Return the policy network inside `model` (a DistributedDataParallel, FutureHeads, both or neither)."""
    model = getattr(model, "module", model)
    return model.net if isinstance(model, FutureHeads) else model


def main_head(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the main head's (logits [B, points], targets [B]) of a batch with or without extra heads."""
    return (logits[:, 0], targets[:, 0]) if logits.dim() == 3 else (logits, targets)


def loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Return the training loss: cross entropy of the main head, plus weight(k) times each extra
    head's mean cross entropy over its samples with a target (0 where a batch has none)."""
    if logits.dim() == 2:
        return F.cross_entropy(logits, targets)
    total = F.cross_entropy(logits[:, 0], targets[:, 0])
    for j in range(1, logits.shape[1]):
        target = targets[:, j]
        summed = F.cross_entropy(logits[:, j], target, ignore_index=NONE, reduction="sum")
        total = total + weight(j + 1) * summed / (target != NONE).sum().clamp(min=1)
    return total


def metrics(sums: list[float], count: int) -> list[dict]:
    """Return per extra head {"move", "loss", "top1", "top5", "positions"} from the trainer's
    batch_stats of each head, summed over batches and flattened; "move" is 2 for the move after
    the next, and so on."""
    out = []
    for j in range(count):
        nll, top1, top5, n = sums[4 * j:4 * j + 4]
        n = max(n, 1.0)
        out.append({"move": j + 2, "loss": nll / n, "top1": top1 / n, "top5": top5 / n,
                    "positions": int(sums[4 * j + 3])})
    return out
