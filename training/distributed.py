"""Where a training process stands in a torchrun job (`Dist`), and its torch device (`pick_device`)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass
class Dist:
    """Where this process stands in a torchrun job (world 1 without torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> Dist:
        """Return the ranks torchrun put in the environment."""
        env = os.environ
        return cls(int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0)))

    def all_sum(self, values: list[float], device) -> list[float]:
        """Return `values` summed over all ranks."""
        if self.world == 1:  # no device round trip: should_stop() asks this every step
            return [float(v) for v in values]
        t = torch.tensor(values, dtype=torch.float64, device=device)
        torch.distributed.all_reduce(t)
        return t.tolist()


def pick_device(name: str, dist: Dist) -> torch.device:
    """Return the torch device for "auto", "cpu", "cuda" (cuda:LOCAL_RANK under torchrun) or "cuda:N".

    Raises ValueError for an unknown name or CUDA asked for where there is none.
    """
    from gopolicy.policy import resolve_device

    name = resolve_device(name)
    return torch.device("cuda", dist.local_rank) if name == "cuda" else torch.device(name)
