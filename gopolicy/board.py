"""The rules of Go: an immutable Position with chains and liberties kept incrementally.

| rule             | here                                                                   |
| ---------------- | ---------------------------------------------------------------------- |
| captures         | a move removes the enemy strings it leaves without a liberty           |
| suicide          | illegal (IllegalMove reason "suicide")                                 |
| simple ko        | `ko` is the point to_play may not retake at once (reason "ko")         |
| positional superko | only with `superko=True`: no move may repeat an earlier board        |
| passes           | `play(None)`; `passes` counts consecutive ones                         |
| setup stones     | `setup(black, white, empty)` (SGF AB/AW/AE): no ages, clears ko        |
| stone ages       | `ages()`: 0 = stone of the last move; a pass ages every stone by one   |
| score            | `area_score()`: Tromp-Taylor area, black minus white minus komi        |

A Position never changes. `play` copies one flat buffer and applies the move in a
numba kernel (`board_kernels.play_move`); the per-point arrays (`stones`, `chain`,
`next_stone`, `libs`, `chain_size`, `placed`) are read-only views of that buffer,
built on first access, and shared by positions derived without a move (pass,
`with_to_play`).
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from gopolicy import board_kernels as K
from gopolicy.coords import Point, format_vertex, neighbour_table

BLACK = 1
WHITE = -1
EMPTY = 0

_TURN_KEY = -0x3B6C2A1F5E9D8C71  # xor'd into `key` when white is to play
_COLOUR_NAMES = {BLACK: "black", WHITE: "white"}
_STATUS_REASONS = {K.OCCUPIED: "occupied", K.SUICIDE: "suicide", K.KO: "ko"}
_REASON_TEXT = {
    "occupied": "the point is occupied",
    "suicide": "it would be suicide",
    "ko": "it retakes a ko at once",
    "superko": "it repeats an earlier position (positional superko)",
    "off board": "the point is off board",
}
# views built lazily from the buffer: name -> (start, stop) in units of N bytes, dtype
_VIEWS = {
    "placed": (0, 4, np.int32),
    "chain": (4, 6, np.int16),
    "next_stone": (6, 8, np.int16),
    "libs": (8, 10, np.int16),
    "chain_size": (10, 12, np.int16),
    "stones": (12, 13, np.int8),
}




@lru_cache(maxsize=None)
def _neighbours(size: int) -> np.ndarray:
    """Return a private writable copy of the neighbour table (numba dispatches writable arrays faster)."""
    return neighbour_table(size).copy()


@lru_cache(maxsize=None)
def _scratch(size: int) -> np.ndarray:
    """Return int8[N] zeros that kernels may mark and must leave zero (they hold the GIL)."""
    return np.zeros(size * size, np.int8)


def _compiled(kernel, *example):
    """Return `kernel`'s compiled entry point for the types of `example`, skipping numba's
    per-call type dispatch (about 0.5 us); the dispatcher itself if numba hides it."""
    kernel(*example)
    try:
        from numba import typeof

        return kernel.overloads[tuple(typeof(a) for a in example)].entry_point
    except (AttributeError, KeyError):
        return kernel


# the hot path of every move: (buf uint8[13N], nbr int16[N, 4], p, colour, ko, stone_key, move_number)
_PLAY_MOVE = _compiled(K.play_move, np.zeros(13, np.uint8), np.full((1, 4), -1, np.int16), 0, 1, -1, 0, 0)


_copy = np.ndarray.copy
_new = object.__new__


class IllegalMove(ValueError):
    """A move the rules forbid; `.reason` is one of occupied, suicide, ko, superko, off board."""

    def __init__(self, reason: str, point=None, colour: int | None = None, size: int = 19):
        self.reason = reason
        self.point = point
        self.colour = colour
        where = format_vertex(point, size) if point is not None and reason != "off board" else str(point)
        who = _COLOUR_NAMES.get(colour, "?")
        super().__init__(f"illegal move {who} {where}: {_REASON_TEXT[reason]}")


@dataclass(frozen=True)
class MoveEffect:
    """What a move would do: stones captured, own string size and liberties after it."""

    captured: int
    own_size: int
    liberties: int


class Position:
    """An immutable Go position; see the module docstring for the rules."""

    __slots__ = (
        "size", "komi", "superko", "to_play", "move_number", "last_move", "ko", "passes",
        "prisoners", "key", "_skey", "_buf", "_nbr", "_seen",
        "_views",
    )

    def __init__(self, size: int = 19, komi: float = 7.5, superko: bool = False):
        nbr = _neighbours(size)
        n = size * size
        buf = np.zeros(n * K.BYTES_PER_POINT, np.uint8)
        buf[4 * n:6 * n].view(np.int16)[:] = -1  # chain
        buf[6 * n:8 * n].view(np.int16)[:] = -1  # next_stone
        self.size = size
        self.komi = float(komi)
        self.superko = bool(superko)
        self.to_play = BLACK
        self.move_number = 0
        self.last_move = None
        self.ko = -1
        self.passes = 0
        self.prisoners = (0, 0)
        self._skey = 0
        self.key = 0
        self._buf = buf
        self._nbr = nbr
        self._seen = frozenset((0,)) if superko else None

    def __getstate__(self):
        # pickle the buffer once, not the views of it
        return None, {name: getattr(self, name) for name in self.__slots__ if name != "_views"}

    def _view(self, i):
        """Return the i-th per-point view (order of _VIEWS), building all six on first use."""
        try:
            return self._views[i]
        except AttributeError:
            # not in __getattr__: a class with __getattr__ loses CPython's fast attribute access
            n = self.size * self.size
            views = []
            for start, stop, dtype in _VIEWS.values():
                view = self._buf[start * n:stop * n].view(dtype)
                view.flags.writeable = False
                views.append(view)
            self._views = tuple(views)
            return self._views[i]

    placed = property(lambda self: self._view(0), doc="int32[N]: move number at which each stone was played")
    chain = property(lambda self: self._view(1), doc="int16[N]: chain id (root index) of each stone, -1 empty")
    next_stone = property(lambda self: self._view(2), doc="int16[N]: circular list through each chain")
    libs = property(lambda self: self._view(3), doc="int16[N]: liberties of a chain, valid at chain[p]")
    chain_size = property(lambda self: self._view(4), doc="int16[N]: stones of a chain, valid at chain[p]")
    stones = property(lambda self: self._view(5), doc="int8[N]: +1 black, -1 white, 0 empty")
    state_buffer = property(lambda self: self._buf,
                            doc="uint8[13N]: the per-point state the six arrays above view, for "
                                "numba kernels (board_kernels.views splits it); never write to it")

    def _derive(self, buf, to_play, ko, skey):
        """Return a new Position sharing this one's settings, with the given state."""
        new = _new(Position)
        new.size = self.size
        new.komi = self.komi
        new.superko = self.superko
        new.to_play = to_play
        new.move_number = self.move_number
        new.last_move = self.last_move
        new.ko = ko
        new.passes = self.passes
        new.prisoners = self.prisoners
        new._skey = skey
        new.key = skey ^ _TURN_KEY if to_play < 0 else skey
        new._buf = buf
        new._nbr = self._nbr
        new._seen = self._seen
        if buf is self._buf:
            try:
                new._views = self._views
            except AttributeError:
                pass
        return new

    # --- moves -------------------------------------------------------------------------

    def play(self, point: Point | None, colour: int | None = None) -> "Position":
        """Return the position after `colour` (default to_play) plays `point` (None = pass).

        Raises IllegalMove (occupied, suicide, ko, superko, off board); ValueError on a bad colour.
        """
        if colour is None:
            colour = self.to_play
        elif colour != BLACK and colour != WHITE:
            raise ValueError(f"colour must be BLACK (1) or WHITE (-1), not {colour!r}")
        if point is None:
            return self._pass(colour)
        size = self.size
        row, col = point
        if not (0 <= row < size and 0 <= col < size):
            raise IllegalMove("off board", point, colour, size)
        # the replay hot path: one copy, one kernel call, one object
        buf = _copy(self._buf)
        status, ko, skey, captured = _PLAY_MOVE(
            buf, self._nbr, row * size + col, colour, self.ko if colour == self.to_play else -1,
            self._skey, self.move_number)
        if status:
            raise IllegalMove(_STATUS_REASONS[status], point, colour, size)
        seen = self._seen
        if seen is not None:
            if skey in seen:
                raise IllegalMove("superko", point, colour, size)
            seen = seen | {skey}
        new = _new(Position)
        new.size = size
        new.komi = self.komi
        new.superko = self.superko
        new.to_play = -colour
        new.move_number = self.move_number + 1
        new.last_move = point
        new.ko = ko
        new.passes = 0
        if captured:
            b, w = self.prisoners
            new.prisoners = (b + captured, w) if colour > 0 else (b, w + captured)
        else:
            new.prisoners = self.prisoners
        new._skey = skey
        new.key = skey if colour < 0 else skey ^ _TURN_KEY
        new._buf = buf
        new._nbr = self._nbr
        new._seen = seen
        return new

    def play_trusted(self, index: int, colour: int) -> "Position":
        """Return the position after `colour` plays flat `index` (-1 = pass), for hot loops on
        moves known to be legal. The rules are checked in the kernel anyway (free), so an
        illegal move still raises IllegalMove."""
        return self.play(divmod(index, self.size) if index >= 0 else None, colour)

    def _repeats(self, point, colour):
        """Return True if the (otherwise legal) move repeats an earlier board (superko)."""
        try:
            self.play(point, colour)
        except IllegalMove:
            return True
        return False

    def _pass(self, colour):
        """Return the position after `colour` passes: stones shared, every stone one turn older."""
        new = self._derive(self._buf, -colour, -1, self._skey)
        new.move_number = self.move_number + 1
        new.last_move = None
        new.passes = self.passes + 1
        return new

    def setup(self, black=(), white=(), empty=()) -> "Position":
        """Return the position with setup stones added/removed (SGF AB/AW/AE); ko cleared.

        Setup stones count as older than any move. Raises IllegalMove ("off board", or
        "suicide" if a chain is left without a liberty).
        """
        size = self.size
        n = size * size
        buf = self._buf.copy()
        placed, _, _, _, _, stones = K.views(buf, n)
        for points, colour in ((empty, EMPTY), (black, BLACK), (white, WHITE)):
            for point in points:
                row, col = point
                if not (0 <= row < size and 0 <= col < size):
                    raise IllegalMove("off board", point, colour or None, size)
                stones[row * size + col] = colour
                placed[row * size + col] = K.SETUP_PLACED if colour else 0
        skey, dead = K.rebuild(buf, self._nbr)
        if dead >= 0:
            raise IllegalMove("suicide", divmod(int(dead), size), int(stones[dead]), size)
        new = self._derive(buf, self.to_play, -1, int(skey))
        if new._seen is not None:
            new._seen = new._seen | {new._skey}
        return new

    def with_to_play(self, colour: int) -> "Position":
        """Return the same board with `colour` to play (the ko point is kept only if unchanged)."""
        if colour != BLACK and colour != WHITE:
            raise ValueError(f"colour must be BLACK (1) or WHITE (-1), not {colour!r}")
        return self._derive(self._buf, colour, self.ko if colour == self.to_play else -1, self._skey)

    # --- queries -----------------------------------------------------------------------

    def _index(self, point):
        """Return the flat index of `point`, or -1 if it is off the board."""
        row, col = point
        size = self.size
        return row * size + col if 0 <= row < size and 0 <= col < size else -1

    def is_legal(self, point: Point | None, colour: int | None = None) -> bool:
        """Return True if `colour` (default to_play) may play `point` (None = pass is always legal)."""
        if point is None:
            return True
        colour = self.to_play if colour is None else colour
        index = self._index(point)
        if index < 0:
            return False
        ko = self.ko if colour == self.to_play else -1
        if K.legal_status(self.stones, self.chain, self.libs, self._nbr, index, colour, ko):
            return False
        return not (self.superko and self._repeats(point, colour))

    def legal_mask(self, colour: int | None = None) -> np.ndarray:
        """Return bool[size, size]: empty, not suicide, not the simple-ko point (superko not checked)."""
        colour = self.to_play if colour is None else colour
        ko = self.ko if colour == self.to_play else -1
        mask = K.legal_points(self.stones, self.chain, self.libs, self._nbr, colour, ko)
        return mask.reshape(self.size, self.size)

    def simulate_play(self, point: Point, colour: int | None = None) -> MoveEffect | None:
        """Return what `colour` playing `point` would capture, its string size and liberties
        after; None if the move is illegal (superko included when enabled)."""
        colour = self.to_play if colour is None else colour
        index = self._index(point)
        if index < 0:
            return None
        ko = self.ko if colour == self.to_play else -1
        status, captured, own_size, libs = K.simulate(
            self.stones, self.chain, self.next_stone, self.libs, self.chain_size,
            self._nbr, index, colour, ko, _scratch(self.size))
        if status or (self.superko and self._repeats(point, colour)):
            return None
        return MoveEffect(int(captured), int(own_size), int(libs))

    @property
    def grid(self) -> np.ndarray:
        """int8[size, size] read-only view of the stones, indexed [row, col]."""
        return self.stones.reshape(self.size, self.size)

    def liberties(self, point: Point) -> int:
        """Return the liberties of the chain at `point`, 0 on an empty point."""
        index = self._index(point)
        if index < 0 or self.stones[index] == 0:
            return 0
        return int(self.libs[self.chain[index]])

    def chain_points(self, point: Point) -> list[Point]:
        """Return the points of the chain at `point` (sorted by index), [] on an empty point."""
        index = self._index(point)
        if index < 0 or self.stones[index] == 0:
            return []
        members = np.flatnonzero(self.chain == self.chain[index])
        return [divmod(int(i), self.size) for i in members]

    def ages(self) -> np.ndarray:
        """Return int32[size, size]: turns since each stone was played (0 = last move), -1 on
        empty points; setup stones are older than any move (about 1e6)."""
        ages = np.where(self.stones != 0, self.move_number - 1 - self.placed, -1)
        return ages.astype(np.int32).reshape(self.size, self.size)

    def area_score(self) -> float:
        """Return black area - white area - komi (Tromp-Taylor; > 0: black leads)."""
        black, white = K.area(self.stones, self._nbr)
        return float(black - white) - self.komi

    def __repr__(self) -> str:
        return f"<Position {self.size}x{self.size} move {self.move_number} " \
               f"{_COLOUR_NAMES[self.to_play]} to play>\n{self}"

    def __str__(self) -> str:
        """The board as ASCII, top row first: X black, O white, . empty."""
        chars = np.array(list(".XO"))[self.grid[::-1] % 3]
        return "\n".join("".join(row) for row in chars)
