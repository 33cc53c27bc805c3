"""The rules as tables of ASCII diagrams: X black, O white, . empty, top row first.

Captures, illegal moves, ko and superko, and simulate_play; scoring, ages, setup and the
position's own bookkeeping are in test_board_state.py.
"""

import pytest

from diagrams import COLOURS, KO, SNAPBACK, board as position, drawing, play_all, tidy
from gopolicy.board import BLACK, WHITE, IllegalMove, MoveEffect
from gopolicy.coords import parse_vertex, to_index


CAPTURES = [  # (name, before, moves, stones captured by each move, after)
    ("single stone", """
. . . . .
. . X . .
. X O . .
. . X . .
. . . . .
""", ["B D3"], [1], """
. . . . .
. . X . .
. X . X .
. . X . .
. . . . .
"""),
    ("corner", """
. . . . .
. . . . .
. . . . .
X . . . .
O . . . .
""", ["B B1"], [1], """
. . . . .
. . . . .
. . . . .
X . . . .
. X . . .
"""),
    ("edge string of three", """
. . . . .
. . . . .
. . . . .
X X X . .
O O O . .
""", ["B D1"], [3], """
. . . . .
. . . . .
. . . . .
X X X . .
. . . X .
"""),
    ("two strings at once", """
. X . X .
X O . O X
. X . X .
. . . . .
. . . . .
""", ["B C4"], [2], """
. X . X .
X . X . X
. X . X .
. . . . .
. . . . .
"""),
    ("snapback", SNAPBACK, ["W C1", "B D1", "W C1"], [0, 1, 5], """
. . . . .
. . . . .
O O O O O
O . . . O
O . O . O
"""),
    ("ko taken, played elsewhere, retaken", KO, ["B C2", "W E5", "B A5", "W B2"], [1, 0, 0, 1], """
X . . . O
. . . . .
. X O . .
X O . O .
. X O . .
"""),
    ("a move without liberties that captures is legal", """
. X O . .
X O . . .
. . . . .
. . . . .
. . . . .
""", ["W A5"], [1], """
O . O . .
X O . . .
. . . . .
. . . . .
. . . . .
"""),
    ("filling an own liberty is fine", """
. O X . .
O . X . .
X X . . .
. . . . .
. . . . .
""", ["W A5"], [0], """
O O X . .
O . X . .
X X . . .
. . . . .
. . . . .
"""),
]


@pytest.mark.parametrize("name, before, moves, captured, after", CAPTURES, ids=[c[0] for c in CAPTURES])
def test_captures(name, before, moves, captured, after):
    pos, got = play_all(position(before), moves)
    assert got == captured
    assert drawing(pos) == tidy(after)


ILLEGAL = [  # (name, diagram, move, reason)
    ("occupied", KO, "W B2", "occupied"),
    ("single-stone suicide", """
. X . . .
X . . . .
. . . . .
. . . . .
. . . . .
""", "W A5", "suicide"),
    ("two-stone suicide", """
. O X . .
X X . . .
. . . . .
. . . . .
. . . . .
""", "W A5", "suicide"),
    ("suicide of a big string", """
O O O X .
X X O X .
X . O X .
X X X . .
. . . . .
""", "W B3", "suicide"),
    ("off board", KO, "W F1", "off board"),
]


@pytest.mark.parametrize("name, diagram, move, reason", ILLEGAL, ids=[c[0] for c in ILLEGAL])
def test_illegal_moves_say_why(name, diagram, move, reason):
    pos = position(diagram)
    colour, vertex = move.split()
    point = parse_vertex(vertex, 6)  # F1 parses on 6x6, off the 5x5 board
    with pytest.raises(IllegalMove) as info:
        pos.play(point, COLOURS[colour])
    assert info.value.reason == reason
    assert reason in str(info.value)
    assert vertex in str(info.value) or reason == "off board"
    assert isinstance(info.value, ValueError)
    assert not pos.is_legal(point, COLOURS[colour])
    assert pos.simulate_play(point, COLOURS[colour]) is None


def test_ko_forbids_the_immediate_retake_only():
    pos, _ = play_all(position(KO), ["B C2"])
    b2 = parse_vertex("B2", 5)
    assert pos.ko == to_index(b2, 5) and pos.to_play == WHITE
    with pytest.raises(IllegalMove, match="ko") as info:
        pos.play(b2)
    assert info.value.reason == "ko"
    assert not pos.is_legal(b2) and not pos.legal_mask()[b2]
    assert pos.is_legal(b2, BLACK)  # black may fill the point it just emptied
    assert pos.play(None).ko == -1  # a pass ends the ko
    # taking back two stones is not a ko
    pos, captured = play_all(position(SNAPBACK), ["W C1", "B D1"])
    assert pos.ko == -1 and pos.is_legal(parse_vertex("C1", 5))


def test_positional_superko_only_when_asked():
    # B takes the ko, both pass, W retakes: the board repeats the one before B's capture
    moves = ["B C2"]
    simple, _ = play_all(position(KO), moves)
    simple = simple.play(None).play(None)
    retaken = simple.play(parse_vertex("B2", 5))
    assert drawing(retaken) == tidy(KO)
    strict, _ = play_all(position(KO, superko=True), moves)
    strict = strict.play(None).play(None)
    with pytest.raises(IllegalMove) as info:
        strict.play(parse_vertex("B2", 5))
    assert info.value.reason == "superko" and "superko" in str(info.value)
    assert not strict.is_legal(parse_vertex("B2", 5))
    assert strict.legal_mask()[parse_vertex("B2", 5)]  # the mask does not check superko
    assert strict.simulate_play(parse_vertex("B2", 5)) is None
    assert strict.is_legal(parse_vertex("E5", 5))


SIMULATE = [  # (diagram, move, MoveEffect(captured, own_size, liberties) or None)
    (CAPTURES[3][1], "B C4", MoveEffect(2, 1, 4)),
    (SNAPBACK, "W C1", MoveEffect(0, 1, 1)),
    (SNAPBACK, "B C1", MoveEffect(0, 5, 1)),
    (KO, "B C2", MoveEffect(1, 1, 1)),
    (KO, "W C2", MoveEffect(0, 5, 4)),
    (CAPTURES[2][1], "B D1", MoveEffect(3, 1, 3)),
    (CAPTURES[2][1], "W D1", MoveEffect(0, 4, 2)),
    (ILLEGAL[1][1], "W A5", None),
]


@pytest.mark.parametrize("diagram, move, effect", SIMULATE)
def test_simulate_play_predicts_play(diagram, move, effect):
    pos = position(diagram)
    colour, vertex = move.split()
    point = parse_vertex(vertex, 5)
    assert pos.simulate_play(point, COLOURS[colour]) == effect
    if effect is not None:
        after = pos.play(point, COLOURS[colour])
        assert sum(after.prisoners) == effect.captured
        assert len(after.chain_points(point)) == effect.own_size
        assert after.liberties(point) == effect.liberties
