"""The GUI formatters of engine/gtp/analyze_commands.py, from hand-made PolicyMaps, without a process.

Each format is parsed back the way its client parses it: Sabaki's analysis.js split,
Lizzie's integer fields, GoGui's gfx/dboard syntax, Leela Zero's heatmap rows.
"""

import re

import numpy as np
import pytest

from gopolicy.engine.gtp.analyze_commands import (dboard, gfx_heatmap, gfx_influence, info_line, lz_heatmap,
                                      parse_analyze_args, raw_nn, top_moves_text)
from gopolicy.engine.gtp.game_commands import parse_colour
from gopolicy.engine.gtp.protocol import GtpError
from gopolicy.coords import COLUMNS, parse_vertex
from gopolicy.policy import PolicyMap


def make_map(moves: dict, to_play: int = 1) -> PolicyMap:
    """A 19x19 PolicyMap with the given vertex -> probability (rest spread evenly)."""
    probs = np.zeros((19, 19), dtype=np.float32)
    for vertex, p in moves.items():
        probs[parse_vertex(vertex)] = p
    rest = 1.0 - sum(moves.values())
    empty = probs == 0
    probs[empty] = rest / empty.sum()
    return PolicyMap(probs, to_play, 19)


PMAP = make_map({"D4": 0.31, "Q16": 0.2, "C3": 0.05, "K10": 0.011})


def sabaki_parse(line: str) -> list[dict]:
    """Sabaki's parseAnalysis (src/modules/analysis.js), transcribed."""
    result = []
    for chunk in re.split(r"\s*info\s+", line)[1:]:
        chunk = chunk.strip()
        pv = re.search(r"(pass|[A-Za-z]\d+)(\s+(pass|[A-Za-z]\d+))*$", chunk)
        tokens = chunk[:pv.start()].strip().split()[:-1]
        fields = dict(zip(tokens[0::2], tokens[1::2]))
        winrate = fields["winrate"]
        result.append({"move": fields["move"], "visits": int(fields["visits"]),
                       "winrate": float(winrate) * 100 if "." in winrate else int(winrate) / 100,
                       "pv": pv.group(0).split()})
    return result


def test_lz_info_line_as_sabaki_and_lizzie_read_it():
    line = info_line(PMAP)
    moves = sabaki_parse(line)
    assert [m["move"] for m in moves[:4]] == ["D4", "Q16", "C3", "K10"]
    assert [m["visits"] for m in moves[:4]] == [310, 200, 50, 11]   # prior x 1000
    assert all(m["winrate"] == 50.0 for m in moves)                 # fixed: no value head
    assert all(m["pv"] == [m["move"]] for m in moves)
    for chunk in line.split("info ")[1:]:
        fields = chunk.split()
        values = dict(zip(fields[0:-2:2], fields[1:-2:2]))
        for key in ("visits", "winrate", "prior", "lcb", "order"):
            assert re.fullmatch(r"\d+", values[key])                # Lizzie: Integer.parseInt
            assert 0 <= int(values[key]) <= 10000
    assert "prior 3100" in line and "order 0" in line and "order 3" in line
    orders = [int(x) for x in re.findall(r"order (\d+)", line)]
    assert orders == list(range(len(orders)))


def test_kata_info_line_uses_floats():
    line = info_line(PMAP, kata=True)
    first = sabaki_parse(line)[0]
    assert first["move"] == "D4" and first["winrate"] == 50.0
    assert re.search(r"info move D4 visits 310 .*winrate 0\.5 .*prior 0\.31\d* .*order 0 pv D4", line)


def test_info_line_with_one_legal_move_and_with_none():
    single = PolicyMap(np.where(np.arange(361).reshape(19, 19) == 0, 1.0, 0.0).astype(np.float32), 1, 19)
    assert info_line(single) == "info move A1 visits 1000 winrate 5000 prior 10000 lcb 5000 order 0 pv A1"
    assert info_line(PolicyMap(np.zeros((19, 19), np.float32), 1, 19)) == ""


def test_gfx_heatmap_is_gogui_gfx():
    text = gfx_heatmap(PMAP)
    lines = text.split("\n")
    coloured = set()
    for line in lines:
        kind = line.split()[0]
        assert kind in ("COLOR", "LABEL", "TEXT")
        if kind == "COLOR":
            assert re.fullmatch(r"COLOR #[0-9a-f]{6}( [A-HJ-T]\d{1,2})+", line)
            coloured |= set(line.split()[2:])
    assert len(coloured) == 361                 # every legal point shaded once
    assert "LABEL D4 31% Q16 20% C3 5%" in text
    assert lines[-1].startswith("TEXT black: raw policy") and "no search" in lines[-1]
    # the brightest colour of the ramp goes to the best move
    best_line = next(line for line in lines if " D4" in line and line.startswith("COLOR"))
    assert best_line.split()[1] == "#fde725"


def test_gfx_influence_and_dboard():
    influence = gfx_influence(PMAP).split("\n")
    values = dict(zip(influence[0].split()[1::2], map(float, influence[0].split()[2::2])))
    assert values["D4"] == 1.0 and 0 < values["Q16"] < 1
    assert influence[1].startswith("TEXT")


def test_dboard_is_log_scaled_so_gogui_draws_it():
    """GoGui draws a dboard value as a square of side ~ value, nothing below 0.01: the best
    move is 1, a tenth of it 2/3, a hundredth 1/3, under a thousandth and illegal 0."""
    pmap = make_map({"D4": 0.5, "Q16": 0.05, "C3": 0.005, "K10": 0.0004})
    pmap.probs[parse_vertex("A1")] = 0.0  # an illegal point
    rows = [[float(v) for v in row.split()] for row in dboard(pmap).split("\n")]
    assert len(rows) == 19 and all(len(row) == 19 for row in rows)
    at = lambda vertex: rows[19 - int(vertex[1:])][COLUMNS.index(vertex[0])]  # noqa: E731
    assert at("D4") == 1.0
    assert at("Q16") == pytest.approx(2 / 3, abs=1e-3)
    assert at("C3") == pytest.approx(1 / 3, abs=1e-3)
    assert at("K10") == 0.0 and at("A1") == 0.0
    assert all(0.0 <= v <= 1.0 for row in rows for v in row)
    # raw, only D4 and Q16 reach GoGui's 0.01; scaled, every point within 1/1000 of the best does
    assert int((pmap.probs >= 0.01).sum()) == 2
    assert sum(v >= 0.01 for row in rows for v in row) == 361 - 2  # all but K10 and A1
    uniform = make_map({})
    assert {float(v) for v in dboard(uniform).split()} == {1.0}
    assert {float(v) for v in dboard(PolicyMap(np.zeros((19, 19), np.float32), 1, 19)).split()} == {0.0}


def test_lz_heatmap_and_raw_nn_orientation():
    rows = lz_heatmap(PMAP).split("\n")
    assert rows[19] == "pass: 0" and "raw policy" in rows[20]
    grid = [list(map(int, r.split())) for r in rows[:19]]
    assert grid[15][3] == 310 and grid[3][15] == 200      # top row first
    legal = np.ones((19, 19), dtype=bool)
    legal[18, 0] = False                                   # A19 occupied
    dump = raw_nn(PMAP, legal).split("\n")
    assert dump[:2] == ["symmetry 0", "policy"] and dump[-1].startswith("policyPass")
    assert dump[2].split()[0] == "NAN"                     # A19 first
    assert float(dump[2 + 15].split()[3]) == pytest.approx(0.31, abs=1e-5)


def test_top_moves_text_says_raw_policy():
    text = top_moves_text(make_map({"D4": 0.5}, to_play=-1), n=3)
    assert text.split("\n")[0].startswith("raw policy") and "white" in text
    assert text.split("\n")[1] == "1. D4 50.0%"


@pytest.mark.parametrize("args, expected", [
    ([], (None, 0.0)),
    (["50"], (None, 0.5)),
    (["B", "50"], (1, 0.5)),
    (["white", "10"], (-1, 0.1)),
    (["w"], (-1, 0.0)),
    (["interval", "30"], (None, 0.3)),
    (["b", "interval", "100", "maxmoves", "5"], (1, 1.0)),
    (["10", "ownership", "true", "minmoves", "0"], (None, 0.1)),
    (["10000000"], (None, 100000.0)),
    (["000000000000000000000010"], (None, 0.1)),
])
def test_analyze_arguments(args, expected):
    assert parse_analyze_args(args, parse_colour) == expected


@pytest.mark.parametrize("args", [["b", "x"], ["interval"], ["interval", "x"], ["-5"], ["q", "1"],
                                  ["10000001"], ["²"], ["interval", "٣"], ["9" * 5000],
                                  ["-" + "9" * 1_000_000], ["10", "maxmoves", "-1"],
                                  ["10", "ownership", "yes"], ["10", "pvVisits", "9" * 40]])
def test_bad_analyze_arguments(args):
    with pytest.raises(GtpError):
        parse_analyze_args(args, parse_colour)
