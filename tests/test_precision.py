"""Precision: bf16 is picked only where it is native, and bf16 inference keeps fp32's answers."""

import itertools

import numpy as np
import pytest
import torch

from gopolicy.model import native_bf16, resolve_precision
from tests.conftest import KGS_DIR


@pytest.mark.parametrize("asked,expected", [
    ("fp32", "fp32"), ("bf16", "bf16"), ("auto", "bf16" if native_bf16("cpu") else "fp32")])
def test_resolve_precision(asked, expected):
    assert resolve_precision(asked, "cpu") == expected


@pytest.mark.parametrize("asked", ["fp16", "", "BF16", None])
def test_unknown_precision_is_refused(asked):
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision(asked, "cpu")


def kgs_positions(n: int):
    """Return the first n positions (with a next move) of the first KGS archive's games."""
    from gopolicy.sgf_collections import read_collection

    archive = sorted(KGS_DIR.glob("*.tar.gz"))[0]
    pairs = (pair for game in read_collection([archive]) for pair in game.positions())
    return [position for position, _ in itertools.islice(pairs, n)]


@pytest.mark.skipif(not KGS_DIR.is_dir(), reason="no KGS games")
def test_bf16_inference_plays_the_fp32_move_on_1000_kgs_positions():
    from gopolicy.policy import Policy

    positions = kgs_positions(1000)
    fp32, bf16 = Policy(device="cpu", precision="fp32"), Policy(device="cpu", precision="bf16")
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    a, b = fp32.evaluate_batch(positions), bf16.evaluate_batch(positions)
    same = np.mean([x.best() == y.best() for x, y in zip(a, b)])
    assert len(positions) == 1000 and same >= 0.99
    drift = max(float(np.abs(x.probs - y.probs).max()) for x, y in zip(a, b))
    assert drift < 0.05  # float32 head: probabilities move by bf16 rounding of the trunk only


def test_bf16_policy_keeps_float32_logits_out_of_the_head(tiny_weights):
    from gopolicy.policy import Policy

    policy = Policy(tiny_weights, device="cpu", precision="bf16")
    assert policy.model.convs[0].weight.dtype == torch.bfloat16
    assert policy.model.head.weight.dtype == policy.model.point_bias.dtype == torch.float32
    assert policy.logits(np.zeros((2, 48, 19, 19), np.uint8)).dtype == np.float32
