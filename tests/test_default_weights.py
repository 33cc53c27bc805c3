"""The shipped network: it loads, describes itself, and predicts real expert moves."""

import pytest
from conftest import KGS_DIR

from gopolicy.features import FEATURE_VERSION
from gopolicy.weights import default_weights_path, load_weights


def test_default_network_describes_itself():
    model, meta = load_weights(default_weights_path())
    assert meta["feature_version"] == FEATURE_VERSION
    assert meta["config"]["layers"] == 13 and meta["config"]["filters"] in (128, 192, 256, 384)
    provenance = meta["provenance"]
    assert provenance["samples"] > 0 and provenance["data"]["games"] > 30_000
    assert "/" not in provenance["training"]["data"]  # folder names only, no machine paths
    assert meta["metrics"]["val"]["top1"] > 0.25


@pytest.mark.skipif(not KGS_DIR.exists(), reason="shared KGS games not found")
def test_default_network_predicts_held_out_kgs_moves(one_thread):
    """Chance is about 1 in 250 for top-1; the shipped network must be far above it on
    games of the test split, which it never saw in training."""
    from gopolicy.training.evaluate import evaluate

    result = evaluate(default_weights_path(), [KGS_DIR / "KGS-2017_04-19-913-.tar.gz"],
                      batch_size=256, workers=1, limit=4, split="test")
    assert result["games"] == 4 and result["positions"] > 500
    assert result["top1"] > 0.2 and result["top5"] > 0.45
