"""`gopolicy match`: our engine against another GTP engine, as gogui-twogtp plays them."""

import json
import shutil
import subprocess
import sys

import pytest

from gopolicy.engine.match.client import GtpClient
from gopolicy.engine.match.runner import GameRecord, InProcessEngine, run_match, wilson_interval
from gopolicy.engine.gtp.command import build_engine

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


# A GTP engine that plays the first empty point from A1 along the first line and, in each
# of its first `lives` starts, exits without a word on its `die_at`-th genmove, as GNU Go
# does when it crashes.
FRAGILE_ENGINE = """
import sys
from pathlib import Path
starts = Path(sys.argv[1]); lives, die_at = int(sys.argv[2]), int(sys.argv[3])
start = int(starts.read_text()) + 1 if starts.exists() else 1
starts.write_text(str(start))
points = [c + str(r) for r in range(1, 20) for c in "ABCDEFGHJKLMNOPQRST"]
taken, genmoves = set(), 0
for line in sys.stdin:
    command = (line.split() or [""])
    reply = "fragile" if command[0] == "name" else ""
    if command[0] == "clear_board":
        taken.clear()
    if command[0] == "play":
        taken.add(command[2].upper())
    if command[0] == "genmove":
        genmoves += 1
        if start <= lives and genmoves == die_at:
            sys.exit(139)
        reply = next(p for p in points if p not in taken)
        taken.add(reply)
    print("= " + reply + "\\n", flush=True)
    if command[0] == "quit":
        break
"""


def fragile_engine(tmp_path, lives, die_at):
    script = tmp_path / "fragile.py"
    script.write_text(FRAGILE_ENGINE)
    return f"{sys.executable} {script} {tmp_path / 'starts'} {lives} {die_at}", tmp_path / "starts"


def test_a_dead_opponent_voids_the_game_and_is_restarted(tiny_weights, tmp_path):
    """The opponent dies once mid-game: that game is void, listed, not scored, and replayed
    with the same colours by a restarted opponent; the match still scores every game."""
    from gopolicy.policy import Policy

    command, starts = fragile_engine(tmp_path, lives=1, die_at=3)
    ours = InProcessEngine(build_engine(Policy(tiny_weights, device="cpu")))
    with GtpClient(command) as opponent:
        summary = run_match(ours, opponent, games=2, max_moves=12, sgf_dir=tmp_path / "sgf")
    assert starts.read_text() == "2"
    assert (summary["games"], summary["void"], summary["stopped"]) == (2, 1, None)
    void, first, second = summary["records"]
    assert (void["void"], void["result"], void["we_play"], void["moves"]) == (True, "?", "black", 5)
    assert "died after 'genmove w'" in void["reason"]
    assert (first["we_play"], second["we_play"]) == ("black", "white")
    assert not first["void"] and not second["void"]
    assert "RE[?]" in (tmp_path / "sgf" / "game-001.sgf").read_text()
    assert summary["wins"] == sum(GameRecord(**r).our_score for r in (first, second))


def test_an_opponent_that_keeps_dying_stops_the_match(tiny_weights, tmp_path):
    """Three deaths in a row end the match early with what it had, and the CLI exits 1."""
    command, starts = fragile_engine(tmp_path, lives=99, die_at=1)
    done = subprocess.run(
        [sys.executable, "-m", "gopolicy", "match", "--opponent", command, "--games", "2",
         "--weights", str(tiny_weights), "--device", "cpu", "--max-moves", "10", "--json"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "stopped early: 3 void game(s) in a row" in done.stderr
    summary = json.loads(done.stdout)
    assert (summary["games"], summary["void"]) == (0, 3)
    assert starts.read_text() == "3"


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
