"""`gopolicy prepare`: which games and positions go into the shards, the manifest, resuming."""

import json

import numpy as np
import pytest

from gopolicy.cli import main
from gopolicy.training import shards as sh
from gopolicy.training.prepare import PrepareOptions, parse_move_range, prepare, rank_value, split_of

# 6 moves, one of them a pass (not a training target: the network has no pass output)
PLAIN = b"(;GM[1]FF[4]SZ[19]KM[6.5]BR[6d]WR[7d];B[pd];W[dp];B[pq];W[];B[dd];W[qk])"
WEAK = b"(;GM[1]FF[4]SZ[19]KM[6.5]BR[2k]WR[7d];B[pd];W[dp];B[pq];W[dd])"
HANDICAP = b"(;GM[1]FF[4]SZ[19]HA[2]KM[0.5]BR[7d]WR[7d]AB[pd][dp];W[pp];B[dd];W[qf])"
SMALL = b"(;GM[1]FF[4]SZ[9]KM[6.5];B[ee];W[cc])"
GARBLED = b"(;GM[1]FF[4]SZ[19];B[pd];W[dp"
ILLEGAL = b"(;GM[1]FF[4]SZ[19];B[pd];W[pd])"


@pytest.fixture
def games(tmp_path):
    folder = tmp_path / "sgf"
    folder.mkdir()
    for name, data in [("a_plain", PLAIN), ("b_weak", WEAK), ("c_handicap", HANDICAP), ("d_small", SMALL),
                       ("e_garbled", GARBLED), ("f_illegal", ILLEGAL)]:
        (folder / f"{name}.sgf").write_bytes(data)
    return folder


@pytest.mark.parametrize("text,value", [("30k", -29), ("1k", 0), ("1d", 1), ("6d?", 6), ("9d", 9),
                                        ("1p", 101), ("", None), ("?", None), (None, None)])
def test_rank_order(text, value):
    assert rank_value(text) == value


@pytest.mark.parametrize("text,expected", [("0:", (0, None)), (":200", (0, 200)), ("10:50", (10, 50))])
def test_move_range(text, expected):
    assert parse_move_range(text) == expected


def test_split_is_by_content_deterministic_and_follows_the_fractions():
    rng = np.random.default_rng(0)
    blobs = [rng.bytes(40) for _ in range(4000)]
    names = [split_of(b, (0.8, 0.1, 0.1)) for b in blobs]
    assert names == [split_of(b, (0.8, 0.1, 0.1)) for b in blobs]
    counts = {s: names.count(s) / len(names) for s in sh.SPLITS}
    assert abs(counts["train"] - 0.8) < 0.03 and abs(counts["val"] - 0.1) < 0.02
    assert split_of(blobs[0], (1, 0, 0)) == "train" and split_of(blobs[0], (0, 0, 1)) == "test"


BAD = {"board size": 1, "parse error": 1}
CASES = [  # options                    kept games                            skipped games by reason
    (PrepareOptions(),                  {"a_plain", "b_weak", "c_handicap"}, {**BAD, "illegal move": 1}),
    (PrepareOptions(skip_handicap=True), {"a_plain", "b_weak"},              {**BAD, "illegal move": 1, "handicap": 1}),
    (PrepareOptions(min_rank="6d"),     {"a_plain", "c_handicap"},           {**BAD, "rank": 2}),  # f has no ranks
    (PrepareOptions(min_rank="3k"),     {"a_plain", "b_weak", "c_handicap"}, {**BAD, "rank": 1}),
]


@pytest.mark.parametrize("options,kept,skipped", CASES)
def test_filters_and_manifest(tmp_path, games, options, kept, skipped):
    options = PrepareOptions(**{**options.__dict__, "split": (1.0, 0.0, 0.0), "games_per_shard": 2})
    m = prepare([games], tmp_path / "out", options, workers=1, progress=False)
    moves = {"a_plain": 5, "b_weak": 4, "c_handicap": 3}
    assert m["games"]["read"] == 6 and m["games"]["kept"] == len(kept)
    assert m["games"]["skipped"] == skipped
    assert m["positions"]["train"] == m["positions"]["total"] == sum(moves[g] for g in kept)
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["games"] == m["games"]
    assert m["feature_version"] == 1 and list(m["options"]["split"]) == [1.0, 0.0, 0.0]
    shards = sh.split_shards(tmp_path / "out", "train", 1)
    game_ids = np.concatenate([s.game_ids for s in shards])
    assert sorted(set(game_ids.tolist())) == sorted(["a_plain", "b_weak", "c_handicap", "d_small",
                                                      "e_garbled", "f_illegal"].index(g) for g in kept)


def test_positions_hold_the_moves_and_move_numbers(tmp_path, games):
    prepare([games / "a_plain.sgf"], tmp_path / "out", PrepareOptions(split=(1.0, 0.0, 0.0)),
            workers=1, progress=False)
    (shard,) = sh.split_shards(tmp_path / "out", "train")
    # pd = Q16 -> (row 15, col 15); dp = D4 -> (3, 3); pq = Q3 -> (2, 15); dd = D16; qk = R9
    assert shard.moves.tolist() == [15 * 19 + 15, 3 * 19 + 3, 2 * 19 + 15, 15 * 19 + 3, 8 * 19 + 16]
    assert shard.move_numbers.tolist() == [0, 1, 2, 4, 5]  # move 3 was the pass
    planes = sh.unpack_planes(shard.planes)
    assert planes[0, 2].all() and planes[0, 3].all() and not planes[0, 47].any()  # empty board, ones, zeros


def test_move_range_keeps_start_to_end(tmp_path, games):
    prepare([games / "a_plain.sgf"], tmp_path / "out", PrepareOptions(move_range=(1, 5), split=(1.0, 0, 0)),
            workers=1, progress=False)
    (shard,) = sh.split_shards(tmp_path / "out", "train")
    assert shard.move_numbers.tolist() == [1, 2, 4]


def test_rerun_skips_finished_shards_and_redoes_damaged_ones(tmp_path, games):
    out = tmp_path / "out"
    options = PrepareOptions(games_per_shard=2, split=(0.5, 0.25, 0.25))
    first = prepare([games], out, options, workers=1, progress=False)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.shard")}
    victim = sorted(stamps)[0]
    (out / victim).write_bytes((out / victim).read_bytes()[:100])  # a damaged shard
    second = prepare([games], out, options, workers=1, progress=False)
    for key in ("games", "positions", "shards"):
        assert first[key] == second[key]
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("*.shard")}
    assert {n for n in after if after[n] != stamps[n]} <= {n for n in after if n[-11:-6] == victim[-11:-6]}
    assert len(sh.read_shard(out / victim)) > 0
    # other options redo everything and leave no stale shard behind
    third = prepare([games], out, PrepareOptions(games_per_shard=2, skip_handicap=True, split=(1.0, 0, 0)),
                    workers=1, progress=False)
    assert {p.name for p in out.glob("*.shard")} == {e["file"] for e in third["shards"]["train"]}


def test_cli_in_parallel_with_limit(tmp_path, games, capsys):
    out = tmp_path / "out"
    assert main(["prepare", str(games), "--out", str(out), "--limit", "3", "--workers", "2",
                 "--games-per-shard", "1", "--skip-handicap", "--quiet"]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["games"]["read"] == 3 and m["games"]["skipped"] == {"handicap": 1}
    assert m["positions"]["total"] == 5 + 4 and m["options"]["limit"] == 3
    assert "2 of 3 games" in capsys.readouterr().err
    assert main(["prepare", str(games), "--out", str(out), "--split", "0.5,0.5"]) == 2


@pytest.mark.parametrize("workers", [1, 2])
def test_a_deadline_cuts_prepare_short_and_the_manifest_says_so(games, tmp_path, workers):
    import time

    options = PrepareOptions(games_per_shard=1)
    out = tmp_path / "cut"
    # a deadline already past: 6 tiny games can all be encoded inside any short one
    m = prepare([games], out, options, workers=workers, progress=False, deadline=time.time() - 1)
    assert m["complete"] is False and m["games"]["read"] < 6
    written = json.loads((out / sh.MANIFEST).read_text())
    assert written["complete"] is False and written["positions"] == m["positions"]
    assert sorted(p.name for p in out.glob("*.shard")) == sorted(e["file"] for s in m["shards"].values() for e in s)
    m = prepare([games], out, options, workers=workers, progress=False, deadline=time.time() + 300)
    assert m["complete"] is True and m["games"]["read"] == 6
