"""Training batches made on the training device: packed rows in, unpacked and augmented planes out.

Positions travel packed (2,166 bytes each, shards.ROW_BYTES). When the train split fits
on the device ("resident", DeviceBatches' default where it fits in half the free
memory), its rows are copied there once and every batch is a row gather, a bit unpack
and a symmetry gather, all device kernels: the host prepares nothing and the GPU never
waits for data. Otherwise a loader thread gathers the packed rows on the host (pinned
on CUDA) and only they cross the bus. Either way a batch holds the samples, in the
order and under the symmetries, of training.dataset.Batches with the same seed (the
same plan), bit for bit: `unpack_transform` on CPU tensors equals shards.unpack_planes
followed by dataset.transform_batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from gopolicy.training import shards as sh
from gopolicy.training.dataset import Batches, ShardDataset, symmetry_tables

POINTS = sh.BOARD_SIZE * sh.BOARD_SIZE
RESIDENT_SHARE = 0.5  # the most of the device's free memory the packed train split may take


@dataclass(frozen=True)
class DeviceTables:
    """The symmetry tables of training.dataset.symmetry_tables as tensors on one device."""

    src: torch.Tensor    # int64[8, 361]: a transformed plane takes cell j from cell src[s, j]
    move: torch.Tensor   # int64[8, 361]: move m goes to move[s, m]
    shifts: torch.Tensor  # uint8[8]: 7..0, np.packbits' bit order (most significant first)

    @classmethod
    def on(cls, device) -> DeviceTables:
        """Return the tables on `device`."""
        src, move = symmetry_tables()
        return cls(torch.from_numpy(src).to(device), torch.from_numpy(move).to(device),
                   torch.arange(7, -1, -1, dtype=torch.uint8, device=device))


def unpack_rows(packed: torch.Tensor, tables: DeviceTables) -> torch.Tensor:
    """Return uint8[B, 48, 361] 0/1 planes of packed uint8[B, ROW_BYTES] rows, on their device."""
    bits = (packed.unsqueeze(2) >> tables.shifts) & 1  # [B, ROW_BYTES, 8]; 2166 * 8 = 48 * 361 bits
    return bits.view(len(packed), sh.NUM_PLANES, POINTS)


def unpack_transform(packed: torch.Tensor, moves: torch.Tensor, syms: torch.Tensor | None,
                     tables: DeviceTables, memory_format=torch.contiguous_format):
    """Return (planes float32[B, 48, 19, 19], moves int64[B]): sample i unpacked and under
    symmetry syms[i] (no symmetry when syms is None), computed on the tensors' device."""
    bits = unpack_rows(packed, tables)
    moves = moves.long()
    if syms is not None:
        syms = syms.long()
        index = tables.src[syms].unsqueeze(1).expand(-1, sh.NUM_PLANES, -1)
        bits = torch.gather(bits, 2, index)
        moves = tables.move[syms, moves]
    planes = bits.view(len(packed), sh.NUM_PLANES, sh.BOARD_SIZE, sh.BOARD_SIZE)
    return planes.to(dtype=torch.float32, memory_format=memory_format), moves


def free_bytes(device: torch.device) -> int:
    """Return the bytes of memory free on `device` (for a CPU: the host's available RAM)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def load_split(dataset: ShardDataset, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (rows uint8[N, ROW_BYTES], moves int64[N]) of all of `dataset`'s positions on `device`."""
    rows = torch.empty((len(dataset), sh.ROW_BYTES), dtype=torch.uint8, device=device)
    moves = torch.empty(len(dataset), dtype=torch.int64, device=device)
    for shard, start in zip(dataset.shards, dataset.offsets):
        part = slice(int(start), int(start) + len(shard))
        rows[part].copy_(torch.from_numpy(np.array(shard.planes)))  # np.array: out of the read-only memmap
        moves[part].copy_(torch.from_numpy(shard.moves.astype(np.int64)))
    return rows, moves


class DeviceBatches(Batches):
    """Batches (same plan, state and resume as training.dataset.Batches) made on `device`.

    resident: None picks resident mode where the packed split takes at most RESIDENT_SHARE
    of the device's free memory; False gathers rows on the host in a loader thread
    (`prefetch` batches ahead) and counts in `waited` the batches that were not ready.
    """

    def __init__(self, dataset: ShardDataset, batch_size: int, device, seed: int = 0, rank: int = 0,
                 world_size: int = 1, augment: bool = True, resident: bool | None = None, prefetch: int = 2,
                 memory_format=torch.channels_last):
        super().__init__(dataset, batch_size, seed, rank, world_size, augment, prefetch=0)
        self.device = torch.device(device)
        if resident is None:
            resident = len(dataset) * sh.ROW_BYTES <= RESIDENT_SHARE * free_bytes(self.device)
        self.resident, self.memory_format = resident, memory_format
        self.prefetch = 0 if resident else prefetch
        self.tables = DeviceTables.on(self.device)
        self.rows, self.moves = load_split(dataset, self.device) if resident else (None, None)
        self._device_plan: tuple = (None, None, None)

    @property
    def mode(self) -> str:
        """Return a few words on where batches are made, for reports."""
        where = f"resident on {self.device.type}" if self.resident else f"gathered on the host, {self.prefetch} ahead"
        return f"packed rows {where}; unpacked and augmented on {self.device.type}"

    def device_plan(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the epoch's (permutation, symmetries) of Batches.plan as int64 tensors on the device."""
        if self._device_plan[0] != epoch:
            perm, syms = self.plan(epoch)
            self._device_plan = (epoch, torch.from_numpy(perm).to(self.device),
                                 torch.from_numpy(syms.astype(np.int64)).to(self.device))
        return self._device_plan[1], self._device_plan[2]

    def load(self, epoch: int, batch: int):
        """Return the host-side part of a batch: its place (resident) or its packed rows, moves, symmetries."""
        start = batch * self.global_batch + self.rank * self.batch_size
        if self.resident:
            return epoch, start
        perm, syms = self.plan(epoch)
        packed, moves, _ = self.dataset.gather(perm[start:start + self.batch_size])
        host = (torch.from_numpy(packed), torch.from_numpy(moves),
                torch.from_numpy(syms[start:start + self.batch_size].astype(np.int64)))
        return tuple(t.pin_memory() for t in host) if self.device.type == "cuda" else host

    def finish(self, item) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (planes float32[B, 48, 19, 19] in memory_format, moves int64[B]) on the device."""
        if self.resident:
            epoch, start = item
            perm, syms = self.device_plan(epoch)
            index = perm[start:start + self.batch_size]
            packed, moves, syms = self.rows[index], self.moves[index], syms[start:start + self.batch_size]
        else:
            packed, moves, syms = (t.to(self.device, non_blocking=True) for t in item)
        return unpack_transform(packed, moves, syms if self.augment else None, self.tables, self.memory_format)
