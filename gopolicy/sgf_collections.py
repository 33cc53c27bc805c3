"""Collections of SGF records: files, folders and archives read as a stream of games.

Sources are SGF files, folders (searched recursively for *.sgf and archives) and
.tar.gz/.tgz/.tar/.zip archives, read without unpacking them. Every record is bounded by
sgf_io's size limit; records that cannot be read or parsed are skipped and counted by
reason in a CollectionStats (or raised as BadGame when no stats are given).
"""

from __future__ import annotations

import os
import tarfile
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from gopolicy.sgf_io import (MAX_SGF_BYTES, TOO_LARGE, BadGame, Game, parse_game, read_at_most,
                             read_sgf_file, too_large)

UNREADABLE = "unreadable archive"  # a CollectionStats key (damaged or not an archive), not a BadGame reason
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz", ".zip")


@dataclass
class CollectionStats:
    """Counts of a collection read: games yielded, records skipped by reason."""

    games: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)  # first messages per reason

    def skip(self, reason: str, message: str, keep: int = 3) -> None:
        """Count one skipped record (or unreadable archive) and keep its message if few."""
        self.skipped[reason] += 1
        kept = self.examples.setdefault(reason, [])
        if len(kept) < keep:
            kept.append(message)

    def update(self, other: "CollectionStats") -> None:
        """Add the counts of another CollectionStats (e.g. from a worker process)."""
        self.games += other.games
        self.skipped.update(other.skipped)
        for reason, messages in other.examples.items():
            kept = self.examples.setdefault(reason, [])
            kept.extend(messages[: max(0, 3 - len(kept))])


def _is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def _zip_members(path: Path, skip, max_bytes: int) -> Iterator[tuple[str, bytes]]:
    """Yield (path:member, bytes) of a zip's .sgf members. A damaged member (bad CRC, bad
    compressed data) or one over max_bytes is passed to skip and the next one read: the
    central directory still locates them."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.lower().endswith(".sgf"):
                continue
            name = f"{path}:{info.filename}"
            if info.file_size > max_bytes:  # as declared; the read below checks the truth
                skip(TOO_LARGE, str(too_large(name, info.file_size, max_bytes)))
                continue
            try:
                with archive.open(info) as member:
                    data = read_at_most(member, name, max_bytes)
            except BadGame as e:
                skip(e.reason, str(e))
                continue
            except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as e:
                skip(UNREADABLE, f"{name}: damaged member: {e}")
                continue
            yield name, data


def _tar_members(path: Path, skip, max_bytes: int) -> Iterator[tuple[str, bytes]]:
    """Yield (path:member, bytes) of a tar's .sgf members in one streaming pass. A member
    over max_bytes (its header gives the size) is passed to skip unread: moving to the next
    header reads past its data in fixed-size blocks."""
    # streaming: one pass, no seeks. Not a larger bufsize: each read is decompressed whole,
    # and 1 MiB of compressed zeros is 1 GB (tried: 241 s and 0.9 GB to skip a 3 GB member)
    with tarfile.open(path, "r|*") as archive:
        for member in archive:
            if not member.isfile() or not member.name.lower().endswith(".sgf"):
                continue
            name = f"{path}:{member.name}"
            if member.size > max_bytes:
                skip(TOO_LARGE, str(too_large(name, member.size, max_bytes)))
                continue
            yield name, archive.extractfile(member).read()


def _skipper(stats: CollectionStats | None):
    """Return skip(reason, message): counted in stats, or raised as BadGame without stats."""
    def skip(reason: str, message: str) -> None:
        if stats is None:
            raise BadGame(reason, message)
        stats.skip(reason, message)

    return skip


def iter_sgf_bytes(sources, stats: CollectionStats | None = None,
                   max_bytes: int = MAX_SGF_BYTES) -> Iterator[tuple[str, bytes]]:
    """Yield (name, bytes) for every SGF in sources: files, folders (recursive: *.sgf and
    archives), .tar.gz/.tgz/.tar/.zip archives.

    Records that cannot be read are counted in stats and skipped (raised as BadGame when
    stats is None): TOO_LARGE over max_bytes (archive members skipped without being read),
    NOT_A_FILE for a device or FIFO named as a source, UNREADABLE for an archive that is
    not one, is cut short (the members before the damage are yielded) or has a damaged
    zip member. Raises FileNotFoundError for a source that does not exist.
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    skip = _skipper(stats)
    for source in sources:
        path = Path(source)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file()
                            and (p.name.lower().endswith(".sgf") or _is_archive(p.name)))
            yield from iter_sgf_bytes(inside, stats, max_bytes)
        elif _is_archive(path.name) and path.is_file():
            read = _zip_members if path.name.lower().endswith(".zip") else _tar_members
            try:
                yield from read(path, skip, max_bytes)
            except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError) as e:
                if isinstance(e, FileNotFoundError):
                    raise
                skip(UNREADABLE, f"{path}: unreadable archive: {e}")
        else:
            try:
                data = read_sgf_file(path, max_bytes)
            except BadGame as e:
                skip(e.reason, str(e))
                continue
            yield str(path), data


def read_collection(sources, stats: CollectionStats | None = None, sizes: Iterable[int] = (19,),
                    check_moves: bool = True, max_bytes: int = MAX_SGF_BYTES) -> Iterator[Game]:
    """Yield the good Games of sources (see iter_sgf_bytes), skipping bad records and
    counting each reason in stats. With check_moves, every game is replayed first, so
    games with an illegal move are skipped too (their positions() will not raise)."""
    stats = CollectionStats() if stats is None else stats
    sizes = frozenset(sizes)
    for name, data in iter_sgf_bytes(sources, stats, max_bytes):
        try:
            game = parse_game(data, name, sizes)
            if check_moves:
                game.final_position()
        except BadGame as e:
            stats.skip(e.reason, str(e))
            continue
        stats.games += 1
        yield game
