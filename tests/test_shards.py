"""Shard files: exact round trip, atomic writes, and clear errors for damaged files."""

import numpy as np
import pytest

from gopolicy.training import shards as sh


def random_shard(n, seed=0):
    rng = np.random.default_rng(seed)
    bits = (rng.random((n, 48, 19, 19)) < 0.2).astype(np.uint8)
    return bits, rng.integers(0, 361, n), rng.integers(0, 1000, n), rng.integers(0, 300, n)


@pytest.mark.parametrize("n", [0, 1, 7, 130])
def test_round_trip_is_exact(tmp_path, n):
    bits, moves, gids, nums = random_shard(n)
    sh.write_shard(tmp_path / "a.shard", sh.pack_planes(bits), moves, gids, nums, feature_version=3, split="val")
    shard = sh.read_shard(tmp_path / "a.shard", feature_version=3)
    assert len(shard) == n and shard.split == "val" and shard.feature_version == 3
    assert np.array_equal(sh.unpack_planes(shard.planes), bits)
    assert np.array_equal(shard.moves, moves)
    assert np.array_equal(shard.game_ids, gids)
    assert np.array_equal(shard.move_numbers, nums)
    assert [p.name for p in tmp_path.iterdir()] == ["a.shard"]  # no temporary file left behind


def test_packed_row_is_48_planes_of_361_bits():
    bits = np.zeros((1, 48, 19, 19), np.uint8)
    bits[0, 47, 18, 18] = 1  # the very last bit
    packed = sh.pack_planes(bits)
    assert packed.shape == (1, 2166) and sh.ROW_BYTES == 48 * 361 // 8
    assert packed[0, -1] == 1 and packed[0, :-1].sum() == 0


@pytest.mark.parametrize("cut", [1, 100, 2166 * 5, 3000 * 10])
def test_truncated_shard_is_refused_clearly(tmp_path, cut):
    bits, moves, gids, nums = random_shard(10)
    path = tmp_path / "t.shard"
    size = sh.write_shard(path, sh.pack_planes(bits), moves, gids, nums, 1)
    with open(path, "r+b") as f:
        f.truncate(max(size - cut, 20))
    with pytest.raises(sh.ShardError, match="truncated"):
        sh.read_shard(path)


def test_foreign_file_and_feature_version_mismatch(tmp_path):
    (tmp_path / "x.shard").write_bytes(b"PK\x03\x04 not a shard at all")
    with pytest.raises(sh.ShardError, match="not a gopolicy shard"):
        sh.read_shard(tmp_path / "x.shard")
    bits, moves, gids, nums = random_shard(2)
    sh.write_shard(tmp_path / "v.shard", sh.pack_planes(bits), moves, gids, nums, feature_version=1)
    with pytest.raises(sh.ShardError, match="feature version 1"):
        sh.read_shard(tmp_path / "v.shard", feature_version=2)


def test_mismatched_arrays_are_refused(tmp_path):
    bits, moves, gids, nums = random_shard(3)
    with pytest.raises(ValueError, match="disagree"):
        sh.write_shard(tmp_path / "m.shard", sh.pack_planes(bits), moves[:2], gids, nums, 1)
    assert not list(tmp_path.iterdir())


def test_missing_manifest_says_to_prepare(tmp_path):
    with pytest.raises(sh.ShardError, match="gopolicy prepare"):
        sh.split_shards(tmp_path, "train")
