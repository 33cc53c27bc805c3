"""Dataset: symmetries applied to planes and moves together, rank splits, resumable order."""

import numpy as np
import pytest

from gopolicy import symmetry
from gopolicy.training import shards as sh
from gopolicy.training.dataset import Batches, ShardDataset, sequential_batches, transform_batch

SGF = b"(;GM[1]FF[4]SZ[19]KM[6.5];B[pd];W[dp];B[pq];W[dd];B[fq];W[cn];B[jp];W[qf];B[nc];W[pj])"


def synthetic(folder, n=600, per_shard=250, seed=0):
    """Write a folder of n random positions in shards of per_shard; return the planes and moves."""
    rng = np.random.default_rng(seed)
    bits = (rng.random((n, 48, 19, 19)) < 0.1).astype(np.uint8)
    moves = rng.integers(0, 361, n)
    arrays = (sh.pack_planes(bits), moves, np.arange(n) // 10, np.arange(n) % 10)
    sh.write_folder(folder, {"train": arrays}, feature_version=1, per_shard=per_shard)
    return bits, moves


def test_transform_matches_symmetry_module():
    rng = np.random.default_rng(1)
    bits = (rng.random((16, 48, 19, 19)) < 0.3).astype(np.uint8)
    moves = rng.integers(0, 361, 16)
    syms = np.arange(16) % 8
    out, out_moves = transform_batch(bits, moves, syms)
    for i, s in enumerate(syms):
        assert np.array_equal(out[i], symmetry.apply(bits[i], int(s)))
        assert out_moves[i] == symmetry.transform_index(int(moves[i]), int(s))


def test_batches_are_symmetries_of_the_stored_positions(tmp_path):
    bits, moves = synthetic(tmp_path)
    batches = Batches(ShardDataset(tmp_path, "train"), 32, seed=5)
    perm, syms = batches.plan(0)
    assert set(np.unique(syms[:256])) == set(range(8))
    for k, (x, y) in zip(range(3), batches):
        for i in range(32):
            j, s = perm[k * 32 + i], int(syms[k * 32 + i])
            assert np.array_equal(x[i].numpy(), symmetry.apply(bits[j], s).astype(np.float32))
            assert y[i] == symmetry.transform_index(int(moves[j]), s)


def test_two_ranks_of_b_equal_one_rank_of_2b(tmp_path):
    synthetic(tmp_path)
    ds = ShardDataset(tmp_path, "train")
    whole = iter(Batches(ds, 16, seed=3))
    parts = [iter(Batches(ds, 8, seed=3, rank=r, world_size=2)) for r in (0, 1)]
    for _ in range(40):  # crosses the epoch boundary (600 // 16 = 37 batches)
        x, y = next(whole)
        (x0, y0), (x1, y1) = next(parts[0]), next(parts[1])
        assert np.array_equal(x.numpy(), np.concatenate([x0.numpy(), x1.numpy()]))
        assert np.array_equal(y.numpy(), np.concatenate([y0.numpy(), y1.numpy()]))


@pytest.mark.parametrize("stop", [3, 36, 37, 50])
def test_resumed_iterator_continues_exactly(tmp_path, stop):
    synthetic(tmp_path)
    ds = ShardDataset(tmp_path, "train")
    first = Batches(ds, 16, seed=9)
    stream = iter(first)
    for _ in range(stop):
        next(stream)
    state = first.state_dict()
    expected = [next(stream) for _ in range(3)]
    again = Batches(ds, 16, seed=9, prefetch=0)
    again.load_state_dict(state)
    for (x, y), (ex, ey) in zip(iter(again), expected):
        assert np.array_equal(x.numpy(), ex.numpy()) and np.array_equal(y.numpy(), ey.numpy())


def test_epochs_differ_and_cover_every_position_once(tmp_path):
    synthetic(tmp_path, n=64, per_shard=20)
    batches = Batches(ShardDataset(tmp_path, "train"), 8, seed=0)
    p0, p1 = batches.plan(0)[0], batches.plan(1)[0]
    assert sorted(p0) == list(range(64)) and not np.array_equal(p0, p1)


def test_sequential_batches_split_over_ranks_without_overlap(tmp_path):
    bits, moves = synthetic(tmp_path, n=100, per_shard=30)
    ds = ShardDataset(tmp_path, "train")
    seen = [y.numpy() for r in (0, 1) for _, y, _ in sequential_batches(ds, 16, 90, r, 2)]
    assert sorted(np.concatenate(seen).tolist()) == sorted(moves[:90].tolist())


def test_truncated_shard_in_a_folder_is_a_clear_error(tmp_path):
    synthetic(tmp_path, n=100, per_shard=40)
    path = tmp_path / "train-00001.shard"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(sh.ShardError, match="train-00001.shard: truncated"):
        ShardDataset(tmp_path, "train")


def test_prepare_to_dataset_round_trip(tmp_path):
    """A real position through prepare -> shard -> dataset comes out as some symmetry of
    its own encoding, with the move transformed by the same symmetry."""
    from gopolicy.features import encode
    from gopolicy.sgf_io import load_game
    from gopolicy.training.prepare import PrepareOptions, prepare

    (tmp_path / "g.sgf").write_bytes(SGF)
    prepare([tmp_path / "g.sgf"], tmp_path / "data", PrepareOptions(split=(1.0, 0.0, 0.0)),
            workers=1, progress=False)
    positions = list(load_game(SGF).positions())
    ds = ShardDataset(tmp_path / "data", "train")
    assert len(ds) == len(positions) == 10
    batches = Batches(ds, 10, seed=11)
    perm, _ = batches.plan(0)
    x, y = next(iter(batches))
    _, _, numbers = ds.gather(perm[:10])
    for i in range(10):
        position, move = positions[numbers[i]]
        planes = encode(position)
        matches = [s for s in range(8) if np.array_equal(x[i].numpy(), symmetry.apply(planes, s))]
        assert matches, f"sample {i} is no symmetry of move {numbers[i]}'s encoding"
        assert any(y[i] == symmetry.transform_index(move[0] * 19 + move[1], s) for s in matches)
