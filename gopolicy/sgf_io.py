"""SGF game records -> Game, and collections of them (files, folders, archives).

sgfmill's grammar parses the record; the main line's raw property values are then
read with one dictionary lookup per move (no per-property object on the hot path).

| SGF                  | Game                                                       |
| -------------------- | ---------------------------------------------------------- |
| SZ (default 19)      | size; other sizes refused unless the caller allows them     |
| KM (missing: 0.0)    | komi; unreadable values read as 0.0                        |
| HA (missing: 0)      | handicap                                                   |
| AB / AW / AE         | setup_black / setup_white, from the nodes before the 1st move |
| PL                   | first_player (default: colour of the first move)           |
| B / W on the main line | moves: (colour, point), None for a pass ('' or 'tt')     |
| RU RE PB PW BR WR    | rules, result, player names and ranks (None when missing)  |

The same colour may move twice in a row (free-placement handicap, edited records);
`positions()` then hands out the position with that colour to play. Bad records
raise BadGame with a `.reason`; `read_collection` skips and counts them.
"""

from __future__ import annotations

import codecs
import os
import tarfile
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

from sgfmill import sgf_grammar

from gopolicy.board import BLACK, WHITE, IllegalMove, Position
from gopolicy.coords import Point, format_vertex

REASONS = ("parse error", "board size", "illegal move", "empty", "bad property")
UNREADABLE = "unreadable archive"  # a CollectionStats key, not a BadGame reason
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz", ".zip")
_PL = {b"B": BLACK, b"W": WHITE, b"1": BLACK, b"2": WHITE}
_NOT_A_MOVE = object()  # sentinel: None is a pass


class BadGame(ValueError):
    """A record that cannot be used; `.reason` is one of REASONS, str() says why and where."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class Game:
    """One game record: the metadata, the setup stones and the main line of moves."""

    size: int = 19
    komi: float = 0.0
    handicap: int = 0
    rules: str | None = None
    result: str | None = None
    black_player: str | None = None
    white_player: str | None = None
    black_rank: str | None = None
    white_rank: str | None = None
    setup_black: list[Point] = field(default_factory=list)
    setup_white: list[Point] = field(default_factory=list)
    first_player: int = BLACK
    moves: list[tuple[int, Point | None]] = field(default_factory=list)
    source: str = "<bytes>"

    def initial_position(self) -> Position:
        """Return the position before the first move (setup stones, first_player to play).

        Raises BadGame("bad property") if the setup leaves a string without a liberty.
        """
        position = Position(self.size, self.komi)
        if self.setup_black or self.setup_white:
            try:
                position = position.setup(self.setup_black, self.setup_white)
            except IllegalMove as e:
                raise BadGame("bad property", f"{self.source}: setup stones: {e}") from e
        if position.to_play != self.first_player:
            position = position.with_to_play(self.first_player)
        return position

    def positions(self) -> Iterator[tuple[Position, Point | None]]:
        """Yield (position before the move, with the mover to play; the move, None = pass)
        for every move of the main line. Raises BadGame("illegal move") on reaching one."""
        position = self.initial_position()
        for number, (colour, point) in enumerate(self.moves, 1):
            if position.to_play != colour:
                position = position.with_to_play(colour)
            yield position, point
            position = self._play(position, number, colour, point)

    def final_position(self) -> Position:
        """Return the position after the last move; raises BadGame("illegal move")."""
        position = self.initial_position()
        for number, (colour, point) in enumerate(self.moves, 1):
            position = self._play(position, number, colour, point)
        return position

    def _play(self, position: Position, number: int, colour: int, point) -> Position:
        try:
            return position.play(point, colour)
        except IllegalMove as e:
            name = "B" if colour == BLACK else "W"
            raise BadGame("illegal move", f"{self.source}: move {number} {name} "
                          f"{format_vertex(point, self.size)}: {e}") from e


@lru_cache(maxsize=None)
def _point_table(size: int) -> dict[bytes, Point | None]:
    """Return {raw SGF move value: (row, col) or None for a pass} for a board size."""
    letters = "abcdefghijklmnopqrstuvwxyz"[:size]
    table: dict[bytes, Point | None] = {
        (c + r).encode(): (size - 1 - j, i)
        for i, c in enumerate(letters) for j, r in enumerate(letters)}
    table[b""] = None
    if size <= 19:
        table[b"tt"] = None
    return table


def main_line(data: bytes, source: str = "<bytes>") -> list[dict]:
    """Return the property maps {ident: [raw values]} of the main line's nodes (the first
    variation at each branch); raises BadGame("parse error") where sgfmill cannot parse."""
    try:
        tree = sgf_grammar.parse_sgf_game(data)
    except ValueError as e:
        raise BadGame("parse error", f"{source}: {e}") from None
    return list(sgf_grammar.main_sequence_iter(tree))


def _encoding(root: dict) -> str:
    """Return the Python codec for the record's text: CA, else UTF-8 (Latin-1 is the
    fallback of every decode, so FF[4]'s default charset still reads)."""
    raw = root.get("CA")
    if not raw:
        return "UTF-8"
    try:
        return codecs.lookup(raw[0].decode("ascii").strip()).name
    except (LookupError, UnicodeDecodeError):
        return "UTF-8"  # what every modern server writes; decoding still falls back below


def _text(root: dict, ident: str, encoding: str) -> str | None:
    """Return a SimpleText property decoded (falling back to Latin-1), None if missing/empty."""
    raw = root.get(ident)
    if not raw:
        return None
    value = sgf_grammar.simpletext_value(raw[0])
    try:
        text = value.decode(encoding)
    except UnicodeDecodeError:
        text = value.decode("latin-1")  # never fails: odd encodings keep the game
    return text.strip() or None


def _number(root: dict, ident: str, kind, default):
    raw = root.get(ident)
    try:
        return kind(raw[0].decode("ascii").strip())
    except (TypeError, ValueError, UnicodeDecodeError):
        return default


def _points(values: list[bytes], table, source: str, ident: str) -> list[Point]:
    """Return the points of a (possibly compressed 'aa:cc') point list."""
    points = []
    for value in values:
        first, colon, last = value.partition(b":")
        try:
            if not colon:
                points.append(table[first])
                continue
            top, left = table[first]
            bottom, right = table[last]
        except (KeyError, TypeError):
            raise BadGame("bad property", f"{source}: {ident}[{value!r}] is not a point") from None
        points.extend((r, c) for r in range(min(top, bottom), max(top, bottom) + 1)
                      for c in range(min(left, right), max(left, right) + 1))
    if None in points:
        raise BadGame("bad property", f"{source}: {ident} holds a pass")
    return points


def _size(root: dict, source: str, sizes) -> int:
    raw = root.get("SZ")
    if raw is None:
        size = 19
    else:
        try:
            size = int(raw[0].split(b":")[0])
        except ValueError:
            raise BadGame("bad property", f"{source}: SZ[{raw[0]!r}] is not a size") from None
    if size not in sizes or not 2 <= size <= 25:
        raise BadGame("board size", f"{source}: board size {size} (allowed: {sorted(sizes)})")
    return size


def parse_game(data: bytes, source: str = "<bytes>", sizes: Iterable[int] = (19,)) -> Game:
    """Return the Game of the first game in SGF bytes; raises BadGame (no rules check)."""
    nodes = main_line(data, source)
    root = nodes[0]
    size = _size(root, source, sizes if isinstance(sizes, (set, frozenset)) else set(sizes))
    table = _point_table(size)
    encoding = _encoding(root)
    setup: dict[Point, int] = {}
    moves: list[tuple[int, Point | None]] = []
    for node in nodes:
        if "AB" in node or "AW" in node or "AE" in node:
            if moves:
                raise BadGame("bad property", f"{source}: setup stones after move {len(moves)}")
            _add_setup(node, setup, table, source)
        value, colour = node.get("B"), BLACK
        if value is None:
            value, colour = node.get("W"), WHITE
        elif "W" in node:
            raise BadGame("bad property", f"{source}: a node holds both B and W")
        if value is not None:
            point = table.get(value[0], _NOT_A_MOVE) if len(value) == 1 else _NOT_A_MOVE
            if point is _NOT_A_MOVE:
                raise BadGame("bad property", f"{source}: {'BW'[colour == WHITE]}{value!r} is not a move")
            moves.append((colour, point))
    if not moves:
        raise BadGame("empty", f"{source}: no moves")
    first = root.get("PL")
    if first is None:
        first_player = moves[0][0]
    else:
        first_player = _PL.get(first[0].strip().upper())
        if first_player is None:
            raise BadGame("bad property", f"{source}: PL[{first[0]!r}] is not a colour")
    return Game(
        size=size, komi=_number(root, "KM", float, 0.0), handicap=_number(root, "HA", int, 0),
        rules=_text(root, "RU", encoding), result=_text(root, "RE", encoding),
        black_player=_text(root, "PB", encoding), white_player=_text(root, "PW", encoding),
        black_rank=_text(root, "BR", encoding), white_rank=_text(root, "WR", encoding),
        setup_black=sorted(p for p, c in setup.items() if c == BLACK),
        setup_white=sorted(p for p, c in setup.items() if c == WHITE),
        first_player=first_player, moves=moves, source=source)


def _add_setup(node: dict, setup: dict, table, source: str) -> None:
    for point in _points(node.get("AE", ()), table, source, "AE"):
        setup.pop(point, None)
    black = _points(node.get("AB", ()), table, source, "AB")
    white = _points(node.get("AW", ()), table, source, "AW")
    if set(black) & set(white):
        raise BadGame("bad property", f"{source}: a point is in both AB and AW")
    setup.update(dict.fromkeys(black, BLACK))
    setup.update(dict.fromkeys(white, WHITE))


def load_game(path_or_bytes, source: str | None = None, sizes: Iterable[int] = (19,)) -> Game:
    """Return the Game in an SGF file (str/Path) or in SGF bytes; raises BadGame, OSError.

    Moves are not checked against the rules here: `positions()` and `final_position()`
    raise BadGame("illegal move") when they reach one.
    """
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return parse_game(bytes(path_or_bytes), source or "<bytes>", sizes)
    path = Path(path_or_bytes)
    return parse_game(path.read_bytes(), source or str(path), sizes)


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


def _archive_members(path: Path) -> Iterator[tuple[str, bytes]]:
    """Yield (path:member, bytes) of the .sgf members of an archive, read in memory."""
    if path.name.lower().endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir() and info.filename.lower().endswith(".sgf"):
                    yield f"{path}:{info.filename}", archive.read(info)
        return
    with tarfile.open(path, "r|*") as archive:  # streaming: one pass, no seeks
        for member in archive:
            if member.isfile() and member.name.lower().endswith(".sgf"):
                yield f"{path}:{member.name}", archive.extractfile(member).read()


def iter_sgf_bytes(sources, stats: CollectionStats | None = None) -> Iterator[tuple[str, bytes]]:
    """Yield (name, bytes) for every SGF in sources: files, folders (recursive: *.sgf and
    archives), .tar.gz/.tgz/.tar/.zip archives. An unreadable archive raises BadGame
    unless stats is given, where it is counted under UNREADABLE and skipped.
    Raises FileNotFoundError for a source that does not exist."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    for source in sources:
        path = Path(source)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file()
                            and (p.name.lower().endswith(".sgf") or _is_archive(p.name)))
            yield from iter_sgf_bytes(inside, stats)
        elif _is_archive(path.name):
            try:
                yield from _archive_members(path)
            except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError) as e:
                if isinstance(e, FileNotFoundError):
                    raise
                if stats is None:
                    raise BadGame(UNREADABLE, f"{path}: unreadable archive: {e}") from e
                stats.skip(UNREADABLE, f"{path}: {e}")
        else:
            yield str(path), path.read_bytes()


def read_collection(sources, stats: CollectionStats | None = None, sizes: Iterable[int] = (19,),
                    check_moves: bool = True) -> Iterator[Game]:
    """Yield the good Games of sources (see iter_sgf_bytes), skipping bad records and
    counting each reason in stats. With check_moves, every game is replayed first, so
    games with an illegal move are skipped too (their positions() will not raise)."""
    stats = CollectionStats() if stats is None else stats
    sizes = frozenset(sizes)
    for name, data in iter_sgf_bytes(sources, stats):
        try:
            game = parse_game(data, name, sizes)
            if check_moves:
                game.final_position()
        except BadGame as e:
            stats.skip(e.reason, str(e))
            continue
        stats.games += 1
        yield game
