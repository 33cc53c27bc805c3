"""From Positions to move probabilities: a network, a device, and the rules' legal mask.

    policy = Policy()                      # the default network, CUDA if present
    pmap = policy.evaluate(position)       # PolicyMap: probs[row, col] over legal moves
    pmap.top(5), pmap.best(), pmap.prob((3, 3))

Probabilities are a softmax of the network's logits over the legal moves of the side
to play (empty, not suicide, not the ko point), so they sum to 1 there and are 0 on
every other point. With symmetries=n > 1 the position is also evaluated under the
first n of the 8 board symmetries and the probabilities, mapped back, are averaged
(symmetries=8 makes the policy exactly equivariant).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gopolicy import symmetry
from gopolicy.model import for_inference, inference_input, resolve_precision
from gopolicy.network_options import parse_device
from gopolicy.weights import default_weights_path, load_weights

MAX_BATCH = 256  # positions per forward pass; bounds memory on big evaluate_batch calls


@dataclass(frozen=True, eq=False)
class PolicyMap:
    """Move probabilities of one position: probs float32[size, size] indexed [row, col]."""

    probs: np.ndarray
    to_play: int
    size: int

    def top(self, n: int = 5) -> list[tuple[tuple[int, int], float]]:
        """Return up to n (point, probability) pairs of legal moves, most probable first."""
        flat = self.probs.ravel()
        order = np.argsort(-flat, kind="stable")[:n]  # stable: ties in row-major order
        return [(divmod(int(i), self.size), float(flat[i])) for i in order if flat[i] > 0]

    def prob(self, point) -> float:
        """Return the probability of a (row, col) point (0 if illegal); ValueError if off board."""
        row, col = point
        if not (0 <= row < self.size and 0 <= col < self.size):
            raise ValueError(f"point {point!r} is off a {self.size}x{self.size} board")
        return float(self.probs[row, col])

    def best(self):
        """Return the most probable (row, col) point, or None when no move is legal."""
        index = int(np.argmax(self.probs))
        if self.probs.flat[index] <= 0:
            return None
        return divmod(index, self.size)


def resolve_device(device: str = "auto") -> str:
    """Return the torch device string for "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".

    Raises ValueError for an unknown device or CUDA asked for but not available.
    """
    if parse_device(device) == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device != "cpu" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return device


def masked_softmax(logits: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """Return float32 softmax of logits [..., H, W] over the legal points; all 0 where none is legal."""
    flat = logits.reshape(logits.shape[:-2] + (-1,)).astype(np.float64)
    mask = legal.reshape(flat.shape)
    flat = np.where(mask, flat, -np.inf)
    top = flat.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)  # no legal move: avoid inf - inf
    e = np.where(mask, np.exp(flat - top), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    probs = e / np.where(total > 0, total, 1.0)
    return probs.astype(np.float32).reshape(logits.shape)


class Policy:
    """A network on a device turning Positions into PolicyMaps.

    weights: a weights file (None: weights/default.safetensors); device: "auto", "cpu",
    "cuda"; symmetries: 1..8, how many board symmetries to average; precision: "auto" (bf16
    where the device has it natively), "fp32" or "bf16". Raises WeightsError (a ValueError)
    for a bad weights file, ValueError for a bad device, symmetries or precision.
    """

    def __init__(self, weights: str | Path | None = None, device: str = "auto", symmetries: int = 1,
                 precision: str = "auto"):
        if not isinstance(symmetries, int) or not 1 <= symmetries <= symmetry.NUM_SYMMETRIES:
            raise ValueError(f"symmetries must be an int in 1..8, got {symmetries!r}")
        self.device = resolve_device(device)
        self.symmetries = symmetries
        self.precision = resolve_precision(precision, self.device)
        self.weights_path = Path(weights) if weights is not None else default_weights_path()
        model, self.metadata = load_weights(self.weights_path, device=self.device)
        self.config = model.config
        self.cuda = self.device.startswith("cuda")
        # On CPU torch already uses one thread per available core; the caller may lower it
        # (torch.set_num_threads) and we leave that alone.
        self.model = for_inference(model, self.precision)

    def __repr__(self) -> str:
        return (f"Policy({str(self.weights_path)!r}, device={self.device!r}, "
                f"symmetries={self.symmetries}, filters={self.config.filters})")

    def warm_up(self) -> None:
        """Run one empty position through the network, so that the first real evaluate does not
        pay for oneDNN/cuDNN kernel selection (a few hundred ms); call it from a loader thread."""
        size = self.config.board_size
        self.logits(np.zeros((1, self.config.input_planes, size, size), np.uint8))

    def logits(self, planes: np.ndarray) -> np.ndarray:
        """Return float32 logits [B, size, size] for feature planes uint8/float [B, planes, size, size]."""
        size = self.config.board_size
        out = np.empty((len(planes), size, size), dtype=np.float32)
        for start in range(0, len(planes), MAX_BATCH):
            chunk = torch.from_numpy(np.ascontiguousarray(planes[start:start + MAX_BATCH]))
            with torch.inference_mode():
                y = self.model(inference_input(chunk.to(self.device, non_blocking=True), self.precision))
                out[start:start + len(chunk)] = y.float().cpu().numpy().reshape(-1, size, size)
        return out

    def evaluate(self, position) -> PolicyMap:
        """Return the PolicyMap of one Position (for its side to play)."""
        return self.evaluate_batch([position])[0]

    def evaluate_batch(self, positions) -> list[PolicyMap]:
        """Return one PolicyMap per Position, evaluated in batches.

        Raises ValueError if a position's board size differs from the network's.
        """
        from gopolicy.features import encode_batch  # late: keeps `import gopolicy.policy` light

        positions = list(positions)
        if not positions:
            return []
        size = self.config.board_size
        for p in positions:
            if p.size != size:
                raise ValueError(f"position is {p.size}x{p.size} but the network plays {size}x{size}")
        planes = encode_batch(positions)
        legal = np.stack([p.legal_mask(p.to_play) for p in positions])
        probs = np.zeros((len(positions), size, size), dtype=np.float64)
        syms = range(self.symmetries)
        # all symmetries in one batch: one forward pass amortises the per-call overhead
        stacked = np.concatenate([symmetry.apply(planes, s) for s in syms])
        logits = self.logits(stacked).reshape(self.symmetries, len(positions), size, size)
        for s in syms:
            back = symmetry.apply(logits[s], symmetry.inverse(s))
            probs += masked_softmax(back, legal)
        probs /= self.symmetries
        maps = []
        for i, p in enumerate(positions):
            plane = probs[i].astype(np.float32)
            plane.setflags(write=False)  # a frozen map: consumers must not edit shared numbers
            maps.append(PolicyMap(probs=plane, to_play=p.to_play, size=size))
        return maps
