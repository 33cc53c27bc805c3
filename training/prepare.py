"""`gopolicy prepare`: SGF collections -> bit-packed training shards + manifest.json.

Games are read in source order and grouped into chunks of --games-per-shard games;
chunk k is encoded by one worker process into `train-k.shard`, `val-k.shard` and
`test-k.shard` plus a record `chunks/chunk-k.json`, written last. Chunk numbering
depends only on the sources and --limit, so a re-run skips every chunk whose record
matches the options and the games' content (resumable), then rewrites the manifest.

Split by game, deterministic: a game goes to train/val/test by the SHA-1 of its SGF
bytes read as a fraction in [0, 1) against the cumulative --split fractions. The same
game lands in the same split whatever its file name, archive, order or chunk, and
two copies of one game never straddle train and test.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from multiprocessing import TimeoutError as MultiprocessingTimeout
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from gopolicy.training import shards as sh

RANK_RE = re.compile(r"^\s*(\d+)\s*([kdp])", re.IGNORECASE)


def rank_value(rank: str | None) -> int | None:
    """Return a number that orders ranks (30k < 1k < 1d < 9d < 1p), None if unreadable."""
    m = RANK_RE.match(rank or "")
    if not m:
        return None
    n, kind = int(m.group(1)), m.group(2).lower()
    return {"k": 1 - n, "d": n, "p": 100 + n}[kind]


def parse_move_range(text: str) -> tuple[int, int | None]:
    """Return (start, end) from "START:END" (either may be empty; END exclusive)."""
    start, sep, end = text.partition(":")
    if not sep:
        raise ValueError(f"move range {text!r}: expected START:END, e.g. 0:200 or 10:")
    return int(start or 0), (int(end) if end else None)


def split_of(data: bytes, fractions) -> str:
    """Return "train", "val" or "test" for a game from the SHA-1 of its SGF bytes."""
    u = int.from_bytes(hashlib.sha1(data).digest()[:8], "big") / 2.0**64
    cumulative = 0.0
    for name, fraction in zip(sh.SPLITS, fractions):
        cumulative += fraction
        if u < cumulative:
            return name
    return sh.SPLITS[-1]


@dataclass(frozen=True)
class PrepareOptions:
    """What decides which positions are written; part of each chunk's resume key."""

    min_rank: str | None = None
    skip_handicap: bool = False
    move_range: tuple[int, int | None] = (0, None)
    split: tuple[float, float, float] = (0.96, 0.02, 0.02)
    games_per_shard: int = 200

    def key(self) -> str:
        """Return a stable text that changes whenever the options change the output."""
        return json.dumps(asdict(self), sort_keys=True)


@dataclass
class GameResult:
    """One game's encoded positions, or the reason it was skipped."""

    skipped: str | None = None
    packed: np.ndarray | None = None      # uint8[n, ROW_BYTES]
    moves: list = field(default_factory=list)
    move_numbers: list = field(default_factory=list)
    passes: int = 0


def encode_game(source: str, data: bytes, options: PrepareOptions, packed: bool = True) -> GameResult:
    """Return a game's positions encoded (bit-packed unless packed=False) or why it was skipped."""
    from gopolicy.board import IllegalMove
    from gopolicy.features import encode_batch
    from gopolicy.sgf_io import BadGame, load_game

    try:
        game = load_game(data, source=source)
    except BadGame as e:
        return GameResult(skipped=e.reason)
    if game.size != sh.BOARD_SIZE:
        return GameResult(skipped="board size")
    if options.skip_handicap and (game.handicap or game.setup_black or game.setup_white):
        return GameResult(skipped="handicap")
    if options.min_rank:
        lowest = rank_value(options.min_rank)
        ranks = [rank_value(game.black_rank), rank_value(game.white_rank)]
        if any(r is None or r < lowest for r in ranks):
            return GameResult(skipped="rank")
    start, end = options.move_range
    result, positions = GameResult(), []
    try:
        for position, move in game.positions():
            n = position.move_number
            if n < start or (end is not None and n >= end):
                continue
            if move is None:  # the network has no pass output
                result.passes += 1
                continue
            positions.append(position)
            result.moves.append(move[0] * sh.BOARD_SIZE + move[1])
            result.move_numbers.append(n)
    except (BadGame, IllegalMove):
        return GameResult(skipped="illegal move")
    if not positions:
        return GameResult(skipped="no positions", passes=result.passes)
    planes = encode_batch(positions)
    result.packed = sh.pack_planes(planes) if packed else planes
    return result


def encode_unpacked(item) -> GameResult:
    """Return encode_game(source, data) with default options and unpacked planes (for evaluate)."""
    source, data = item
    return encode_game(source, data, PrepareOptions(), packed=False)


def chunk_digest(games) -> str:
    """Return a digest of a chunk's SGF bytes (changed games redo the chunk; moved files do not)."""
    return hashlib.sha1(b"".join(hashlib.sha1(d).digest() for _, d in games)).hexdigest()


def finished_chunk(out: Path, index: int, key: str, digest: str, feature_version: int) -> dict | None:
    """Return the record of chunk `index` if its shards are complete for these options and games."""
    path = out / "chunks" / f"chunk-{index:05d}.json"
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if (record.get("options_key"), record.get("digest"), record.get("feature_version")) != (key, digest, feature_version):
        return None
    for entry in record["files"].values():
        f = out / entry["file"]
        if not f.exists() or f.stat().st_size != entry["bytes"]:
            return None
    return record


def encode_chunk(task) -> dict:
    """Encode one chunk of games into its shards and its record file; return the record."""
    out, index, first_game_id, games, options = task
    from gopolicy.features import FEATURE_VERSION

    parts = {s: ([], [], [], []) for s in sh.SPLITS}
    skipped, passes, kept = Counter(), 0, 0
    for offset, (source, data) in enumerate(games):
        try:
            result = encode_game(source, data, options)
        except Exception as e:  # a bug must not cost hours of work on the other games
            print(f"prepare: {source}: {type(e).__name__}: {e}", file=sys.stderr)
            result = GameResult(skipped="internal error")
        passes += result.passes
        if result.skipped:
            skipped[result.skipped] += 1
            continue
        kept += 1
        packed, moves, gids, nums = parts[split_of(data, options.split)]
        packed.append(result.packed)
        moves.extend(result.moves)
        gids.extend([first_game_id + offset] * len(result.moves))
        nums.extend(result.move_numbers)
    files, positions = {}, {}
    for split, (packed, moves, gids, nums) in parts.items():
        positions[split] = len(moves)
        if not moves:
            continue
        name = f"{split}-{index:05d}{sh.SUFFIX}"
        size = sh.write_shard(out / name, np.concatenate(packed), moves, gids, nums, FEATURE_VERSION, split)
        files[split] = {"file": name, "positions": len(moves), "bytes": size}
    record = {"chunk": index, "first_game_id": first_game_id, "games": len(games), "kept": kept,
              "skipped": dict(skipped), "passes": passes, "positions": positions, "files": files,
              "options_key": options.key(), "digest": chunk_digest(games), "feature_version": FEATURE_VERSION}
    sh.write_json(out / "chunks" / f"chunk-{index:05d}.json", record)  # last: marks the chunk done
    return record


def _chunks(sources, per_chunk: int, limit: int | None, stats):
    """Yield (first game number, [(source, SGF bytes)...]) of per_chunk games; records that
    cannot be read (too large, damaged archives...) are counted in stats, a CollectionStats."""
    from gopolicy.sgf_collections import iter_sgf_bytes

    batch, first, count = [], 0, 0
    for source, data in iter_sgf_bytes(sources, stats):
        if limit is not None and count >= limit:
            break
        batch.append((source, data))
        count += 1
        if len(batch) == per_chunk:
            yield first, batch
            first, batch = count, []
    if batch:
        yield first, batch


def prepare(sources, out, options: PrepareOptions = PrepareOptions(), limit: int | None = None,
            workers: int | None = None, progress: bool = True, deadline: float | None = None) -> dict:
    """Encode the games of `sources` into shards under `out`; return the manifest written.

    Chunks already finished with the same options and games are kept, not redone. At
    `deadline` (a time.time() value) the chunks still in the workers are abandoned and the
    manifest lists the finished ones, with "complete": false (true when every chunk is done).
    """
    from tqdm import tqdm

    from gopolicy.features import FEATURE_VERSION
    from gopolicy.sgf_collections import CollectionStats

    out = Path(out)
    (out / "chunks").mkdir(parents=True, exist_ok=True)
    sources = [str(s) for s in sources]
    workers = workers or os.cpu_count() or 1
    started = time.time()
    # the raw SGF bytes of a whole collection are small (KGS: ~60 MB for 35k games)
    unread = CollectionStats()
    chunks = list(_chunks(sources, options.games_per_shard, limit, unread))
    for reason, messages in unread.examples.items():
        print(f"prepare: skipped {unread.skipped[reason]} ({reason}), e.g. {messages[0]}", file=sys.stderr)
    records, todo = [], []
    for index, (first, games) in enumerate(chunks):
        record = finished_chunk(out, index, options.key(), chunk_digest(games), FEATURE_VERSION)
        if record is not None:
            records.append(record)
        else:
            todo.append((out, index, first, games, options))
    total = sum(len(games) for _, games in chunks)
    done_games = sum(r["games"] for r in records)
    bar = tqdm(total=total, initial=done_games, unit="game", disable=not progress, dynamic_ncols=True,
               smoothing=0.1)
    if records:
        bar.write(f"prepare: {len(records)} of {len(chunks)} shards already done, resuming")
    pool = None
    if workers > 1 and len(todo) > 1:
        _load_kernels()
        pool = get_context("spawn").Pool(min(workers, len(todo)))
    new_positions, complete = 0, True
    try:
        results = pool.imap_unordered(encode_chunk, todo) if pool else map(encode_chunk, todo)
        while len(records) < len(chunks):
            left = None if deadline is None else deadline - time.time()
            try:
                if left is not None and left <= 0:
                    raise MultiprocessingTimeout
                record = results.next(timeout=left) if pool else next(results)
            except MultiprocessingTimeout:
                complete = False
                break
            records.append(record)
            new_positions += sum(record["positions"].values())
            bar.update(record["games"])
            bar.set_postfix_str(f"{new_positions / max(time.time() - started, 1e-9):,.0f} pos/s")
    finally:
        bar.close()
        if pool:
            pool.terminate()
    if not complete:
        print(f"prepare: deadline reached, {len(records)} of {len(chunks)} shards done", file=sys.stderr)
    records.sort(key=lambda r: r["chunk"])
    manifest = _manifest(records, unread.skipped, sources, options, limit, FEATURE_VERSION,
                         time.time() - started)
    manifest["complete"] = complete
    _remove_stale(out, records)
    sh.write_json(out / sh.MANIFEST, manifest)
    return manifest


def _load_kernels() -> None:
    """Compile the rules' and features' numba kernels, or load them from numba's cache.

    Done once before the workers start, so that they load the cache: on a fresh install
    every worker would otherwise compile the same kernels at once (about 15 s of CPU each).
    """
    from gopolicy.board import Position
    from gopolicy.features import encode

    encode(Position(19))


def _remove_stale(out: Path, records) -> None:
    """Delete shards and records of chunks no longer produced (e.g. a smaller --limit)."""
    keep = {e["file"] for r in records for e in r["files"].values()}
    keep |= {f"chunks/chunk-{r['chunk']:05d}.json" for r in records}
    for path in list(out.glob(f"*{sh.SUFFIX}")) + list(out.glob("chunks/chunk-*.json")):
        if str(path.relative_to(out)) not in keep:
            path.unlink()


def _manifest(records, unread, sources, options, limit, feature_version, elapsed) -> dict:
    """Return the manifest of the chunk records; `unread` counts, by reason, the records
    that could not be read at all (they count as read and skipped)."""
    skipped = Counter(unread)
    for r in records:
        skipped.update(r["skipped"])
    positions = {s: sum(r["positions"][s] for r in records) for s in sh.SPLITS}
    return {
        "format": sh.FORMAT, "feature_version": feature_version, "planes": sh.NUM_PLANES,
        "board_size": sh.BOARD_SIZE, "sources": sources,
        "options": dict(asdict(options), limit=limit),
        "split": {"method": "sha1(SGF bytes) as a fraction in [0,1) against cumulative fractions",
                  "fractions": dict(zip(sh.SPLITS, options.split))},
        "games": {"read": sum(r["games"] for r in records) + sum(unread.values()), "kept": sum(r["kept"] for r in records),
                  "skipped": dict(sorted(skipped.items()))},
        "positions": dict(positions, total=sum(positions.values())),
        "passes_skipped": sum(r["passes"] for r in records),
        "shards": {s: [r["files"][s] for r in records if s in r["files"]] for s in sh.SPLITS},
        "elapsed_s": round(elapsed, 2),
    }


def add_arguments(parser) -> None:
    """Add the `gopolicy prepare` options to `parser`."""
    parser.add_argument("sources", nargs="+", help="SGF files, folders, .tar.gz/.tgz/.zip archives")
    parser.add_argument("--out", required=True, help="output folder for shards and manifest.json")
    parser.add_argument("--min-rank", help="keep a game only if both players are at least this rank (e.g. 6d)")
    parser.add_argument("--skip-handicap", action="store_true", help="drop handicap games")
    parser.add_argument("--move-range", default="0:", metavar="START:END",
                        help="keep positions with START <= move number < END (default all)")
    parser.add_argument("--limit", type=int, help="read at most N games")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--split", default="0.96,0.02,0.02", metavar="TRAIN,VAL,TEST",
                        help="fractions of games per split (default 0.96,0.02,0.02)")
    parser.add_argument("--games-per-shard", type=int, default=200, help="games per shard (default 200)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    """Run `gopolicy prepare`; return the exit status."""
    try:
        split = tuple(float(x) for x in args.split.split(","))
        if len(split) != 3 or min(split) < 0 or abs(sum(split) - 1) > 1e-6:
            raise ValueError(f"--split {args.split!r}: three non-negative fractions summing to 1")
        if args.min_rank and rank_value(args.min_rank) is None:
            raise ValueError(f"--min-rank {args.min_rank!r}: expected a rank such as 6d, 2k or 1p")
        options = PrepareOptions(min_rank=args.min_rank, skip_handicap=args.skip_handicap,
                                 move_range=parse_move_range(args.move_range), split=split,
                                 games_per_shard=args.games_per_shard)
    except ValueError as e:
        print(f"gopolicy prepare: {e}", file=sys.stderr)
        return 2
    m = prepare(args.sources, args.out, options, args.limit, args.workers, progress=not args.quiet)
    print(f"{m['games']['kept']} of {m['games']['read']} games, {m['positions']['total']} positions "
          f"(train {m['positions']['train']}, val {m['positions']['val']}, test {m['positions']['test']}); "
          f"skipped {m['games']['skipped'] or 'none'}; manifest {Path(args.out) / sh.MANIFEST}", file=sys.stderr)
    return 0
