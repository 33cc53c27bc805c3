"""`gopolicy analysis`: KataGo's analysis results, field by field, in-process on io streams.

Expected fields are those of KataGo's docs/Analysis_Engine.md and of its `analysis`
command (cpp/command/analysis.cpp). Errors, actions and the command line are in
test_katago_protocol.py.
"""

import numpy as np
import pytest

from gopolicy.board import Position
from gopolicy.engine.katago.query import parse_location
from gopolicy.engine.katago.results import share_visits
from katago_io import KO, katago_grid, policy, query, results, serve, weights  # noqa: F401 (fixtures)


def test_one_result_per_analysed_turn_with_root_info(policy):
    line = query(id="g", initialStones=[["B", "D16"], ["B", "Q4"]], moves=[["W", "Q16"], ["B", "D4"]],
                 analyzeTurns=[2, 0, 1], maxVisits=40)
    found = results(serve(policy, [line]))
    assert sorted(found) == [("g", 0), ("g", 1), ("g", 2)]
    for turn, player in [(0, "W"), (1, "B"), (2, "W")]:  # the first move's player starts
        result = found["g", turn]
        assert result["isDuringSearch"] is False and result["turnNumber"] == turn
        root = result["rootInfo"]
        assert root["currentPlayer"] == player
        assert (root["visits"], root["winrate"], root["scoreLead"]) == (40, 0.5, 0.0)
        assert root["valuesEstimated"] is False
        assert "policy" not in result


@pytest.mark.parametrize("fields, turns, players", [
    ({}, [2], ["B"]),  # default: the last turn only
    ({"moves": [], "initialStones": [["B", "D4"], ["B", "Q16"]]}, [0], ["W"]),  # handicap
    ({"moves": [], "initialStones": [["B", "D4"]]}, [0], ["B"]),  # one stone is no handicap
    ({"moves": [], "initialPlayer": "white"}, [0], ["W"]),
    ({"moves": [["W", "D4"], ["W", "Q4"]], "analyzeTurns": [0, 1, 2]}, [0, 1, 2], ["W", "B", "B"]),
    ({"moves": [["B", "D4"], ["B", "pass"]], "analyzeTurns": [2]}, [2], ["W"]),
])
def test_turns_and_side_to_move(policy, fields, turns, players):
    found = results(serve(policy, [query(**fields)]))
    assert [t for _, t in sorted(found)] == turns
    assert [found["q", t]["rootInfo"]["currentPlayer"] for t in turns] == players


def test_policy_is_the_networks_top_row_first_with_illegal_points(policy):
    moves = [["B", "A19"], ["W", "T1"], ["B", "A2"], ["W", "Q16"], ["B", "B1"]]  # A1: suicide for W
    result = results(serve(policy, [query(moves=moves, includePolicy=True)]))["q", 5]
    position = Position()
    for colour, vertex in moves:
        position = position.play(parse_location(vertex), 1 if colour == "B" else -1)
    expected = policy.evaluate(position).probs
    flat = result["policy"]
    assert len(flat) == 19 * 19 + 1 and flat[-1] == 0.0  # the network has no pass output
    grid = katago_grid(flat)
    legal = position.legal_mask(position.to_play)
    assert legal.sum() == 361 - 5 - 1
    assert np.all(grid[~legal] == -1.0) and np.all(grid[legal] >= 0.0)
    np.testing.assert_allclose(grid[legal], expected[legal], rtol=1e-4, atol=1e-7)
    assert grid[legal].sum() == pytest.approx(1.0, abs=1e-4)
    # row by row from the top: A19 flat[0] and B1 flat[343] hold stones, A1 flat[342] is suicide
    assert flat[0] == flat[342] == flat[343] == flat[360] == -1.0
    assert flat[1] == pytest.approx(float(expected[18, 1]), rel=1e-4)  # B19
    assert flat[18 * 19 + 2] == pytest.approx(float(expected[0, 2]), rel=1e-4)  # C1


def test_ko_point_is_minus_one(policy):
    found = results(serve(policy, [query(moves=KO, includePolicy=True, analyzeTurns=[8, 9])]))
    after = found["q", 9]
    assert after["rootInfo"]["currentPlayer"] == "W"
    assert katago_grid(after["policy"])[parse_location("E5")] == -1.0
    assert "E5" not in [m["move"] for m in after["moveInfos"]]
    before = found["q", 8]
    assert katago_grid(before["policy"])[parse_location("F5")] >= 0.0  # black could take


@pytest.mark.parametrize("max_visits", [1, 7, 100, 2 ** 50])
def test_move_infos_share_visits_by_prior(policy, max_visits):
    result = results(serve(policy, [query(includePolicy=True, maxVisits=max_visits)]))["q", 2]
    infos = result["moveInfos"]
    grid = katago_grid(result["policy"])
    assert [m["order"] for m in infos] == list(range(len(infos)))
    priors = [m["prior"] for m in infos]
    assert priors == sorted(priors, reverse=True)
    assert sum(m["visits"] for m in infos) == max_visits
    for m in infos:
        assert m["prior"] == pytest.approx(grid[parse_location(m["move"])], rel=1e-5)
        assert m["visits"] >= 1 and m["pv"] == [m["move"]]
        assert abs(m["visits"] - m["prior"] * max_visits) < 1 + 1e-6 * max_visits
        assert (m["winrate"], m["scoreLead"], m["scoreMean"]) == (0.5, 0.0, 0.0)
    assert infos[0]["prior"] == pytest.approx(grid.max(), rel=1e-5)
    if max_visits >= 100:
        assert len(infos) > 5


@pytest.mark.parametrize("priors, total, visits", [
    ([0.5, 0.3, 0.2], 10, [5, 3, 2]),
    ([0.5, 0.3, 0.2], 1, [1, 0, 0]),
    ([0.4, 0.4, 0.2], 3, [1, 1, 1]),
    ([0.45, 0.45, 0.1], 1, [1, 0, 0]),  # ties go to the earlier move
    ([0.7, 0.2, 0.1], 4, [3, 1, 0]),
    ([0.0, 0.0], 5, [0, 0]),
])
def test_share_visits(priors, total, visits):
    assert share_visits(np.array(priors), total).tolist() == visits


def test_avoid_and_allow_moves(policy):
    base = results(serve(policy, [query(maxVisits=1000)]))["q", 2]["moveInfos"]
    top, second = base[0]["move"], base[1]["move"]
    avoid = [{"player": "B", "moves": [top], "untilDepth": 1}]
    infos = results(serve(policy, [query(maxVisits=1000, avoidMoves=avoid)]))["q", 2]["moveInfos"]
    assert top not in [m["move"] for m in infos] and infos[0]["move"] == second
    other_side = [{"player": "W", "moves": [top], "untilDepth": 1}]
    infos = results(serve(policy, [query(maxVisits=1000, avoidMoves=other_side)]))["q", 2]["moveInfos"]
    assert infos[0]["move"] == top
    allow = [{"player": "B", "moves": ["A1", second], "untilDepth": 1}]
    infos = results(serve(policy, [query(maxVisits=1000, allowMoves=allow)]))["q", 2]["moveInfos"]
    assert sorted(m["move"] for m in infos) == sorted(["A1", second])
    assert sum(m["visits"] for m in infos) == 1000


@pytest.mark.parametrize("text, point", [
    ("D4", (3, 3)), ("q16", (15, 15)), ("(3,15)", (3, 3)), ("(0,0)", (18, 0)), ("pass", None),
])
def test_locations(text, point):
    assert parse_location(text) == point
