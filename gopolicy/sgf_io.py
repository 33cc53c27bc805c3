"""SGF game records -> Game; one file read within the size limit (collections: sgf_collections).

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
raise BadGame with a `.reason`; `sgf_collections.read_collection` skips and counts them.
"""

from __future__ import annotations

import codecs
import os
import stat
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

from sgfmill import sgf_grammar

from gopolicy.board import BLACK, WHITE, IllegalMove, Position
from gopolicy.coords import Point, format_vertex

TOO_LARGE = "too large"            # a file or archive member over the size limit
NOT_A_FILE = "not a regular file"  # a device, FIFO, socket or folder named as an SGF file
REASONS = ("parse error", "board size", "illegal move", "empty", "bad property", TOO_LARGE, NOT_A_FILE)
# Real records are far below a megabyte (a 300-move KGS game with comments: ~20 KB); the
# limit keeps one huge or endless input from costing more than a few hundred MB to parse.
MAX_SGF_BYTES = 4 * 1024 * 1024
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


def _file_kind(mode: int) -> str:
    """Return what a stat mode that is not a regular file names ("a FIFO", "a folder"...)."""
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def too_large(name: str, size: int | str, max_bytes: int) -> BadGame:
    """Return the BadGame(TOO_LARGE) of a record `name` of `size` bytes over `max_bytes`."""
    return BadGame(TOO_LARGE, f"{name}: {size} bytes, over the limit of {max_bytes} bytes for an SGF record")


def read_at_most(stream, name: str, max_bytes: int) -> bytes:
    """Return all of `stream` (a binary file object); raises BadGame("too large") after
    reading max_bytes + 1 bytes, so an endless or lying stream costs no more than that."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_large(name, f"more than {max_bytes}", max_bytes)
    return data


def read_sgf_file(path, max_bytes: int = MAX_SGF_BYTES) -> bytes:
    """Return the bytes of the SGF file at `path`.

    Raises BadGame(NOT_A_FILE) for a device, FIFO, socket or folder (none is opened, so a
    FIFO without a writer cannot block), BadGame(TOO_LARGE) for a file over max_bytes
    (checked before reading, and again while reading, for files that grow), OSError
    (FileNotFoundError, PermissionError...) when it cannot be read.
    """
    mode = os.stat(path)
    if not stat.S_ISREG(mode.st_mode):
        raise BadGame(NOT_A_FILE, f"{path}: {_file_kind(mode.st_mode)}, not an SGF file")
    if mode.st_size > max_bytes:
        raise too_large(str(path), mode.st_size, max_bytes)
    with open(path, "rb") as stream:
        return read_at_most(stream, str(path), max_bytes)


def load_game(path_or_bytes, source: str | None = None, sizes: Iterable[int] = (19,),
              max_bytes: int = MAX_SGF_BYTES) -> Game:
    """Return the Game in an SGF file (str/Path) or in SGF bytes; raises BadGame (also for a
    file over max_bytes or not a regular file, see read_sgf_file), OSError.

    Moves are not checked against the rules here: `positions()` and `final_position()`
    raise BadGame("illegal move") when they reach one.
    """
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return parse_game(bytes(path_or_bytes), source or "<bytes>", sizes)
    path = Path(path_or_bytes)
    return parse_game(read_sgf_file(path, max_bytes), source or str(path), sizes)
