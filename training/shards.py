"""Training shards: the on-disk format of prepared positions, and the manifest.

A shard is one file holding N positions, laid out as

    b"GPSHARD\\x01"                      8 bytes of magic
    uint32 little endian H               length of the JSON header
    H bytes of JSON                      {"format", "feature_version", "planes", "board_size",
                                          "count", "row_bytes", "split", "arrays": [...]}
    zero padding to a multiple of 64
    planes        uint8[N, 2166]        np.packbits over each position's 48*19*19 bits
    moves         int16[N]              next move as row * 19 + col (sgfmill rows, A1 = 0)
    game_ids      int32[N]              ordinal of the game in the prepared sources
    move_numbers  int16[N]              moves played before the position

Arrays are raw little-endian and 64-byte aligned, so a shard is read with np.memmap
and never unpickled. Shards are written to a temporary name and renamed, so a file
with the final name is always complete; a shorter file (a copy cut short) is refused
with a ShardError that says so. The folder's manifest.json describes the whole set.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"GPSHARD\x01"
FORMAT = 1
NUM_PLANES = 48
BOARD_SIZE = 19
BITS = NUM_PLANES * BOARD_SIZE * BOARD_SIZE        # 17328 = 2166 bytes exactly
ROW_BYTES = (BITS + 7) // 8
ALIGN = 64
SPLITS = ("train", "val", "test")
MANIFEST = "manifest.json"
SUFFIX = ".shard"

# (name, dtype, bytes per row)
_ARRAYS = (("planes", "u1", ROW_BYTES), ("moves", "<i2", 2), ("game_ids", "<i4", 4), ("move_numbers", "<i2", 2))


class ShardError(ValueError):
    """A shard or manifest that cannot be used; the message says which file and why."""


@dataclass
class Shard:
    """The arrays of one shard (memory-mapped when read from disk)."""

    planes: np.ndarray        # uint8[N, ROW_BYTES]
    moves: np.ndarray         # int16[N]
    game_ids: np.ndarray      # int32[N]
    move_numbers: np.ndarray  # int16[N]
    feature_version: int
    split: str = "train"
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.moves)


def pack_planes(planes: np.ndarray) -> np.ndarray:
    """Return uint8[N, ROW_BYTES]: the bits of uint8[N, 48, 19, 19] 0/1 planes."""
    planes = np.asarray(planes, dtype=np.uint8)
    return np.packbits(planes.reshape(len(planes), int(np.prod(planes.shape[1:]))), axis=1)


def unpack_planes(packed: np.ndarray) -> np.ndarray:
    """Return uint8[N, 48, 19, 19] 0/1 planes from uint8[N, ROW_BYTES]."""
    packed = np.asarray(packed, dtype=np.uint8)
    bits = np.unpackbits(packed, axis=1, count=BITS)
    return bits.reshape(len(packed), NUM_PLANES, BOARD_SIZE, BOARD_SIZE)


def _header_bytes(count: int, feature_version: int, split: str) -> bytes:
    header = {
        "format": FORMAT, "feature_version": int(feature_version), "planes": NUM_PLANES,
        "board_size": BOARD_SIZE, "count": int(count), "row_bytes": ROW_BYTES, "split": split,
        "arrays": [[name, dtype] for name, dtype, _ in _ARRAYS],
    }
    text = json.dumps(header, sort_keys=True).encode()
    head = MAGIC + struct.pack("<I", len(text)) + text
    return head + b"\0" * (-len(head) % ALIGN)


def _pad(nbytes: int) -> int:
    return -nbytes % ALIGN


def atomic_write_bytes(path: Path, chunks) -> None:
    """Write the byte strings `chunks` to `path` through a temporary file and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: Path, data: dict) -> None:
    """Write `data` as indented JSON to `path` atomically."""
    atomic_write_bytes(Path(path), [json.dumps(data, indent=1, sort_keys=True).encode() + b"\n"])


def write_shard(path, planes, moves, game_ids, move_numbers, feature_version: int, split="train") -> int:
    """Write one shard atomically; `planes` packed uint8[N, ROW_BYTES]. Returns the file size."""
    n = len(moves)
    arrays = [np.ascontiguousarray(planes, dtype=np.uint8), np.asarray(moves, dtype="<i2"),
              np.asarray(game_ids, dtype="<i4"), np.asarray(move_numbers, dtype="<i2")]
    if arrays[0].shape != (n, ROW_BYTES) or any(a.shape != (n,) for a in arrays[1:]):
        raise ValueError(f"shard arrays disagree: planes {arrays[0].shape}, moves {n}, "
                         f"game ids {arrays[2].shape}, move numbers {arrays[3].shape}")
    chunks = [_header_bytes(n, feature_version, split)]
    for a in arrays:
        chunks.append(a.tobytes())
        chunks.append(b"\0" * _pad(a.nbytes))
    atomic_write_bytes(Path(path), chunks)
    return sum(len(c) for c in chunks)


def read_shard(path, feature_version: int | None = None, mmap: bool = True) -> Shard:
    """Return the Shard at `path` (memory-mapped unless mmap=False).

    Raises ShardError if the file is not a shard, is truncated, or was made with
    another feature version than `feature_version` (when given).
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:8] != MAGIC:
            raise ShardError(f"{path}: not a gopolicy shard (bad magic bytes)")
        (hlen,) = struct.unpack("<I", head[8:12])
        text = f.read(hlen)
    if len(text) < hlen:
        raise ShardError(f"{path}: truncated shard (header cut short)")
    try:
        header = json.loads(text)
    except ValueError as e:
        raise ShardError(f"{path}: corrupt shard header ({e})") from None
    if header.get("format") != FORMAT or header.get("row_bytes") != ROW_BYTES:
        raise ShardError(f"{path}: unsupported shard format {header.get('format')} "
                         f"(row bytes {header.get('row_bytes')}); this version reads format {FORMAT}")
    if feature_version is not None and header["feature_version"] != feature_version:
        raise ShardError(f"{path}: made with feature version {header['feature_version']}, "
                         f"but this code encodes version {feature_version}; prepare the data again")
    n = int(header["count"])
    offset = 12 + hlen + _pad(12 + hlen)
    expected = offset + sum(n * row + _pad(n * row) for _, _, row in _ARRAYS)
    if size < expected:
        raise ShardError(f"{path}: truncated shard: {size} bytes on disk, header promises "
                         f"{n} positions in {expected} bytes; delete it and prepare again")
    arrays = {}
    for name, dtype, row in _ARRAYS:
        shape = (n, row) if name == "planes" else (n,)
        if n == 0:
            arrays[name] = np.zeros(shape, dtype=dtype)
        elif mmap:
            arrays[name] = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)
        else:
            arrays[name] = np.fromfile(path, dtype=dtype, count=int(np.prod(shape)), offset=offset).reshape(shape)
        offset += n * row + _pad(n * row)
    return Shard(feature_version=int(header["feature_version"]), split=header.get("split", "train"),
                 path=path, **arrays)


def load_manifest(folder) -> dict:
    """Return the manifest of a prepared folder; raises ShardError if missing or unreadable."""
    path = Path(folder) / MANIFEST
    if not path.exists():
        raise ShardError(f"{folder}: no {MANIFEST}; run `gopolicy prepare SOURCES --out {folder}` first")
    try:
        return json.loads(path.read_text())
    except ValueError as e:
        raise ShardError(f"{path}: corrupt manifest ({e})") from None


def manifest_summary(manifest: dict) -> dict:
    """Return what a network trained on a prepared folder says about its data: the source
    archives by name, positions by split, games kept and the preparation options."""
    return {"sources": [Path(source).name for source in manifest.get("sources") or []],
            "positions": manifest.get("positions"), "games": manifest.get("games", {}).get("kept"),
            "options": manifest.get("options")}


def split_shards(folder, split: str, feature_version: int | None = None) -> list[Shard]:
    """Return the shards of one split ("train", "val", "test") listed in the folder's manifest.

    Raises ShardError on a feature version mismatch, a missing or truncated shard.
    """
    manifest = load_manifest(folder)
    if feature_version is not None and manifest.get("feature_version") != feature_version:
        raise ShardError(f"{folder}: prepared with feature version {manifest.get('feature_version')}, "
                         f"this code encodes version {feature_version}; prepare the data again")
    shards = []
    for entry in manifest["shards"].get(split, []):
        path = Path(folder) / entry["file"]
        if not path.exists():
            raise ShardError(f"{path}: listed in the manifest but missing")
        shard = read_shard(path, feature_version)
        if len(shard) != entry["positions"]:
            raise ShardError(f"{path}: holds {len(shard)} positions, manifest says {entry['positions']}")
        shards.append(shard)
    return shards


def write_folder(folder, splits: dict, feature_version: int, per_shard: int = 1 << 30) -> dict:
    """Write a prepared folder from arrays: splits maps a split name to
    (packed planes, moves, game ids, move numbers). Returns the manifest written.

    For tests and benchmarks; `gopolicy prepare` writes folders from SGF games.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries = {s: [] for s in SPLITS}
    for split, (planes, moves, gids, nums) in splits.items():
        for k, start in enumerate(range(0, len(moves), per_shard)):
            part = slice(start, start + per_shard)
            name = f"{split}-{k:05d}{SUFFIX}"
            size = write_shard(folder / name, planes[part], moves[part], gids[part], nums[part],
                               feature_version, split)
            entries[split].append({"file": name, "positions": len(moves[part]), "bytes": size})
    positions = {s: sum(e["positions"] for e in entries[s]) for s in SPLITS}
    manifest = {"format": FORMAT, "feature_version": feature_version, "planes": NUM_PLANES,
                "board_size": BOARD_SIZE, "shards": entries, "positions": dict(positions, total=sum(positions.values()))}
    write_json(folder / MANIFEST, manifest)
    return manifest
