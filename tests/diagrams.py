"""ASCII board diagrams for tests: top row first, X black, O white, . empty."""

from gopolicy.board import BLACK, WHITE, Position
from gopolicy.coords import parse_vertex

COLOURS = {"B": BLACK, "W": WHITE}
# two shapes the rule tests share: a snapback, and a ko that black takes at C2
SNAPBACK = """
. . . . .
. . . . .
O O O O O
O X X X O
O X . . O
"""
KO = """
. . . . .
. . . . .
. X O . .
X O . O .
. X O . .
"""


def diagram_points(diagram):
    """Return (size, black points, white points) of a diagram, top row first."""
    rows = [line.split() for line in diagram.strip().splitlines()]
    size = len(rows)
    black, white = [], []
    for i, row in enumerate(rows):
        assert len(row) == size, diagram
        for col, char in enumerate(row):
            point = (size - 1 - i, col)
            if char == "X":
                black.append(point)
            elif char == "O":
                white.append(point)
    return size, black, white


def board(text: str, to_play: int = BLACK, **kwargs) -> Position:
    """Return the position of a square diagram (its stones as setup stones), `to_play` to move;
    `kwargs` go to Position (komi, superko)."""
    size, black, white = diagram_points(text)
    return Position(size, **kwargs).setup(black=black, white=white).with_to_play(to_play)


def drawing(pos):
    """Return the stones of `pos` as a diagram string (same format as the tables)."""
    return "\n".join(" ".join(".XO"[v] for v in row) for row in pos.grid[::-1])


def tidy(diagram):
    return "\n".join(" ".join(line.split()) for line in diagram.strip().splitlines())


def play_all(pos, moves):
    """Play 'B C3'-style moves; return the final position and the stones captured by each."""
    captured = []
    for move in moves:
        colour, vertex = move.split()
        before = sum(pos.prisoners)
        pos = pos.play(parse_vertex(vertex, pos.size), COLOURS[colour])
        captured.append(sum(pos.prisoners) - before)
    return pos, captured
