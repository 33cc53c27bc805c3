"""The 48 feature planes: table, hand-made diagrams per family, and a slow reference.

Diagrams: top row first, X black, O white, . empty.
"""

import numpy as np
import pytest

from diagrams import board

from gopolicy import features, ladders
from gopolicy.board import BLACK, WHITE, Position
from gopolicy.coords import parse_vertex


def at(planes, vertex: str, size: int) -> list[int]:
    """Return the planes set at `vertex`."""
    row, col = parse_vertex(vertex, size)
    return [int(i) for i in np.flatnonzero(planes[:, row, col])]


def test_table_sums_to_48_in_order():
    assert sum(f.planes for f in features.FEATURES) == features.NUM_PLANES == 48
    assert features.feature_planes("turns since") == slice(4, 12)
    assert features.feature_planes("capture size") == slice(20, 28)
    assert features.feature_planes("ladder capture") == slice(44, 45)
    assert features.feature_planes("zeros") == slice(47, 48)


def test_shape_dtype_constants():
    planes = features.encode(Position(19))
    assert planes.shape == (48, 19, 19) and planes.dtype == np.uint8
    assert planes[3].all() and not planes[47].any()
    assert planes[2].all() and not planes[0:2].any()         # all empty
    assert planes[20].all() and planes[46].all()               # legal, captures none, sensible
    assert planes[39, 1:-1, 1:-1].all() and planes[39].sum() == 17 * 17   # 4 liberties inside
    assert planes[38].sum() == 4 * 17 and planes[37].sum() == 4         # edges 3, corners 2
    assert planes[36:44].sum() == 361


# A 5x5 position. Black X to play unless said.
POSITION = """
. X O . .
X O . O .
. X O . .
. . X . .
O . . . X
"""
def test_stone_and_liberty_planes_by_table():
    p = board(POSITION)
    planes = features.encode(p)
    size = p.size
    for vertex in ("A4", "B5", "B3", "C2", "E1"):                     # black stones
        libs = p.liberties(parse_vertex(vertex, size))
        assert at(planes, vertex, size) == [0, 3, 11, 11 + min(libs, 8)], vertex
    for vertex in ("C5", "B4", "D4", "C3", "A1"):                     # white stones
        libs = p.liberties(parse_vertex(vertex, size))
        assert at(planes, vertex, size) == [1, 3, 11, 11 + min(libs, 8)], vertex
    white_view = features.encode(p.with_to_play(WHITE))
    assert at(white_view, "B5", size)[:1] == [1] and at(white_view, "C5", size)[:1] == [0]


MOVE_CASES = [
    # (vertex, to_play, planes set at that empty point)
    # C4 captures B4 (1 stone) and is left with one liberty, B4: a 1-stone self-atari;
    # the capture also saves B5 from atari (white cannot retake the ko at once): escape
    ("C4", BLACK, [2, 3, 21, 28, 36, 45, 46]),
    # A5 joins A4 and B5 into 3 stones with one liberty, A3; B4 (white) spoils the eye
    ("A5", BLACK, [2, 3, 20, 30, 36, 46]),
    ("E5", BLACK, [2, 3, 20, 37, 46]),       # corner: 2 liberties
    ("D1", WHITE, [2, 3, 20, 37, 44, 46]),   # C1, D2 free; ataris E1, which dies on the edge
    ("C4", WHITE, [2, 3, 20, 38, 45, 46]),   # joins B4 (in atari), C5, C3, D4: D5 E4 D3
]


@pytest.mark.parametrize("vertex, to_play, expected", MOVE_CASES)
def test_move_planes_by_table(vertex, to_play, expected):
    p = board(POSITION, to_play)
    assert at(features.encode(p), vertex, p.size) == expected


def reference_planes(p: Position) -> np.ndarray:
    """Planes 0-43 and 46 the slow, obvious way: one simulate_play per point."""
    size = p.size
    out = np.zeros((48, size, size), np.uint8)
    ages = p.ages()
    me = p.to_play
    for row in range(size):
        for col in range(size):
            s = p.grid[row, col]
            out[3, row, col] = 1
            if s:
                out[0 if s == me else 1, row, col] = 1
                out[4 + min(int(ages[row, col]), 7), row, col] = 1
                out[12 + min(p.liberties((row, col)), 8) - 1, row, col] = 1
                continue
            out[2, row, col] = 1
            effect = p.simulate_play((row, col))
            if effect is None:
                continue
            out[20 + min(effect.captured, 7), row, col] = 1
            if effect.liberties == 1:
                out[28 + min(effect.own_size, 8) - 1, row, col] = 1
            out[36 + min(effect.liberties, 8) - 1, row, col] = 1
            neighbours = [(row + dr, col + dc) for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1))
                          if 0 <= row + dr < size and 0 <= col + dc < size]
            diagonals = [(row + dr, col + dc) for dr in (1, -1) for dc in (1, -1)
                         if 0 <= row + dr < size and 0 <= col + dc < size]
            bad = sum(p.grid[d] == -me for d in diagonals)
            eye = all(p.grid[n] == me for n in neighbours) and \
                bad <= (0 if len(neighbours) < 4 else 1)
            out[46, row, col] = not eye
    return out


def random_position(seed: int, size: int, moves: int) -> Position:
    """Return a position after up to `moves` random legal moves (passes included)."""
    rng = np.random.default_rng(seed)
    p = Position(size)
    for _ in range(moves):
        legal = np.flatnonzero(p.legal_mask())
        if len(legal) == 0 or rng.random() < 0.03:
            p = p.play(None)
            continue
        p = p.play(divmod(int(rng.choice(legal)), size))
    return p


@pytest.mark.parametrize("seed", range(12))
def test_fast_encode_matches_reference(seed):
    size = (7, 9, 13, 19)[seed % 4]
    p = random_position(seed, size, moves=int(size * size * (0.3 + 0.1 * (seed % 6))))
    fast = features.encode(p)
    slow = reference_planes(p)
    keep = [i for i in range(48) if i not in (44, 45)]
    for plane in keep:
        assert np.array_equal(fast[plane], slow[plane]), (plane, str(p))
    capture, escape = ladders.ladder_masks(p)
    assert np.array_equal(fast[44] > 0, capture) and np.array_equal(fast[45] > 0, escape)
    # ladder moves are legal moves
    assert not (fast[44:46].astype(bool) & ~p.legal_mask()).any()


@pytest.mark.parametrize("seed", range(8))
def test_sensible_points_alone_equal_the_sensibleness_plane(seed):
    """Move choice reads the sensibleness plane without encoding the other 47."""
    size = (9, 19)[seed % 2]
    p = random_position(100 + seed, size, moves=int(size * size * (0.4 + 0.1 * (seed % 5))))
    for position in (p, p.with_to_play(-p.to_play)):
        plane = features.encode(position)[features.feature_planes("sensibleness")][0]
        assert np.array_equal(features.sensible_points(position), plane.astype(bool)), str(position)


def test_turns_since_and_pass():
    p = Position(9)
    for vertex in ("C3", "G7", "C7", "G3", "E5", "D4", "F6", "B2", "H8"):
        p = p.play(parse_vertex(vertex, 9))
    p = p.play(None)  # a pass ages every stone by one
    planes = features.encode(p)
    # H8 was the 9th move, played 1 turn before the pass: age 1; C3 age 9 -> plane 7
    assert at(planes, "H8", 9)[2] == 4 + 1
    assert at(planes, "B2", 9)[2] == 4 + 2
    assert at(planes, "C3", 9)[2] == 4 + 7
    assert at(planes, "C7", 9)[2] == 4 + 7


def test_ko_point_is_not_legal():
    p = board("""
. . . . .
. X O . .
X O . O .
. X O . .
. . . . .
""")
    p = p.play(parse_vertex("C3", 5))    # black captures B3: ko at B3 for white
    assert p.ko >= 0
    planes = features.encode(p)
    assert at(planes, "B3", 5) == [2, 3]   # empty, ones; no move planes, not sensible
    assert at(planes, "E1", 5)[2:] == [20, 37, 46]


def test_eye_filling_is_not_sensible():
    p = board("""
. X . X O
X . X X O
. X X O .
X X O O O
. X O . O
""")
    planes = features.encode(p)
    assert planes[46][parse_vertex("A5", 5)] == 0    # corner eye, no white diagonal
    assert planes[46][parse_vertex("B4", 5)] == 0    # centre eye with no white diagonal
    assert planes[46][parse_vertex("C5", 5)] == 0    # edge eye
    assert planes[46][parse_vertex("A1", 5)] == 0    # corner eye, own diagonal B2
    white = features.encode(p.with_to_play(WHITE))
    assert white[46][parse_vertex("D1", 5)] == 0     # white eye on the edge
    assert white[46][parse_vertex("E3", 5)] == 1     # false eye: black D4 on its diagonal


def test_encode_batch():
    positions = [random_position(s, 9, 30) for s in range(3)]
    batch = features.encode_batch(positions)
    assert batch.shape == (3, 48, 9, 9)
    for i, p in enumerate(positions):
        assert np.array_equal(batch[i], features.encode(p))
    with pytest.raises(ValueError):
        features.encode_batch([Position(9), Position(19)])
    with pytest.raises(ValueError):
        features.encode_batch([])
