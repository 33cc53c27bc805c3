"""Batches made on the device equal the CPU path bit for bit: on CPU tensors everywhere, and on
CUDA where there is a GPU (scripts/device_burst.sh runs this file on the lent one first)."""

import numpy as np
import pytest
import torch

from gopolicy.training import shards as sh
from gopolicy.training.dataset import Batches, ShardDataset, transform_batch
from gopolicy.training.burst.gpu_batches import DeviceBatches, DeviceTables, unpack_transform

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def random_rows(n, seed=0, density=0.2):
    rng = np.random.default_rng(seed)
    bits = (rng.random((n, 48, 19, 19)) < density).astype(np.uint8)
    return bits, sh.pack_planes(bits), rng.integers(0, 361, n)


@pytest.mark.parametrize("device", DEVICES)
def test_unpack_and_symmetry_equal_the_cpu_path(device):
    bits, packed, moves = random_rows(64, seed=1)
    syms = np.arange(64) % 8
    want_planes, want_moves = transform_batch(sh.unpack_planes(packed), moves, syms)
    assert not np.array_equal(want_planes, bits)  # the symmetries do change the planes
    tables = DeviceTables.on(device)
    on = [torch.from_numpy(a).to(device) for a in (packed, moves, syms)]
    planes, out_moves = unpack_transform(*on, tables, torch.channels_last)
    assert planes.dtype == torch.float32 and planes.shape == (64, 48, 19, 19) and planes.device.type == device
    assert planes.is_contiguous(memory_format=torch.channels_last)
    assert np.array_equal(planes.cpu().numpy(), want_planes.astype(np.float32))
    assert np.array_equal(out_moves.cpu().numpy(), want_moves)
    plain, same_moves = unpack_transform(on[0], on[1], None, tables)
    assert np.array_equal(plain.cpu().numpy(), bits.astype(np.float32))
    assert np.array_equal(same_moves.cpu().numpy(), moves)


@pytest.fixture
def folder(tmp_path):
    _, packed, moves = random_rows(300, seed=2, density=0.1)
    n = len(moves)
    sh.write_folder(tmp_path, {"train": (packed, moves, np.arange(n) // 10, np.arange(n) % 10)},
                    feature_version=1, per_shard=70)  # several shards, a split not a multiple of them
    return tmp_path


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("resident", [True, False])
@pytest.mark.parametrize("augment", [True, False])
def test_device_batches_equal_cpu_batches_across_epochs(folder, device, resident, augment):
    ds = ShardDataset(folder, "train")
    cpu = iter(Batches(ds, 32, seed=7, augment=augment, prefetch=0))
    source = DeviceBatches(ds, 32, device, seed=7, augment=augment, resident=resident)
    assert source.resident == resident and source.prefetch == (0 if resident else 2)
    batches = iter(source)
    for _ in range(20):  # 300 // 32 = 9 batches an epoch: crosses two epoch boundaries
        (x, y), (dx, dy) = next(cpu), next(batches)
        assert dx.device.type == dy.device.type == device
        assert torch.equal(x, dx.cpu()) and torch.equal(y, dy.cpu())
    assert source.state_dict() == {"epoch": 2, "batch": 2} and source.served == 20
    assert 0 <= source.waited <= 20


def test_device_batches_resume_where_they_stopped(folder):
    ds = ShardDataset(folder, "train")
    first = DeviceBatches(ds, 32, "cpu", seed=3)
    stream = iter(first)
    for _ in range(12):
        next(stream)
    resumed = DeviceBatches(ds, 32, "cpu", seed=3)
    resumed.load_state_dict(first.state_dict())
    x, y = next(stream)
    rx, ry = next(iter(resumed))
    assert torch.equal(x, rx) and torch.equal(y, ry)


def test_resident_by_default_when_the_split_fits(folder):
    source = DeviceBatches(ShardDataset(folder, "train"), 32, "cpu")
    assert source.resident and source.rows.shape == (300, sh.ROW_BYTES) and "resident" in source.mode


def test_trainer_fed_device_batches_trains_exactly_as_with_cpu_batches(tmp_path, folder):
    from gopolicy.training import checkpoint as ck
    from gopolicy.training.trainer import TrainConfig, Trainer

    def run(name, device_batches):
        cfg = TrainConfig(data=str(folder), out=str(tmp_path / name), filters=8, layers=3, batch_size=16,
                          lr=0.05, steps=12, checkpoint_every=12, log_every=4, progress=False,
                          tensorboard=False, device="cpu", precision="fp32", seed=5, batch_norm=True)
        source = DeviceBatches(ShardDataset(folder, "train"), 16, "cpu", seed=5) if device_batches else None
        trainer = Trainer(cfg, batches=source)
        trainer.run()
        assert trainer.batches.served == 12
        return ck.load(tmp_path / name / ck.LAST)["model"]

    cpu, device = run("cpu", False), run("device", True)
    assert cpu.keys() == device.keys()
    assert all(torch.equal(cpu[k], device[k]) for k in cpu)
