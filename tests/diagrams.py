"""ASCII board diagrams for tests: top row first, X black, O white, . empty."""

from gopolicy.board import BLACK, Position


def board(text: str, to_play: int = BLACK) -> Position:
    """Return the position of a square diagram (its stones as setup stones), `to_play` to move."""
    rows = [r.split() for r in text.strip().splitlines()]
    size = len(rows)
    black = [(size - 1 - i, c) for i, r in enumerate(rows) for c, ch in enumerate(r) if ch == "X"]
    white = [(size - 1 - i, c) for i, r in enumerate(rows) for c, ch in enumerate(r) if ch == "O"]
    return Position(size).setup(black=black, white=white).with_to_play(to_play)
