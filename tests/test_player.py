"""Move choice (engine/gtp/player.py): best legal move, eyes, territory, passes, cleanup, resign."""

import numpy as np
import pytest

from gopolicy.engine.gtp.player import Player, PlayerConfig, RESIGN, candidates, sensible_moves
from gopolicy.board import BLACK, WHITE, Position
from gopolicy.coords import parse_vertex
from gopolicy.policy import PolicyMap


class PreferencePolicy:
    """A stand-in network: fixed preferences, masked to legal moves and normalised."""

    def __init__(self, favourites: dict[str, float] | None = None):
        self.weights = np.full((19, 19), 1e-3)
        for vertex, w in (favourites or {}).items():
            self.weights[parse_vertex(vertex)] = w

    def evaluate(self, position):
        p = self.weights * position.legal_mask(position.to_play)
        return PolicyMap((p / p.sum()).astype(np.float32), position.to_play, 19)


def diagram(text: str) -> np.ndarray:
    """A small board from rows top first: X black, O white, . empty."""
    rows = [r.split() for r in text.strip().splitlines()]
    values = {"X": BLACK, "O": WHITE, ".": 0}
    return np.array([[values[c] for c in row] for row in reversed(rows)], dtype=np.int8)


@pytest.mark.parametrize("board, colour, eyes", [
    # corner: an eye unless an opponent stone holds the diagonal
    ("""
     . X .
     X X .
     . . .""", BLACK, []),
    ("""
     X X .
     . X .
     X X .""", BLACK, [(1, 0)]),
    ("""
     X O .
     . X .
     X X .""", BLACK, []),          # edge point: one enemy diagonal is enough to spoil it
    ("""
     O X .
     X . X
     . X .""", BLACK, [(0, 0), (1, 1)]),  # B2: one enemy diagonal, still an eye; A1 too
    ("""
     O X .
     X . X
     . X O""", BLACK, [(0, 0)]),    # B2: two enemy diagonals, a false eye
    ("""
     O X .
     X . X
     . X .""", WHITE, []),
])
def test_eye_rule(board, colour, eyes):
    grid = diagram(board)
    # on a 19x19 board with the diagram's lower left at A1 (edges are real)
    points = np.argwhere(grid != 0)
    position = Position().setup(black=[tuple(p) for p in points if grid[tuple(p)] == BLACK],
                                white=[tuple(p) for p in points if grid[tuple(p)] == WHITE])
    eyes_mask = position.legal_mask(colour) & ~sensible_moves(position, colour)
    found = [tuple(map(int, p)) for p in np.argwhere(eyes_mask)]
    assert [p for p in found if p[0] < 3 and p[1] < 3] == eyes


def test_most_probable_legal_move_deterministic():
    player = Player(PreferencePolicy({"D4": 5.0, "Q16": 3.0}))
    position = Position()
    assert player.decide(position, BLACK).move == (3, 3)
    assert player.decide(position, BLACK).move == (3, 3)
    position = position.play((3, 3))
    assert player.decide(position, WHITE).move == (15, 15)   # D4 is taken now


def test_never_fills_its_own_eye():
    # black wall around A1..B2 area: A1 is a black eye; the policy loves A1
    position = Position().setup(black=[parse_vertex(v) for v in ("A2", "B2", "B1")])
    player = Player(PreferencePolicy({"A1": 100.0, "K10": 1.0}))
    assert player.decide(position, BLACK).move == parse_vertex("K10")


def walls(black_col: int, white_col: int, extra_white=()) -> Position:
    black = [(r, black_col) for r in range(19)]
    white = [(r, white_col) for r in range(19)] + [parse_vertex(v) for v in extra_white]
    return Position().setup(black=black, white=white)


def test_passes_when_no_sensible_move_is_left():
    holes = {(0, 0), (0, 2), (2, 0), (5, 5), (10, 10), (18, 18)}
    black = [(r, c) for r in range(19) for c in range(19) if (r, c) not in holes]
    position = Position().setup(black=black)
    decision = Player(PreferencePolicy()).decide(position, BLACK)
    assert decision.move is None and decision.reason == "no sensible move left"


def test_pass_after_opponent_pass_when_ahead_on_area():
    position = walls(9, 10)          # black owns columns A-K (190), white L-T (171): B+11.5
    player = Player(PreferencePolicy({"C3": 10.0}))
    assert player.decide(position, BLACK, opponent_passed=False).move == parse_vertex("C3")
    ahead = player.decide(position, BLACK, opponent_passed=True)
    assert ahead.move is None and "lead" in ahead.reason
    behind = player.decide(position, WHITE, opponent_passed=True)
    assert behind.move is None and "contested" in behind.reason   # nothing left to fight for


def test_does_not_fill_settled_own_territory():
    position = walls(15, 16)         # black: 16 columns (open); white: Q-T, 3 columns = 57 points
    player = Player(PreferencePolicy({"S10": 50.0, "C3": 1.0}))
    assert player.decide(position, WHITE).move == parse_vertex("C3")   # S10 is white's own area


def test_cleanup_plays_where_dead_stones_are_and_not_in_territories():
    # a dead white stone at C3 inside black's area; white's territory on the right
    position = walls(9, 10, extra_white=["C3"])
    config = PlayerConfig(territory_max=400)
    player = Player(PreferencePolicy({"S10": 50.0, "D3": 5.0}), config)
    assert player.decide(position, BLACK).move == parse_vertex("S10")   # normal play may invade
    cleanup = player.decide(position, BLACK, opponent_passed=True, cleanup=True)
    assert cleanup.move == parse_vertex("D3")
    mask, contested = candidates(position, BLACK, 400, cleanup=True)
    assert contested and not mask[:, 10:].any() and mask[parse_vertex("C4")]


def test_temperature_samples_only_candidates():
    player = Player(PreferencePolicy({"D4": 1000.0, "Q16": 1000.0}), PlayerConfig(temperature=1.0, seed=3))
    picks = {player.decide(Position(), BLACK).move for _ in range(60)}
    assert picks == {(3, 3), (15, 15)}
    again = Player(PreferencePolicy({"D4": 1000.0, "Q16": 1000.0}), PlayerConfig(temperature=1.0, seed=3))
    first = Player(PreferencePolicy({"D4": 1000.0, "Q16": 1000.0}), PlayerConfig(temperature=1.0, seed=3))
    assert [again.decide(Position(), BLACK).move for _ in range(10)] == \
        [first.decide(Position(), BLACK).move for _ in range(10)]


def test_resigns_only_when_asked():
    position = walls(2, 3)           # white far ahead
    never = Player(PreferencePolicy())
    assert never.decide(position, BLACK).move != RESIGN
    asked = Player(PreferencePolicy(), PlayerConfig(resign_threshold=50, resign_after_move=0))
    assert asked.decide(position, BLACK).move == RESIGN
    assert asked.decide(position, WHITE).move != RESIGN
