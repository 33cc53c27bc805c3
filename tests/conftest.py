"""Shared test fixtures: a tiny random network and the location of the KGS games.

    one_thread    runs a test with torch on one thread
    tiny_weights  Path of a weights file of a small random PolicyNet (filters=8), saved in
                  tmp_path; loadable by Policy(tiny_weights, device="cpu")
    KGS_DIR       Path of ../shared/data/kgs relative to the repository root
                  (tests that use it skip when it is missing)
"""

import os
from pathlib import Path

import pytest

# OpenMP threads that sleep instead of spinning while they wait: read when torch loads, so
# set before any test imports it (spinning threads make a busy 2-core machine crawl).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

KGS_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "kgs"

TINY_FILTERS = 8


@pytest.fixture
def one_thread():
    """Run small networks on one thread: they gain nothing from more, and on a shared
    machine OpenMP threads waiting for each other make them many times slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_weights(tmp_path) -> Path:
    """Return the path of a freshly saved, seeded random PolicyNet with 8 filters."""
    import torch  # here, not at module level: rules and SGF tests need no torch

    from gopolicy.model import PolicyConfig, PolicyNet
    from gopolicy.weights import save_weights

    torch.manual_seed(20160128)
    model = PolicyNet(PolicyConfig(filters=TINY_FILTERS))
    # a random point bias, so that the tiny network has clear preferences to test against
    with torch.no_grad():
        model.point_bias.normal_(0.0, 2.0)
    return save_weights(tmp_path / "tiny.safetensors", model,
                        {"provenance": {"source": "tests/conftest.py tiny_weights", "trained": False}})
