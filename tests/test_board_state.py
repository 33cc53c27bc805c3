"""The position's state: area score, stone ages, setup stones, bookkeeping arrays, keys,
pickling and chains, with ASCII diagrams (X black, O white, . empty, top row first)."""

import pickle

import numpy as np
import pytest

from diagrams import KO, SNAPBACK, board as position, diagram_points, drawing, play_all, tidy
from gopolicy.board import BLACK, WHITE, IllegalMove, Position
from gopolicy.coords import parse_vertex, to_index


SCORES = [  # (diagram, komi, area score)
    ("""
. . .
. . .
. . .
""", 7.5, -7.5),
    ("""
. . .
. X .
. . .
""", 0.5, 8.5),
    ("""
. X O . .
. X O . .
X X O O O
. X O . .
. X O . .
""", 0.5, 10 - 15 - 0.5),
    ("""
. X . O .
. X . O .
X X . O O
. X . O .
. X . O .
""", 0.0, 10 - 10 - 0.0),  # the middle column is dame: it touches both colours
]


@pytest.mark.parametrize("diagram, komi, score", SCORES)
def test_area_score(diagram, komi, score):
    size, black, white = diagram_points(diagram)
    pos = Position(size, komi=komi).setup(black, white)
    assert pos.area_score() == pytest.approx(score)


def test_ages_count_turns_and_passes():
    pos = Position(5).setup(black=[(4, 4)])
    pos, _ = play_all(pos, ["B A1", "W B1", "B C1"])
    pos = pos.play(None)  # white passes: every stone one turn older
    pos = pos.play((2, 2))  # black C3
    ages = pos.ages()
    assert ages[2, 2] == 0
    assert (ages[0, 0], ages[0, 1], ages[0, 2]) == (4, 3, 2)
    assert ages[4, 4] >= 1_000_000 and ages[4, 4] == ages.max()
    assert ages[3, 3] == -1 and ages.dtype == np.int32
    assert pos.move_number == 5 and pos.passes == 0 and pos.last_move == (2, 2)


def test_captured_and_replayed_stone_is_young_again():
    pos, _ = play_all(position(KO), ["B C2", "W E5", "B A5", "W B2"])
    assert pos.ages()[1, 1] == 0 and pos.ages()[4, 0] == 1
    assert pos.ages()[2, 1] > 1_000_000 - 10  # setup stone


def test_setup_stones_and_errors():
    pos = Position(5).setup(black=[(0, 0), (1, 1)], white=[(2, 2)])
    pos = pos.setup(empty=[(1, 1)], white=[(3, 3)])
    assert drawing(pos) == tidy("""
. . . . .
. . . O .
. . O . .
. . . . .
X . . . .
""")
    assert pos.move_number == 0 and pos.to_play == BLACK and pos.ko == -1
    with pytest.raises(IllegalMove) as info:
        Position(5).setup(black=[(0, 0)], white=[(0, 1), (1, 0)])
    assert info.value.reason == "suicide"
    with pytest.raises(IllegalMove) as info:
        Position(5).setup(black=[(5, 0)])
    assert info.value.reason == "off board"
    ko_pos, _ = play_all(position(KO), ["B C2"])
    assert ko_pos.setup(black=[(4, 4)]).ko == -1


def test_bookkeeping_after_moves():
    pos = Position(9, komi=6.5)
    assert (pos.size, pos.komi, pos.superko, pos.to_play, pos.move_number) == (9, 6.5, False, BLACK, 0)
    assert pos.last_move is None and pos.ko == -1 and pos.passes == 0 and pos.prisoners == (0, 0)
    after = pos.play((4, 4))
    assert (after.to_play, after.move_number, after.last_move) == (WHITE, 1, (4, 4))
    out_of_turn = after.play((3, 3), WHITE).play((2, 2), WHITE)
    assert out_of_turn.to_play == BLACK and out_of_turn.move_number == 3
    passed = after.play(None).play(None)
    assert passed.passes == 2 and passed.last_move is None and passed.to_play == WHITE
    assert passed.stones is after.stones or np.shares_memory(passed.stones, after.stones)
    with pytest.raises(ValueError):
        pos.play((0, 0), 2)
    assert pos.with_to_play(WHITE).to_play == WHITE and pos.with_to_play(WHITE).key != pos.key


def test_arrays_are_flat_typed_and_read_only():
    pos = Position(9).play((0, 0))
    expected = {"stones": np.int8, "chain": np.int16, "next_stone": np.int16, "libs": np.int16,
                "chain_size": np.int16, "placed": np.int32}
    for name, dtype in expected.items():
        array = getattr(pos, name)
        assert array.dtype == dtype and array.shape == (81,), name
        with pytest.raises(ValueError):
            array[0] = 0
    assert pos.grid.shape == (9, 9) and pos.grid[0, 0] == BLACK
    assert pos.chain[0] == 0 and pos.chain[1] == -1 and pos.libs[0] == 2 and pos.chain_size[0] == 1
    assert Position().stones.shape == (361,)


def test_play_trusted_matches_play():
    pos = position(KO)
    b2, c2 = to_index(parse_vertex("B2", 5), 5), to_index(parse_vertex("C2", 5), 5)
    trusted = pos.play_trusted(c2, BLACK)
    checked = pos.play(parse_vertex("C2", 5), BLACK)
    assert drawing(trusted) == drawing(checked) and trusted.key == checked.key
    assert (trusted.ko, trusted.prisoners, trusted.last_move) == (checked.ko, checked.prisoners, (1, 2))
    assert trusted.play_trusted(-1, WHITE).passes == 1
    with pytest.raises(IllegalMove):
        trusted.play_trusted(b2, WHITE)  # the kernel still refuses the ko


def test_positions_pickle():
    pos, _ = play_all(position(KO, superko=True), ["B C2"])
    pos.stones  # build the views first: they must not break pickling
    copy = pickle.loads(pickle.dumps(pos))
    assert drawing(copy) == drawing(pos) and copy.key == pos.key and copy.ko == pos.ko
    assert copy.play(None).play(None).is_legal(parse_vertex("B2", 5)) is False


def test_key_depends_on_stones_and_side_to_move_only():
    a = Position(9).play((0, 0)).play((8, 8)).play((4, 4))
    b = Position(9).play((4, 4)).play((8, 8)).play((0, 0))
    assert a.key == b.key
    assert a.key != a.with_to_play(BLACK).key
    assert a.play(None).key == a.with_to_play(BLACK).key
    assert Position(9).key != a.key


def test_liberties_and_chain_points():
    pos = position(SNAPBACK)
    assert pos.liberties((1, 1)) == 2 and pos.liberties((0, 2)) == 0
    assert sorted(pos.chain_points((0, 1))) == [(0, 1), (1, 1), (1, 2), (1, 3)]
    assert pos.chain_points((0, 2)) == []
    assert pos.liberties((2, 0)) == 6  # the white wall: A4..E4 and D1
