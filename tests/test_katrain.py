"""KaTrain drives `gopolicy analysis` with its own KataGo engine class (katrain.core.engine).

KaTrain (PyPI `katrain`) starts `<katago executable> analysis -model M -config C
-override-config homeDataDir=...` and reads KataGo's analysis JSON. Here its
KataGoEngine runs headless (no Kivy window) against a wrapper script that execs
`gopolicy analysis`, as the README's set-up does, and its own GameNode.analyze stores
our answer: the policy it draws, the candidates it lists. Skipped where katrain is not
installed (.ci/run installs it).
"""

import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

# Kivy reads these when it is imported: no window, no argv parsing, a private home
os.environ.setdefault("KIVY_NO_WINDOW", "1")
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ.setdefault("KIVY_NO_FILELOG", "1")


@pytest.fixture(scope="module")
def katrain_modules(tmp_path_factory):
    os.environ.setdefault("KIVY_HOME", str(tmp_path_factory.mktemp("kivy")))
    pytest.importorskip("katrain")
    from katrain.core.engine import KataGoEngine
    from katrain.core.game_node import GameNode
    from pysgf import Move

    return KataGoEngine, GameNode, Move


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    import torch

    from gopolicy.model import PolicyConfig, PolicyNet
    from gopolicy.weights import save_weights

    torch.manual_seed(5)
    model = PolicyNet(PolicyConfig(filters=8))
    with torch.no_grad():
        model.point_bias.normal_(0.0, 2.0)
    return save_weights(tmp_path_factory.mktemp("w") / "tiny.safetensors", model,
                        {"provenance": {"trained": False}})


def wrapper_script(folder: Path, weights: Path) -> Path:
    """Return an executable shell script that runs `gopolicy analysis` with KaTrain's arguments."""
    script = folder / "katago"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gopolicy analysis '
                      f'--weights "{weights}" --device cpu "$@"\n')
    script.chmod(0o755)
    return script


class FakeKaTrain:
    """What KataGoEngine calls on the app: log(message, level) and popups by name."""

    def __init__(self):
        self.logs: list[tuple[float, str]] = []
        self.popups: list[tuple] = []
        self.lock = threading.Lock()

    def log(self, message, level=0):
        with self.lock:
            self.logs.append((level, str(message)))

    def __call__(self, *args):
        self.popups.append(args)


@pytest.fixture
def engine(katrain_modules, weights, tmp_path):
    KataGoEngine, _, _ = katrain_modules
    app = FakeKaTrain()
    config = {"backend": "local", "katago": str(wrapper_script(tmp_path, weights)),
              "model": str(tmp_path / "model.bin.gz"), "config": str(tmp_path / "analysis.cfg"),
              "max_visits": 50, "fast_visits": 10, "max_time": 8.0, "wide_root_noise": 0.04,
              "_enable_ownership": True, "allow_recovery": True}
    engine = KataGoEngine(app, config)
    engine.app = app
    yield engine
    engine.shutdown(finish=False)


def wait_for(condition, seconds=60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_katrain_engine_class_gets_our_policy(katrain_modules, engine, weights):
    from gopolicy.board import Position
    from gopolicy.coords import parse_vertex
    from gopolicy.policy import Policy

    _, GameNode, Move = katrain_modules
    assert engine.command[1:3] == ["analysis", "-model"]  # KaTrain's own command line
    root = GameNode(properties={"SZ": "19", "KM": "6.5", "RU": "japanese"})
    node = root
    for colour, vertex in [("B", "Q16"), ("W", "D4"), ("B", "Q3")]:
        node = node.play(Move.from_gtp(vertex, colour))
    node.analyze(engine)  # KaTrain's own query: includePolicy, includeOwnership, overrideSettings...
    assert wait_for(lambda: node.analysis_complete), engine.app.logs[-5:]

    position = Position()
    for colour, vertex in [(1, "Q16"), (-1, "D4"), (1, "Q3")]:
        position = position.play(parse_vertex(vertex), colour)
    expected = Policy(weights, device="cpu").evaluate(position).probs
    policy = node.policy
    assert len(policy) == 362
    grid = np.asarray(policy[:361]).reshape(19, 19)[::-1]  # KaTrain's var_to_grid: top row first
    legal = position.legal_mask(position.to_play)
    assert np.all(grid[~legal] == -1)
    np.testing.assert_allclose(grid[legal], expected[legal], rtol=1e-4, atol=1e-7)
    best_prob, best_move = node.policy_ranking[0]
    row, col = np.unravel_index(np.argmax(expected), expected.shape)
    assert best_move.gtp() == f"{'ABCDEFGHJKLMNOPQRST'[col]}{row + 1}"
    assert best_move.player == "W" and best_prob == pytest.approx(expected.max(), rel=1e-4)
    candidates = node.candidate_moves
    assert candidates[0]["move"] == best_move.gtp() and candidates[0]["pointsLost"] == 0
    assert sum(c["visits"] for c in candidates) == 50  # KaTrain's max_visits, shared by prior
    assert node.analysis["root"]["visits"] == 50 and node.winrate == 0.5 and node.score == 0
    assert node.ownership is None
    assert engine.check_alive() and not engine.app.popups


def test_katrain_error_callback_and_engine_survives(katrain_modules, engine):
    _, GameNode, Move = katrain_modules
    errors = []
    small = GameNode(properties={"SZ": "9", "KM": "6.5", "RU": "japanese"})
    engine.request_analysis(small, callback=lambda *_: None, error_callback=errors.append)
    assert wait_for(lambda: errors)
    assert errors[0]["field"] == "boardXSize" and "19" in errors[0]["error"]

    root = GameNode(properties={"SZ": "19", "KM": "6.5", "RU": "tromp-taylor"})
    node = root.play(Move.from_gtp("D4", "B"))
    node.analyze(engine, visits=5)
    assert wait_for(lambda: node.analysis_complete)
    assert sum(c["visits"] for c in node.candidate_moves) == 5
    engine.terminate_query("QUERY:1")  # KaTrain's terminate: acknowledged, logged, harmless
    assert wait_for(engine.is_idle) and engine.check_alive() and not engine.app.popups
