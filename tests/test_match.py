"""`gopolicy match`: our engine against another GTP engine, as gogui-twogtp plays them."""

import json
import shutil
import subprocess
import sys

import pytest

from engine.match import GameRecord, InProcessEngine, run_match, wilson_interval
from engine.main import build_engine

GNUGO = "/usr/games/gnugo"


@pytest.mark.parametrize("wins, n, low, high", [
    (0, 0, 0.0, 1.0),
    (5, 10, 0.2366, 0.7634),
    (10, 10, 0.7225, 1.0),
    (0, 10, 0.0, 0.2775),
])
def test_wilson_interval(wins, n, low, high):
    a, b = wilson_interval(wins, n)
    assert a == pytest.approx(low, abs=1e-4) and b == pytest.approx(high, abs=1e-4)


@pytest.mark.parametrize("we_play, result, score", [
    ("black", "B+7.5", 1.0), ("black", "W+R", 0.0), ("white", "W+0.5", 1.0),
    ("white", "0", 0.5), ("white", "?", 0.0), ("black", "W+F", 0.0),
])
def test_game_scores(we_play, result, score):
    assert GameRecord(1, we_play, result, "", 0).our_score == score


def test_self_play_match_in_process(tiny_weights, tmp_path):
    from gopolicy.policy import Policy

    policy = Policy(tiny_weights, device="cpu")
    a, b = InProcessEngine(build_engine(policy)), InProcessEngine(build_engine(policy))
    summary = run_match(a, b, games=2, max_moves=30, sgf_dir=tmp_path, opponent_name="twin")
    assert summary["games"] == 2
    assert [r["we_play"] for r in summary["records"]] == ["black", "white"]
    for record in summary["records"]:
        assert record["moves"] == 30 and record["result"][:2] in ("B+", "W+")
        text = (tmp_path / f"game-{record['number']:03d}.sgf").read_text()
        assert f"RE[{record['result']}]" in text and "KM[7.5]" in text
    # the same deterministic engine on both sides: the same game twice, colours swapped
    first, second = summary["records"]
    assert first["result"] == second["result"]
    assert summary["wins"] == 1.0


@pytest.mark.slow
@pytest.mark.gnugo
@pytest.mark.skipif(not shutil.which(GNUGO), reason="GNU Go missing")
def test_a_full_game_against_gnugo(tiny_weights, tmp_path):
    gnugo = f"{GNUGO} --mode gtp --level 1"
    command = [sys.executable, "-m", "gopolicy", "match", "--opponent", gnugo, "--games", "1",
               "--referee", f"{GNUGO} --mode gtp --chinese-rules", "--weights", str(tiny_weights),
               "--device", "cpu", "--symmetries", "8", "--max-moves", "200", "--sgf-dir", str(tmp_path), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    (record,) = summary["records"]
    assert record["reason"].startswith(("two passes", "200 moves")) or "resigned" in record["reason"]
    assert "illegal" not in record["reason"]
    assert record["result"][:2] in ("B+", "W+") or record["result"] == "0"
    assert 0.0 <= summary["wilson95"][0] <= summary["win_rate"] <= summary["wilson95"][1] <= 1.0
    from sgfmill import sgf

    game = sgf.Sgf_game.from_bytes((tmp_path / "game-001.sgf").read_bytes())
    assert game.get_root().get("RE") == record["result"]
    assert len(game.get_main_sequence()) - 1 == record["moves"]
