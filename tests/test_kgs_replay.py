"""Replay every shared KGS game under our rules: only records with a real illegal move fail.

The counts below were found by replaying all 34,935 records: 51 hold no move at all
(skipped as "empty"), and none holds an illegal move (KGS refused them at play time),
so EXPECTED_ILLEGAL is empty and any rule error is a bug in the rules or the reader.
Every 40th game is also replayed on sgfmill's Board, an independent oracle for
captures, suicide and simple ko. Two worker processes, one archive each at a time.
"""

import multiprocessing
from collections import Counter
from pathlib import Path

import pytest

from sgfmill import boards

from gopolicy.board import BLACK
from gopolicy.sgf_collections import CollectionStats, read_collection

try:
    from conftest import KGS_DIR
except ImportError:  # run without the shared conftest
    KGS_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "kgs"

TOTAL_RECORDS = 34_935
EXPECTED_GAMES = 34_884
EXPECTED_MOVES = 6_957_829
EXPECTED_SKIPPED = {"empty": 51}
# archive member -> (move number, vertex) of the illegal move, each checked by hand
EXPECTED_ILLEGAL: dict[str, tuple[int, str]] = {}
ORACLE_EVERY = 40  # also replay every 40th game on sgfmill's Board (about 870 games)


def sgfmill_check(game) -> list[list[int]]:
    """Oracle: replay a game on sgfmill's Board, asserting each move is legal there too
    (empty point, no self-capture, no immediate ko retake); return the final grid."""
    board = boards.Board(game.size)
    for row, col in game.setup_black:
        board.play(row, col, "b")
    for row, col in game.setup_white:
        board.play(row, col, "w")
    ko = ko_taker = None
    for number, (colour, point) in enumerate(game.moves, 1):
        if point is None:
            ko = None
            continue
        assert point != ko or colour == ko_taker, f"{game.source}: move {number} retakes a ko"
        ko, ko_taker = board.play(point[0], point[1], "b" if colour == BLACK else "w"), colour
        assert board.get(*point) is not None, f"{game.source}: move {number} is suicide"
    sign = {"b": 1, "w": -1, None: 0}
    return [[sign[board.get(r, c)] for c in range(game.size)] for r in range(game.size)]


def replay_archive(path: str) -> tuple[CollectionStats, int, list[str], int]:
    """Return the stats, the moves replayed, the illegal-move messages of one archive, and
    how many games were also checked against sgfmill (every ORACLE_EVERY-th)."""
    stats = CollectionStats()
    moves = checked = 0
    for number, game in enumerate(read_collection(path, stats)):  # every game is replayed
        moves += len(game.moves)
        if number % ORACLE_EVERY == 0:
            assert game.final_position().grid.tolist() == sgfmill_check(game), game.source
            checked += 1
    illegal = [] if not stats.skipped["illegal move"] else _illegal_messages(path)
    return stats, moves, illegal, checked


def _illegal_messages(path: str) -> list[str]:
    stats = CollectionStats()
    for game in read_collection(path, stats, check_moves=False):
        try:
            game.final_position()
        except ValueError as e:
            stats.skip("illegal move", str(e), keep=1000)
    return stats.examples.get("illegal move", [])


@pytest.mark.slow
def test_replay_all_kgs_games():
    archives = sorted(KGS_DIR.glob("*.tar.gz"), key=lambda p: -p.stat().st_size) \
        if KGS_DIR.is_dir() else []
    if not archives:
        pytest.skip(f"no KGS archives in {KGS_DIR}")
    total = CollectionStats()
    moves = 0
    illegal: list[str] = []
    checked = 0
    # largest archives first, so the two workers finish at about the same time
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        for stats, count, messages, oracle in pool.imap_unordered(replay_archive, map(str, archives)):
            total.update(stats)
            moves += count
            illegal += messages
            checked += oracle
    records = total.games + sum(total.skipped.values())
    assert records == TOTAL_RECORDS
    assert Counter({k: v for k, v in total.skipped.items() if k != "illegal move"}) == Counter(
        {k: v for k, v in EXPECTED_SKIPPED.items() if k != "illegal move"}), total.examples
    found = {m.split(":", 1)[1].split(": move")[0]: m for m in illegal}
    assert sorted(found) == sorted(EXPECTED_ILLEGAL), illegal
    for member, (number, vertex) in EXPECTED_ILLEGAL.items():
        assert f"move {number} " in found[member] and vertex in found[member], found[member]
    assert total.games == EXPECTED_GAMES
    assert moves == EXPECTED_MOVES  # the skipped records hold no moves
    assert checked > 800
