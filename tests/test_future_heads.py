"""Future-move heads (darkforest): trained beside the network, kept in the run's state, dropped at export."""

import argparse
import csv
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.test_trainer import config
from gopolicy.training import run_state
from gopolicy.training import shards as sh
from gopolicy.training.dataset import NONE
from gopolicy.training.future_heads import FutureHeads, loss
from gopolicy.training.trainer import RUN_STATE, Trainer


def games(folder, count=48, length=8, seed=0):
    """Games of `length` positions in consecutive rows, train and val; the move is the point marked
    on plane 44 (a pattern a tiny network learns), so the following moves are the next rows' marks."""
    from gopolicy.features import FEATURE_VERSION

    rng = np.random.default_rng(seed)
    splits = {}
    for split, n in (("train", count * length), ("val", 8 * length)):
        bits = (rng.random((n, 48, 19, 19)) < 0.05).astype(np.uint8)
        moves = rng.integers(0, 361, n)
        bits[:, 44] = 0
        bits[np.arange(n), 44, moves // 19, moves % 19] = 1
        splits[split] = (sh.pack_planes(bits), moves, np.arange(n) // length, np.arange(n) % length)
    sh.write_folder(folder, splits, FEATURE_VERSION, per_shard=10 * length)
    return folder


def heads_config(tmp_path, out, **changes):
    values = dict(batch_norm=True, nesterov=True, schedule="constant", warmup=3, ema_decay=0.9, future_moves=2)
    values.update(changes)
    return config(tmp_path, out=out, **values)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_the_main_head_is_the_network_itself(batch_norm, one_thread):
    from gopolicy.model import PolicyConfig, PolicyNet
    from gopolicy.training.batchnorm import BatchNormPolicyNet

    torch.manual_seed(0)
    net = (BatchNormPolicyNet if batch_norm else PolicyNet)(PolicyConfig(filters=8, layers=3)).eval()
    x = (torch.rand(4, 48, 19, 19) < 0.2).float()
    logits = FutureHeads(net, 2)(x)
    assert logits.shape == (4, 3, 361)
    assert torch.equal(logits[:, 0], net(x))
    assert not torch.equal(logits[:, 1], logits[:, 2])


def test_the_loss_weighs_head_k_by_one_over_k_as_darkforest():
    torch.manual_seed(1)
    logits = torch.randn(6, 3, 361)
    targets = torch.tensor([[5, 6, 7], [8, NONE, 9], [10, 11, NONE], [1, 2, 3], [4, NONE, NONE], [0, 1, 2]])
    expected = F.cross_entropy(logits[:, 0], targets[:, 0])
    for k in (1, 2):
        valid = targets[:, k] != NONE  # the mean over the samples that have the move
        expected = expected + F.cross_entropy(logits[valid, k], targets[valid, k]) / (k + 1)
    torch.testing.assert_close(loss(logits, targets), expected)
    none = targets.clone()
    none[:, 1:] = NONE  # a batch without any following move: the main loss alone, not NaN
    assert torch.equal(loss(logits, none), F.cross_entropy(logits[:, 0], targets[:, 0]))


def sgf_games(count, length=40, seed=0):
    """`count` records of one game of `length` moves at distinct points (a sequence to learn),
    told apart by the players' names, so that prepare splits them by their bytes."""
    rng = np.random.default_rng(seed)
    points = [divmod(int(p), 19) for p in rng.choice(361, size=length, replace=False)]
    moves = "".join(f";{'BW'[k % 2]}[{chr(97 + col)}{chr(97 + 18 - row)}]" for k, (row, col) in enumerate(points))
    return [f"(;GM[1]FF[4]SZ[19]KM[6.5]PB[p{g}]PW[q{g}]{moves})".encode() for g in range(count)]


def test_a_run_with_heads_learns_and_exports_the_plain_network_that_plays(tmp_path, capsys):
    """SGF games -> prepare -> train --future-moves 2 -> export (last and average) -> the engine plays."""
    from gopolicy.cli import main
    from gopolicy.engine.gtp.command import build_engine
    from gopolicy.model import expected_shapes
    from gopolicy.policy import Policy
    from gopolicy.weights import load_weights

    (tmp_path / "sgf").mkdir()
    for k, game in enumerate(sgf_games(12)):
        (tmp_path / "sgf" / f"g{k:02d}.sgf").write_bytes(game)
    data, run = tmp_path / "data", tmp_path / "run"
    assert main(["prepare", str(tmp_path / "sgf"), "--out", str(data), "--split", "0.7,0.3,0", "--workers", "1",
                 "--quiet"]) == 0
    assert main(["train", "--data", str(data), "--out", str(run), "--filters", "8", "--layers", "3",
                 "--batch-size", "16", "--optimizer", "adam", "--lr", "0.05", "--steps", "40", "--val-every", "20", "--val-samples", "64",
                 "--log-every", "5", "--ema-decay", "0.9", "--future-moves", "2", "--precision", "fp32",
                 "--device", "cpu", "--quiet", "--no-tensorboard"]) == 0
    with open(run / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    loss_of = lambda split: [float(r["loss"]) for r in rows if r["split"] == split]  # noqa: E731
    assert loss_of("train")[-1] < loss_of("train")[0] and loss_of("val")[1] < loss_of("val")[0]  # it learns
    assert [r["split"] for r in rows if r["step"] == "40"] == ["train", "val", "val-move2", "val-move3",
                                                               "val-average"]
    state = run_state.load(run / RUN_STATE)
    assert [h["move"] for h in state["val"]["future"]] == [2, 3]
    assert set(state["future_heads"]) == {"conv.weight", "point_bias"}
    for which in ("last", "average"):
        weights = tmp_path / f"{which}.safetensors"
        assert main(["export", str(run), "--checkpoint", which, "--out", str(weights)]) == 0
        net, meta = load_weights(weights)
        assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == expected_shapes(net.config)
        engine = build_engine(Policy(weights, device="cpu"))
        assert re.fullmatch(r"= [A-HJ-T]\d+\s*", engine.execute("genmove b"))
    assert meta["provenance"]["training"]["future_moves"] == 2
    capsys.readouterr()


def test_two_continued_legs_with_heads_equal_one_unbroken_run(tmp_path):
    games(tmp_path / "data")
    Trainer(heads_config(tmp_path, "straight", steps=12)).run()
    Trainer(heads_config(tmp_path, "leg1", steps=5)).run()
    Trainer(heads_config(tmp_path, "leg2", steps=12, continue_from=str(tmp_path / "leg1" / RUN_STATE))).run()
    a, b = run_state.load(tmp_path / "straight" / RUN_STATE), run_state.load(tmp_path / "leg2" / RUN_STATE)
    assert a["step"] == b["step"] == 12 and a["data"] == b["data"] and a["val"] == b["val"]
    for part in ("model", "average", "future_heads"):
        assert a[part].keys() == b[part].keys()
        for name in a[part]:
            assert torch.equal(a[part][name], b[part][name]), (part, name)
    assert len(a["optimizer"]["param_groups"]) == 2
    for s, state in a["optimizer"]["state"].items():  # the heads' momentum too
        assert torch.equal(state["momentum_buffer"], b["optimizer"]["state"][s]["momentum_buffer"])


def test_continue_adds_fresh_heads_to_a_run_without_them(tmp_path):
    """A branch: the run exactly as continued, plus new heads with no optimizer state."""
    games(tmp_path / "data")
    Trainer(heads_config(tmp_path, "run", steps=4, future_moves=0)).run()
    saved = run_state.load(tmp_path / "run" / RUN_STATE)
    assert "future_heads" not in saved and len(saved["optimizer"]["param_groups"]) == 1
    branch = Trainer(heads_config(tmp_path, "heads", steps=8, continue_from=str(tmp_path / "run" / RUN_STATE)))
    branch.continue_run(branch.cfg.continue_from)
    state = branch.state()
    assert (state["step"], state["data"]) == (saved["step"], saved["data"])
    for part in ("model", "average"):
        for name, value in saved[part].items():
            assert torch.equal(state[part][name], value), (part, name)
    group = saved["optimizer"]["param_groups"][0]["params"]
    assert state["optimizer"]["param_groups"][0]["params"] == group
    for s in group:
        assert torch.equal(state["optimizer"]["state"][s]["momentum_buffer"],
                           saved["optimizer"]["state"][s]["momentum_buffer"])
    assert not set(state["optimizer"]["param_groups"][1]["params"]) & set(state["optimizer"]["state"])
    assert torch.equal(state["future_heads"]["point_bias"], torch.zeros(2, 361))
    branch.run()
    done = run_state.load(tmp_path / "heads" / RUN_STATE)
    assert done["step"] == 8 and done["config"]["future_moves"] == 2 and done["legs"][0]["steps"] == 4
    assert not torch.equal(done["future_heads"]["point_bias"], torch.zeros(2, 361))


def test_a_run_with_heads_keeps_them_on_continue(tmp_path):
    from gopolicy.training.trainer import add_arguments, config_from_args

    games(tmp_path / "data")
    Trainer(heads_config(tmp_path, "run", steps=2)).run()
    state = str(tmp_path / "run" / RUN_STATE)
    for asked in (0, 3):
        with pytest.raises(ValueError, match=f"trains 2 future-move heads, this leg asks for {asked}"):
            Trainer(heads_config(tmp_path, f"leg{asked}", steps=4, future_moves=asked, continue_from=state)).run()
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--data", str(tmp_path / "data"), "--out", str(tmp_path / "leg"), "--hours", "1",
                              "--continue", state])
    assert config_from_args(args).future_moves == 2  # the run's own number, as every other option
    with pytest.raises(ValueError, match="--future-moves -1"):
        config_from_args(parser.parse_args(["--data", "d", "--out", "o", "--future-moves", "-1"]))
