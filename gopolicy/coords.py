"""Points, GTP vertices and flat indices.

One convention everywhere (sgfmill's): a point is `(row, col)`, row 0 is the bottom
row (GTP row 1), col 0 is column A. Flat arrays are indexed by `row * size + col`.

| point      | vertex | index (19x19) |
| ---------- | ------ | ------------- |
| (0, 0)     | A1     | 0             |
| (3, 3)     | D4     | 60            |
| (18, 18)   | T19    | 360           |
| None       | pass   | -1            |
"""

from functools import lru_cache

import numpy as np

COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # GTP letters, no I
MAX_SIZE = 25

Point = tuple[int, int]


def format_vertex(point: Point | None, size: int = 19) -> str:
    """Return the GTP vertex of `point` ("D4"), "pass" for None; ValueError if off board."""
    if point is None:
        return "pass"
    row, col = point
    if not (0 <= row < size and 0 <= col < size):
        raise ValueError(f"point {point} is off a {size}x{size} board")
    return f"{COLUMNS[col]}{row + 1}"


def parse_vertex(text: str, size: int = 19) -> Point | None:
    """Return the point of a GTP vertex ("d4" -> (3, 3)), None for "pass"; ValueError if bad/off board."""
    word = text.strip().upper()
    if word == "PASS":
        return None
    if len(word) < 2 or word[0] not in COLUMNS or not (word[1:].isascii() and word[1:].isdigit()):
        raise ValueError(f"bad vertex {text!r}")
    col = COLUMNS.index(word[0])
    if len(word[1:].lstrip("0")) > 2:
        raise ValueError(f"vertex {text!r} is off a {size}x{size} board")
    row = int(word[1:]) - 1
    if not (0 <= row < size and 0 <= col < size):
        raise ValueError(f"vertex {text!r} is off a {size}x{size} board")
    return row, col


def to_index(point: Point, size: int = 19) -> int:
    """Return the flat index `row * size + col` of `point`."""
    return point[0] * size + point[1]


def to_point(index: int, size: int = 19) -> Point:
    """Return the `(row, col)` point of a flat index."""
    return divmod(int(index), size)


@lru_cache(maxsize=None)
def neighbour_table(size: int) -> np.ndarray:
    """Return int16[size*size, 4]: flat indices of the up/down/left/right neighbours, -1 off board.

    Cached per size and read-only (shared by every Position of that size).
    """
    if not 1 <= size <= MAX_SIZE:
        raise ValueError(f"board size {size} not in 1..{MAX_SIZE}")
    rows, cols = np.divmod(np.arange(size * size), size)
    table = np.full((size * size, 4), -1, dtype=np.int16)
    idx = rows * size + cols
    table[:, 0] = np.where(rows + 1 < size, idx + size, -1)
    table[:, 1] = np.where(rows > 0, idx - size, -1)
    table[:, 2] = np.where(cols > 0, idx - 1, -1)
    table[:, 3] = np.where(cols + 1 < size, idx + 1, -1)
    table.flags.writeable = False
    return table
