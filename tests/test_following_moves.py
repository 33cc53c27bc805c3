"""The moves that follow a position, read from prepared shards: the targets of the future-move heads."""

import numpy as np
import pytest

from gopolicy import symmetry
from gopolicy.coords import format_vertex, parse_vertex, to_index, to_point
from gopolicy.training import shards as sh
from gopolicy.training.dataset import NONE, Batches, ShardDataset, sequential_batches, transform_batch

# Black Q16, White D4, Black Q3, White passes, Black D16, White R14, Black O17; the game ends.
GAME = b"(;GM[1]FF[4]SZ[19]KM[6.5];B[pd];W[dp];B[pq];W[];B[dd];W[qf];B[nc])"
OTHER = b"(;GM[1]FF[4]SZ[19]KM[6.5];B[cc];W[qq];B[cq])"


def vertex(index) -> str | None:
    return None if index == NONE else format_vertex(to_point(index))


def prepared(tmp_path, *games):
    from gopolicy.training.prepare import PrepareOptions, prepare

    for k, game in enumerate(games):
        (tmp_path / f"g{k}.sgf").write_bytes(game)
    prepare(sorted(tmp_path.glob("g*.sgf")), tmp_path / "data", PrepareOptions(split=(1.0, 0.0, 0.0)),
            workers=1, progress=False)
    return ShardDataset(tmp_path / "data", "train")


def test_each_position_knows_the_reply_and_our_next_move(tmp_path):
    """(move number, the move, +1: the opponent's reply, +2: our next move); a pass or the end is None."""
    ds = prepared(tmp_path, GAME)
    _, moves, numbers = ds.gather(np.arange(len(ds)))
    after = ds.following(np.arange(len(ds)), 2)
    table = [(int(n), vertex(m), vertex(a), vertex(b)) for n, m, (a, b) in zip(numbers, moves, after)]
    assert table == [
        (0, "Q16", "D4", "Q3"),
        (1, "D4", "Q3", None),     # White's pass is no target
        (2, "Q3", None, "D16"),    # the position of the pass is not prepared: a gap in move numbers
        (4, "D16", "R14", "O17"),
        (5, "R14", "O17", None),   # the game ends
        (6, "O17", None, None),
    ]


def test_the_next_game_in_the_shard_is_not_this_games_future(tmp_path):
    ds = prepared(tmp_path, GAME, OTHER)
    assert len(ds.shards) == 1 and len(ds) == 9
    _, moves, numbers = ds.gather(np.arange(len(ds)))
    after = ds.following(np.arange(len(ds)), 3)
    assert [vertex(m) for m in after[5]] == [None, None, None]          # O17, the last move of GAME
    assert [vertex(m) for m in after[6]] == ["R3", "C3", None]           # C17, the first of OTHER
    # the move number alone would match: game ids decide
    rows = (sh.pack_planes(np.zeros((4, 48, 19, 19), np.uint8)), np.array([10, 11, 12, 13]),
            np.array([7, 7, 8, 8]), np.array([0, 1, 2, 3]))
    sh.write_folder(tmp_path / "two", {"train": rows}, feature_version=1)
    assert ShardDataset(tmp_path / "two", "train").following(np.arange(4), 2).tolist() == \
        [[11, NONE], [NONE, NONE], [13, NONE], [NONE, NONE]]


def test_gathered_in_any_order(tmp_path):
    ds = prepared(tmp_path, GAME, OTHER)
    whole = ds.following(np.arange(len(ds)), 2)
    shuffled = np.array([8, 0, 3, 3, 6])
    assert np.array_equal(ds.following(shuffled, 2), whole[shuffled])
    assert ds.following(shuffled, 0).shape == (5, 0)


def test_a_shard_whose_games_are_not_in_move_order_is_refused(tmp_path):
    rows = (sh.pack_planes(np.zeros((3, 48, 19, 19), np.uint8)), np.array([1, 2, 3]), np.array([5, 5, 5]),
            np.array([0, 2, 1]))
    sh.write_folder(tmp_path, {"train": rows}, feature_version=1)
    with pytest.raises(sh.ShardError, match="not consecutive rows in move order"):
        ShardDataset(tmp_path, "train").following(np.arange(3), 2)


def test_a_symmetry_maps_every_target_as_it_maps_the_move():
    rng = np.random.default_rng(3)
    bits = (rng.random((16, 48, 19, 19)) < 0.3).astype(np.uint8)
    targets = rng.integers(0, 361, (16, 3))
    targets[::3, 2] = NONE
    targets[1, 1:] = NONE
    syms = np.arange(16) % 8
    planes, out = transform_batch(bits, targets, syms)
    _, main = transform_batch(bits, targets[:, 0], syms)
    assert np.array_equal(out[:, 0], main)
    for i, s in enumerate(syms):
        assert np.array_equal(planes[i], symmetry.apply(bits[i], int(s)))
        expected = [NONE if t == NONE else symmetry.transform_index(int(t), int(s)) for t in targets[i]]
        assert out[i].tolist() == expected


def test_batches_with_following_moves_keep_the_order_and_symmetries(tmp_path):
    """The same samples under the same symmetries as without following moves; each sample's
    following moves under its symmetry."""
    ds = prepared(tmp_path, GAME, OTHER)
    plain, ahead = Batches(ds, 4, seed=2, prefetch=0), Batches(ds, 4, seed=2, prefetch=0, following=2)
    after = ds.following(np.arange(len(ds)), 2)
    for k, ((x, y), (xf, yf)) in zip(range(4), zip(plain, ahead)):  # 2 batches an epoch: crosses epochs
        assert np.array_equal(x.numpy(), xf.numpy()) and np.array_equal(y.numpy(), yf[:, 0].numpy())
        epoch, batch = divmod(k, 2)
        perm, syms = ahead.plan(epoch)
        for i in range(4):
            j, s = perm[batch * 4 + i], int(syms[batch * 4 + i])
            expected = [NONE if t == NONE else symmetry.transform_index(int(t), s) for t in after[j]]
            assert yf[i, 1:].tolist() == expected


def test_validation_batches_carry_the_following_moves(tmp_path):
    ds = prepared(tmp_path, GAME)
    (_, targets, numbers), = sequential_batches(ds, 16, following=2)
    assert targets.shape == (6, 3) and numbers.tolist() == [0, 1, 2, 4, 5, 6]
    assert targets[3].tolist() == [to_index(parse_vertex(v)) for v in ("D16", "R14", "O17")]
