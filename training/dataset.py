"""Shards -> shuffled float batches with a random one of the 8 symmetries per sample.

The order of an epoch is a pure function of (seed, epoch): a permutation of all
positions and one symmetry per slot. Global batch k of an epoch is the slice
perm[k*G:(k+1)*G] with G = batch_size * world_size, and rank r takes the r-th
batch_size part of it; so 2 ranks x batch b see exactly the samples (and the
symmetries) of 1 rank x batch 2b, and the data position is just (epoch, batch).
Nothing is random outside that plan, so a resumed run reads what the
uninterrupted run would have read.

With `following=N` a batch's targets are int64[B, 1+N]: column 0 the move played in the
position, column k the move played k moves after it (ShardDataset.following), or NONE
where the game has no such move; every column is under the sample's symmetry.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import torch

from gopolicy.training import shards as sh

N = sh.BOARD_SIZE * sh.BOARD_SIZE
NONE = -1  # a target that does not exist (a pass, the end of the game): cross_entropy's ignore_index


@lru_cache(maxsize=None)
def symmetry_tables(size: int = sh.BOARD_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Return (src, move): int64[8, size*size] each, both derived from gopolicy.symmetry.apply.

    A transformed plane takes cell j from cell src[s, j] of the original, and a move
    at flat index m goes to move[s, m], so moves follow exactly what apply() does to planes.
    """
    from gopolicy import symmetry

    grid = np.arange(size * size, dtype=np.int64).reshape(size, size)
    src = np.stack([np.asarray(symmetry.apply(grid, s)).reshape(-1) for s in range(symmetry.NUM_SYMMETRIES)])
    move = np.argsort(src, axis=1)
    return src, move


def transform_batch(bits: np.ndarray, moves: np.ndarray, syms: np.ndarray):
    """Return (planes, moves) with sample i under symmetry syms[i]; bits uint8[B, 48, 19, 19].

    moves is int[B] or int[B, K] (a row of targets per sample, all mapped by the sample's
    symmetry); NONE entries stay NONE.
    """
    from gopolicy import symmetry

    _, move_table = symmetry_tables()
    out = np.empty_like(bits)
    # one strided copy per symmetry beats a per-sample gather by ~10x
    for s in np.unique(syms):
        rows = np.nonzero(syms == s)[0]
        out[rows] = symmetry.apply(bits[rows], int(s))
    moves = np.asarray(moves)
    per_sample = np.asarray(syms).reshape(-1, *[1] * (moves.ndim - 1))
    return out, np.where(moves < 0, NONE, move_table[per_sample, np.maximum(moves, 0)])


class ShardDataset:
    """All positions of one split of a prepared folder, memory-mapped."""

    def __init__(self, folder, split: str = "train", feature_version: int | None = None):
        self.shards = sh.split_shards(folder, split, feature_version)
        sizes = [len(s) for s in self.shards]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.split = split
        self._following: np.ndarray | None = None  # following() builds it on first use

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def gather(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (packed uint8[B, ROW_BYTES], moves int64[B], move_numbers int64[B]) in index order."""
        indices = np.asarray(indices, dtype=np.int64)
        packed = np.empty((len(indices), sh.ROW_BYTES), dtype=np.uint8)
        moves = np.empty(len(indices), dtype=np.int64)
        numbers = np.empty(len(indices), dtype=np.int64)
        which = np.searchsorted(self.offsets, indices, side="right") - 1
        for s in np.unique(which):
            slots = np.nonzero(which == s)[0]
            local = indices[slots] - self.offsets[s]
            order = np.argsort(local, kind="stable")  # ascending reads are kinder to the page cache
            slots, local = slots[order], local[order]
            shard = self.shards[s]
            packed[slots] = shard.planes[local]
            moves[slots] = shard.moves[local]
            numbers[slots] = shard.move_numbers[local]
        return packed, moves, numbers

    def following(self, indices: np.ndarray, count: int) -> np.ndarray:
        """Return int64[B, count]: column k-1 holds the move played k moves after position
        indices[i]'s own move (same game, move number exactly k more), NONE where there is none:
        a pass (prepare keeps no pass positions, so it shows as a missing move number), the end
        of the game, or a move outside prepare's --move-range.

        The first call reads every shard's moves, game ids and move numbers once into a table
        (int16[len, count], 4 bytes a position for count 2). Raises ShardError if a shard does
        not hold each game's positions as consecutive rows in move order, as prepare writes them.
        """
        indices = np.asarray(indices, dtype=np.int64)
        if count == 0:
            return np.full((len(indices), 0), NONE, dtype=np.int64)
        if self._following is None or self._following.shape[1] != count:
            self._following = np.concatenate([following_moves(shard, count) for shard in self.shards]) \
                if self.shards else np.full((0, count), NONE, dtype=np.int16)
        return self._following[indices].astype(np.int64)


def following_moves(shard: sh.Shard, count: int) -> np.ndarray:
    """Return int16[len(shard), count]: for each position the moves played 1..count moves after
    its own (ShardDataset.following), NONE where there is none.

    Raises ShardError unless each game's positions are one run of rows in increasing move number.
    """
    games, numbers = np.asarray(shard.game_ids), np.asarray(shard.move_numbers).astype(np.int64)
    moves = np.asarray(shard.moves)
    same = games[1:] == games[:-1]
    runs = 1 + int(np.count_nonzero(~same)) if len(games) else 0
    if runs != len(np.unique(games)) or bool((numbers[1:][same] <= numbers[:-1][same]).any()):
        raise sh.ShardError(f"{shard.path}: a game's positions are not consecutive rows in move order, "
                            "so the moves that follow them cannot be read; prepare the data again")
    out = np.full((len(moves), count), NONE, dtype=np.int16)
    for k in range(1, count + 1):
        for d in range(1, min(k, len(moves) - 1) + 1):  # move number +k is k rows on, fewer after passes
            hit = (games[d:] == games[:-d]) & (numbers[d:] == numbers[:-d] + k)
            out[:-d, k - 1][hit] = moves[d:][hit]
    return out


def to_tensors(bits: np.ndarray, moves: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Return float32[B, 48, 19, 19] planes and int64[B] move targets as torch tensors."""
    planes = torch.from_numpy(np.ascontiguousarray(bits)).to(torch.float32)
    return planes, torch.from_numpy(np.asarray(moves, dtype=np.int64))


class Batches:
    """DataLoader-style endless iterator of (planes, moves) batches for one rank.

    batch_size is per rank. `state_dict()` is the data position: the batches this
    iterator has handed out; `load_state_dict` continues from there.
    """

    def __init__(self, dataset: ShardDataset, batch_size: int, seed: int = 0, rank: int = 0,
                 world_size: int = 1, augment: bool = True, prefetch: int = 2, following: int = 0):
        self.dataset, self.batch_size, self.seed, self.following = dataset, batch_size, seed, following
        self.rank, self.world_size, self.augment, self.prefetch = rank, world_size, augment, prefetch
        self.global_batch = batch_size * world_size
        self.batches_per_epoch = len(dataset) // self.global_batch
        if self.batches_per_epoch == 0:
            raise ValueError(f"{len(dataset)} positions are fewer than one global batch of {self.global_batch}")
        self.epoch, self.batch = 0, 0
        self._plan_epoch, self._plan = None, None
        self.served, self.waited = 0, 0  # batches handed out; of those, not ready when asked for

    def state_dict(self) -> dict:
        """Return the data position {"epoch", "batch"} of the next batch to hand out."""
        return {"epoch": self.epoch, "batch": self.batch}

    def load_state_dict(self, state: dict) -> None:
        """Continue from a data position returned by state_dict()."""
        self.epoch, self.batch = int(state["epoch"]), int(state["batch"])

    def plan(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """Return (permutation, symmetries) of an epoch: a function of (seed, epoch) only."""
        if self._plan_epoch != epoch:
            rng = np.random.default_rng([self.seed, epoch])
            perm = rng.permutation(len(self.dataset))
            n = len(self.dataset)
            syms = rng.integers(0, 8, n, dtype=np.int8) if self.augment else np.zeros(n, np.int8)
            self._plan_epoch, self._plan = epoch, (perm, syms)
        return self._plan

    def make_batch(self, epoch: int, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Return this rank's part of global batch `batch` of `epoch` as tensors."""
        return self.finish(self.load(epoch, batch))

    def finish(self, item):
        """Return the batch made of what load() returned, in the training thread (here: as is).

        Subclasses that make batches on the training device (training.gpu_batches) do that here.
        """
        return item

    def load(self, epoch: int, batch: int):
        """Return the host-side work of a batch (in the loader thread when prefetching): here
        the whole batch, (planes float32[B, 48, 19, 19], moves int64[B] or [B, 1+following]),
        unpacked and augmented."""
        perm, syms = self.plan(epoch)
        start = batch * self.global_batch + self.rank * self.batch_size
        idx = perm[start:start + self.batch_size]
        packed, moves, _ = self.dataset.gather(idx)
        if self.following:
            moves = np.concatenate([moves[:, None], self.dataset.following(idx, self.following)], axis=1)
        bits = sh.unpack_planes(packed)
        if self.augment:
            bits, moves = transform_batch(bits, moves, syms[start:start + self.batch_size])
        return to_tensors(bits, moves)

    def _positions(self):
        epoch, batch = self.epoch, self.batch
        while True:
            yield epoch, batch
            batch += 1
            if batch == self.batches_per_epoch:
                epoch, batch = epoch + 1, 0

    def __iter__(self):
        """Yield batches endlessly; with prefetch, count in `waited` those not ready when asked for."""
        positions = self._positions()
        if self.prefetch <= 0:
            for epoch, batch in positions:
                item = self.make_batch(epoch, batch)
                self._advance()
                self.served += 1
                yield item
            return
        # one background thread loads the next batches while the model trains
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = [pool.submit(self.load, *next(positions)) for _ in range(self.prefetch)]
            try:
                while True:
                    head = pending.pop(0)
                    self.waited += not head.done()
                    item = head.result()
                    pending.append(pool.submit(self.load, *next(positions)))
                    self._advance()
                    self.served += 1
                    yield self.finish(item)
            finally:
                for f in pending:
                    f.cancel()

    def _advance(self) -> None:
        self.batch += 1
        if self.batch == self.batches_per_epoch:
            self.epoch, self.batch = self.epoch + 1, 0


def sequential_batches(dataset: ShardDataset, batch_size: int, limit: int | None = None,
                       rank: int = 0, world_size: int = 1, following: int = 0):
    """Yield (planes, moves, move_numbers) tensors over the first `limit` positions, no augmentation;
    with following=N the moves are int64[B, 1+N] as Batches makes them.

    Rank r takes every world_size-th batch, so ranks share the work without overlap.
    """
    n = len(dataset) if limit is None else min(limit, len(dataset))
    for k, start in enumerate(range(0, n, batch_size)):
        if k % world_size != rank:
            continue
        indices = np.arange(start, min(start + batch_size, n))
        packed, moves, numbers = dataset.gather(indices)
        if following:
            moves = np.concatenate([moves[:, None], dataset.following(indices, following)], axis=1)
        planes, targets = to_tensors(sh.unpack_planes(packed), moves)
        yield planes, targets, torch.from_numpy(numbers)
