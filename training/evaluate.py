"""`gopolicy evaluate`: move-prediction accuracy of a network on SGF games.

Every position of every readable 19x19 game in SOURCES whose next move is not a pass
is encoded and batched through the network. As in gopolicy.policy, illegal points are
masked out before the softmax (legal = the capture-size planes 20-27 of the encoding),
so top-1/top-5 count the engine's actual choices and NLL is that of its move
distribution. With --symmetries n the move distribution is, as in gopolicy.policy, the
average of the probabilities under the first n of the 8 board symmetries. The JSON keeps
the contract's keys (ARCHITECTURE.md, Contracts) {"games", "positions", "top1", "top5",
"nll"} (accuracies as fractions) and adds "by_move" (per move-number bucket), "skipped"
(games by reason) and "passes" (positions not scored).
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections import Counter
from multiprocessing import get_context

import numpy as np
import torch

from gopolicy.model import PRECISIONS
from gopolicy.network_options import add_network_arguments
from gopolicy.training.prepare import encode_unpacked, split_of  # a torch-free module for the worker processes

BUCKETS = ((0, 20), (20, 50), (50, 100), (100, 200), (200, None))
LEGAL_PLANES = slice(20, 28)  # capture size: one of them is set on every legal empty point


def bucket_name(start: int, end: int | None) -> str:
    return f"{start}-{end - 1}" if end is not None else f"{start}+"


class Scores:
    """Running sums of NLL, top-1 and top-5 hits per move-number bucket."""

    def __init__(self):
        self.sums = np.zeros((len(BUCKETS), 4))  # nll, top1, top5, count
        self.edges = np.array([b[0] for b in BUCKETS[1:]])

    def add(self, nll: np.ndarray, top1: np.ndarray, top5: np.ndarray, move_numbers: np.ndarray) -> None:
        bucket = np.searchsorted(self.edges, move_numbers, side="right")
        for column, values in enumerate((nll, top1, top5, np.ones_like(nll))):
            self.sums[:, column] += np.bincount(bucket, weights=values, minlength=len(BUCKETS))

    @staticmethod
    def _summary(nll, top1, top5, n) -> dict:
        n = int(n)
        return {"positions": n, "top1": top1 / n if n else 0.0, "top5": top5 / n if n else 0.0,
                "nll": nll / n if n else 0.0}

    def result(self) -> dict:
        """Return {"positions", "top1", "top5", "nll", "by_move": {bucket: same keys}}."""
        out = self._summary(*self.sums.sum(0))
        out["by_move"] = {bucket_name(*b): self._summary(*row) for b, row in zip(BUCKETS, self.sums)}
        return out


def score_batch(model, planes: np.ndarray, moves: np.ndarray, device,
                precision: str = "fp32", symmetries: int = 1) -> tuple[np.ndarray, ...]:
    """Return per-position (nll, top1 hit, top5 hit) of the masked output of a model
    set up by gopolicy.model.for_inference(model, precision), averaged over `symmetries`."""
    from gopolicy import symmetry
    from gopolicy.model import inference_input

    x = torch.from_numpy(planes).to(device)
    y = torch.from_numpy(moves.astype(np.int64)).to(device)
    legal = x[:, LEGAL_PLANES].amax(1).flatten(1) > 0
    legal[torch.arange(len(y), device=device), y] = True  # never score a played move as impossible
    size = x.shape[-1]
    log_probs = []
    with torch.no_grad():
        for s in range(symmetries):
            logits = model(inference_input(symmetry.apply(x, s), precision)).float().view(-1, size, size)
            logits = symmetry.apply(logits, symmetry.inverse(s)).flatten(1).masked_fill(~legal, float("-inf"))
            log_probs.append(torch.log_softmax(logits, 1))
        # the log of the mean probability; exactly log_softmax for one symmetry
        log_p = torch.logsumexp(torch.stack(log_probs), 0) - math.log(symmetries)
        nll = -log_p.gather(1, y[:, None])[:, 0]
        hits = log_p.topk(5, dim=1).indices == y[:, None]
    return nll.cpu().numpy(), hits[:, 0].cpu().numpy(), hits.any(1).cpu().numpy()


def evaluate(weights, sources, batch_size: int = 512, device: str = "auto", workers: int = 1,
             limit: int | None = None, split: str | None = None,
             fractions: tuple[float, float, float] = (0.96, 0.02, 0.02), precision: str = "auto",
             symmetries: int = 1) -> dict:
    """Return the accuracy JSON dict of the network in `weights` on the games of `sources`
    (only those `gopolicy prepare --split fractions` puts in `split`, if given).

    Raises WeightsError for an unusable weights file.
    """
    from gopolicy.model import for_inference, resolve_precision
    from gopolicy.policy import resolve_device
    from gopolicy.sgf_collections import CollectionStats, iter_sgf_bytes
    from gopolicy.weights import load_weights

    device = resolve_device(device)
    precision = resolve_precision(precision, device)
    model = for_inference(load_weights(weights, device=device)[0], precision)
    scores, skipped, games, passes = Scores(), Counter(), 0, 0
    pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def flush():
        planes = np.concatenate([p[0] for p in pending])
        moves = np.concatenate([p[1] for p in pending])
        numbers = np.concatenate([p[2] for p in pending])
        scores.add(*score_batch(model, planes, moves, device, precision, symmetries), numbers)
        pending.clear()

    unread = CollectionStats()  # records too large or in damaged archives: skipped, counted
    items = iter_sgf_bytes([str(s) for s in sources], unread)
    if split is not None:
        items = (item for item in items if split_of(item[1], fractions) == split)
    if limit is not None:
        items = (item for _, item in zip(range(limit), items))
    pool = get_context("spawn").Pool(workers) if workers > 1 else None
    try:
        results = pool.imap(encode_unpacked, items, chunksize=4) if pool else map(encode_unpacked, items)
        for result in results:
            passes += result.passes
            if result.skipped:
                skipped[result.skipped] += 1
                continue
            games += 1
            pending.append((result.packed, np.asarray(result.moves), np.asarray(result.move_numbers)))
            if sum(len(p[1]) for p in pending) >= batch_size:
                flush()
        if pending:
            flush()
    finally:
        if pool:
            pool.terminate()
    out = {"games": games}
    out.update(scores.result())
    out.update(precision=precision, symmetries=symmetries)
    skipped.update(unread.skipped)
    out.update(skipped=dict(sorted(skipped.items())), passes=passes)
    return out


def score_prepared(model, folder, split: str, device, precision: str = "fp32", deadline: float | None = None,
                   batch_size: int = 1024, symmetries: int = 1) -> tuple[dict, bool]:
    """Return (the figures of evaluate() {"positions", "top1", "top5", "nll", "by_move"} of a model set up
    by for_inference, on the positions of one split of a `gopolicy prepare` folder; True if `deadline`,
    a time.time() value, cut the scoring short). Raises ShardError for an unusable folder."""
    import time

    from gopolicy.features import FEATURE_VERSION
    from gopolicy.training.dataset import ShardDataset
    from gopolicy.training.shards import unpack_planes

    dataset, scores = ShardDataset(folder, split, FEATURE_VERSION), Scores()
    for start in range(0, len(dataset), batch_size):
        if deadline is not None and time.time() >= deadline:
            return scores.result(), True
        packed, moves, numbers = dataset.gather(np.arange(start, min(start + batch_size, len(dataset))))
        scores.add(*score_batch(model, unpack_planes(packed), moves, device, precision, symmetries), numbers)
    return scores.result(), False


def add_arguments(parser) -> None:
    """Add the `gopolicy evaluate` options to `parser`."""
    parser.add_argument("sources", nargs="+", help="SGF files, folders, .tar.gz/.tgz/.zip archives")
    add_network_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--batch-size", type=int, default=512, help="positions per forward pass")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="auto (default): bf16 where the device has it natively, else fp32")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes encoding games (default: all cores)")
    parser.add_argument("--limit", type=int, help="read at most N games")
    parser.add_argument("--split", choices=["train", "val", "test"],
                        help="score only the games that `gopolicy prepare` puts in this split")
    parser.add_argument("--split-fractions", default="0.96,0.02,0.02", metavar="TRAIN,VAL,TEST",
                        help="the fractions given to prepare --split (default 0.96,0.02,0.02)")


def run(args) -> int:
    """Run `gopolicy evaluate`; return the exit status."""
    from gopolicy.weights import WeightsError, default_weights_path

    weights = args.weights if args.weights is not None else default_weights_path()
    try:
        fractions = tuple(float(x) for x in args.split_fractions.split(","))
        result = evaluate(weights, args.sources, args.batch_size, args.device, args.workers,
                          args.limit, args.split, fractions, args.precision, args.symmetries)
    except WeightsError as e:
        print(f"gopolicy evaluate: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['games']} games, {result['positions']} positions: top-1 {result['top1']:.1%}, "
          f"top-5 {result['top5']:.1%}, NLL {result['nll']:.3f}")
    for name, row in result["by_move"].items():
        print(f"  moves {name:>8}: {row['positions']:>8} positions  top-1 {row['top1']:6.1%}  "
              f"top-5 {row['top5']:6.1%}  NLL {row['nll']:.3f}")
    if result["skipped"]:
        print(f"skipped games: {result['skipped']}")
    return 0
