"""The state of one GTP session: board, move history, undo, komi, handicap, SGF.

A `Session` keeps every position since the start of the game (after handicap or
setup stones), so `undo` is a pop and `printsgf` replays nothing. Changing the komi
rebuilds the history, because a Position carries its komi (area_score uses it).
"""

from dataclasses import dataclass, field

from gopolicy.board import BLACK, WHITE, IllegalMove, Position
from gopolicy.coords import Point, format_vertex

# Standard GTP fixed handicap placements (GTP 2 spec section 4.1.1), 19x19, as vertices.
_HANDICAP_19 = {
    2: "D4 Q16",
    3: "D4 Q16 D16",
    4: "D4 Q16 D16 Q4",
    5: "D4 Q16 D16 Q4 K10",
    6: "D4 Q16 D16 Q4 D10 Q10",
    7: "D4 Q16 D16 Q4 D10 Q10 K10",
    8: "D4 Q16 D16 Q4 D10 Q10 K4 K16",
    9: "D4 Q16 D16 Q4 D10 Q10 K4 K16 K10",
}
_SGF_LETTERS = "abcdefghijklmnopqrstuvwxy"


def fixed_handicap_points(stones: int, size: int = 19) -> list[Point]:
    """Return the standard GTP handicap points; ValueError if `stones` is not 2..9 on 19x19."""
    from gopolicy.coords import parse_vertex

    if size != 19 or stones not in _HANDICAP_19:
        raise ValueError(f"no fixed handicap of {stones} stones on {size}x{size}")
    return [parse_vertex(v, size) for v in _HANDICAP_19[stones].split()]


def _sgf_point(point: Point | None, size: int) -> str:
    if point is None:
        return ""
    row, col = point
    return _SGF_LETTERS[col] + _SGF_LETTERS[size - 1 - row]


@dataclass
class Session:
    """One game as a GTP controller sees it; `position` is the current Position."""

    size: int = 19
    komi: float = 7.5
    superko: bool = False
    setup_black: list[Point] = field(default_factory=list)
    setup_white: list[Point] = field(default_factory=list)
    first_player: int = BLACK
    moves: list[tuple[int, Point | None]] = field(default_factory=list)
    handicap: int = 0
    history: list[Position] = field(default_factory=list)

    def __post_init__(self):
        self._rebuild()

    @property
    def position(self) -> Position:
        """The current position (to_play is the side the game expects to move)."""
        return self.history[-1]

    def _start(self) -> Position:
        start = Position(self.size, self.komi, self.superko)
        if self.setup_black or self.setup_white:
            start = start.setup(black=self.setup_black, white=self.setup_white)
        return start.with_to_play(self.first_player)

    def _rebuild(self) -> None:
        self.history = [self._start()]
        for colour, point in self.moves:
            self.history.append(self.history[-1].play(point, colour))

    # ---- commands ------------------------------------------------------------------
    def clear(self) -> None:
        """Empty the board and forget the game (komi stays)."""
        self.setup_black, self.setup_white, self.moves = [], [], []
        self.first_player, self.handicap = BLACK, 0
        self._rebuild()

    def set_komi(self, komi: float) -> None:
        """Change the komi of the game in progress."""
        if komi != self.komi:
            self.komi = komi
            self._rebuild()

    def play(self, colour: int, point: Point | None) -> Position:
        """Play a move for `colour` (either colour may move); return the new position.

        Raises IllegalMove (occupied, suicide, ko, superko).
        """
        position = self.position.play(point, colour)
        self.moves.append((colour, point))
        self.history.append(position)
        return position

    def undo(self) -> None:
        """Take back the last move; ValueError if there is none."""
        if not self.moves:
            raise ValueError("cannot undo")
        self.moves.pop()
        self.history.pop()

    def place_handicap(self, points: list[Point]) -> None:
        """Put black handicap stones on an empty board; white moves next.

        Raises ValueError if the board is not empty or a point repeats.
        """
        if self.moves or self.setup_black or self.setup_white:
            raise ValueError("board not empty")
        if len(set(points)) != len(points) or len(points) < 2:
            raise ValueError("bad handicap stones")
        self.setup_black = list(points)
        self.first_player = WHITE
        self.handicap = len(points)
        self._rebuild()

    def load(self, game, move_number: int | None = None) -> None:
        """Take over a loaded sgf_io.Game, stopped before `move_number` (1-based) if given."""
        keep = len(game.moves) if move_number is None else max(0, min(move_number - 1, len(game.moves)))
        if game.size != self.size:
            raise ValueError(f"board size {game.size} not supported")
        self.komi = float(game.komi)
        self.setup_black, self.setup_white = list(game.setup_black), list(game.setup_white)
        self.first_player = game.first_player
        self.handicap = game.handicap
        self.moves = list(game.moves[:keep])
        self._rebuild()

    def passes_at_end(self) -> int:
        """Return the number of consecutive passes that end the move list."""
        count = 0
        for _, point in reversed(self.moves):
            if point is not None:
                break
            count += 1
        return count

    def to_sgf(self, result: str | None = None, black: str | None = None,
               white: str | None = None) -> str:
        """Return the game as SGF text on one line per node group (no empty lines)."""
        props = [f"GM[1]FF[4]CA[UTF-8]SZ[{self.size}]KM[{self.komi:g}]RU[Chinese]"]
        if self.handicap:
            props.append(f"HA[{self.handicap}]")
        for name, value in (("PB", black), ("PW", white), ("RE", result)):
            if value:
                props.append(f"{name}[{value}]")
        for tag, stones in (("AB", self.setup_black), ("AW", self.setup_white)):
            if stones:
                props.append(tag + "".join(f"[{_sgf_point(p, self.size)}]" for p in stones))
        if self.first_player == WHITE and not self.moves:
            props.append("PL[W]")
        nodes = [";" + "".join(props)]
        for colour, point in self.moves:
            nodes.append(f";{'B' if colour == BLACK else 'W'}[{_sgf_point(point, self.size)}]")
        lines = [nodes[0]] + ["".join(nodes[i:i + 10]) for i in range(1, len(nodes), 10)]
        return "(" + "\n".join(lines) + ")"

    def vertex(self, point: Point | None) -> str:
        """Return the GTP vertex of `point` on this board."""
        return format_vertex(point, self.size)


__all__ = ["Session", "fixed_handicap_points", "IllegalMove", "BLACK", "WHITE"]
