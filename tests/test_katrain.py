"""KaTrain drives `gopolicy analysis` with its own KataGo engine class (katrain.core.engine).

KaTrain (PyPI `katrain`) starts `<katago executable> analysis -model M -config C
-override-config homeDataDir=...` and reads KataGo's analysis JSON. Here its
KataGoEngine runs headless (no Kivy window) against a wrapper script that execs
`gopolicy analysis`, as the README's set-up does, and its own GameNode.analyze stores
our answer: the policy it draws, the candidates it lists. Then KaTrain's window runs under
Xvfb on a position of setup stones with the shipped network behind it: a screenshot with
its "Policy Moves" view off gives the board's grid, one with it on (the `r` key, sent by
xdotool) must show a policy circle on every legal point, none on the stones, and
KaTrain's best-move ring on the network's most probable move. Both screenshots are kept
under $GOPOLICY_TEST_ARTIFACTS when set, else under pytest's tmp_path. Skipped where
katrain, Xvfb or xdotool is missing (.ci/run installs them).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from screens import artefact_dir, xvfb_display

from gopolicy.network_options import DEFAULT_SYMMETRIES  # the commands' default

# Kivy reads these when it is first imported: no window, no argv parsing, no logs, a private home
KIVY_HEADLESS = {"KIVY_NO_WINDOW": "1", "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1",
                 "KIVY_NO_FILELOG": "1"}
pytestmark = pytest.mark.gui  # KaTrain (kivy), and its window under Xvfb


@pytest.fixture(scope="module")
def katrain_modules(tmp_path_factory):
    """Return KaTrain's (KataGoEngine, GameNode, Move), imported headless; skip without katrain."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**KIVY_HEADLESS, "KIVY_HOME": str(tmp_path_factory.mktemp("kivy"))}.items():
            patch.setenv(name, value)
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
    expected = Policy(weights, device="cpu", symmetries=DEFAULT_SYMMETRIES).evaluate(position).probs
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


# --- KaTrain's window under Xvfb ---------------------------------------------------------

SCREEN = (1600, 1000)
WAIT_S = 180  # Kivy, KaTrain and the shipped network start on a busy machine
COLUMNS = "ABCDEFGHJKLMNOPQRST"
SETUP = {"B": ["Q16", "D4", "Q4"], "W": ["D16", "R10"]}  # white to play



@pytest.fixture
def display():
    """Yield the name (":N") of a fresh Xvfb display on a free number; skip without Xvfb/xdotool."""
    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        pytest.skip("needs Xvfb and xdotool")
    pytest.importorskip("PIL.ImageGrab")
    with xvfb_display(*SCREEN) as name:
        yield name


def screenshot(display: str) -> np.ndarray:
    """Return the whole X screen as int[height, width, 3]."""
    from PIL import ImageGrab

    return np.asarray(ImageGrab.grab(xdisplay=display).convert("RGB")).astype(int)


def board_grid(image: np.ndarray) -> tuple[slice, slice, float, float, float]:
    """Return (rows, cols of the wooden board, x of column A, y of row 19, spacing) of a
    screenshot of KaTrain's board with nothing drawn on it but stones."""
    wood = (image[..., 0] > 170) & (image[..., 0] > image[..., 2] + 60)
    ys, xs = np.flatnonzero(wood.sum(axis=1) > 300), np.flatnonzero(wood.sum(axis=0) > 300)
    assert len(xs) and len(ys), "no board in the screenshot"
    rows, cols = slice(ys[0], ys[-1] + 1), slice(xs[0], xs[-1] + 1)
    dark = image[rows, cols].sum(axis=2) < 250
    lines_x = xs[0] + np.flatnonzero(dark.mean(axis=0) > 0.6)
    lines_y = ys[0] + np.flatnonzero(dark.mean(axis=1) > 0.6)
    assert len(lines_x) == len(lines_y) == 19, (lines_x, lines_y)
    spacing = (lines_x[-1] - lines_x[0]) / 18
    return rows, cols, float(lines_x[0]), float(lines_y[0]), spacing


def pixel_of(vertex: str, grid) -> tuple[int, int]:
    """Return the screen (x, y) of a vertex such as "Q16"."""
    _, _, x0, y0, spacing = grid
    return round(x0 + COLUMNS.index(vertex[0]) * spacing), round(y0 + (19 - int(vertex[1:])) * spacing)


def changed(before: np.ndarray, after: np.ndarray, vertex: str, grid) -> bool:
    """True when the square of 0.5 spacing around a vertex looks different in `after`."""
    x, y = pixel_of(vertex, grid)
    half = round(grid[4] * 0.25)
    window = (slice(y - half, y + half + 1), slice(x - half, x + half + 1))
    return bool(np.abs(after[window] - before[window]).sum(axis=2).mean() > 40)


def network_best_move() -> str:
    """Return the shipped network's most probable move for white in the SETUP position."""
    from gopolicy.board import WHITE, Position
    from gopolicy.coords import format_vertex, parse_vertex
    from gopolicy.policy import Policy

    position = Position().setup([parse_vertex(v) for v in SETUP["B"]],
                                [parse_vertex(v) for v in SETUP["W"]]).with_to_play(WHITE)
    return format_vertex(Policy(device="cpu", symmetries=DEFAULT_SYMMETRIES).evaluate(position).best())


def katrain_config(home: Path, katago) -> Path:
    """Write KaTrain's package config with `katago` as its KataGo executable and only the
    policy view (still off); return its path."""
    from importlib.resources import files

    config = json.loads((files("katrain") / "config.json").read_text())
    config["engine"].update(backend="local", katago=str(katago))
    config["general"]["debug_level"] = 1  # its engine log ("KataGo analysis received") on stdout
    for mode in ("play", "analyze"):
        config["ui_state"][mode]["analysis_controls"].update(eval=False, hints=False, policy=False,
                                                             ownership=False)
    config["ui_state"].update(size=[1400, 900], left=0, top=0)
    path = home / "config.json"
    path.write_text(json.dumps(config))
    return path


def wait_until(condition, what: str, log: Path, seconds: float = WAIT_S):
    """Return the first true value of condition() polled each 0.5 s; fail with KaTrain's log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"{what} did not happen; KaTrain printed:\n" + log.read_text(errors="replace")[-3000:])


def test_katrain_window_draws_our_policy(katrain_modules, display, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    script = "gopolicy-katago"  # the README's set-up: KaTrain finds the console script on PATH
    if shutil.which(script) is None:  # not installed as a package: a wrapper of our own
        script = home / "katago"
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gopolicy analysis --device cpu "$@"\n')
        script.chmod(0o755)
    sgf = home / "setup.sgf"
    sgf.write_text("(;GM[1]FF[4]SZ[19]KM[6.5]RU[Japanese]AB[pd][dp][pp]AW[dd][qj]PL[W])")  # SETUP
    log = tmp_path / "katrain.log"
    env = {name: value for name, value in os.environ.items() if not name.startswith("KIVY_")}
    env.update(HOME=str(home), KIVY_HOME=str(home / "kivy"), KIVY_NO_ARGS="1", DISPLAY=display)
    with open(log, "wb") as out:
        app = subprocess.Popen([sys.executable, "-m", "katrain", str(katrain_config(home, script)), str(sgf)],
                               env=env, cwd=home, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: "[done] KataGo analysis received" in log.read_text(errors="replace"),
                   "KaTrain receiving our analysis", log)
        time.sleep(2)  # one more frame
        plain = screenshot(display)
        grid = board_grid(plain)
        window = subprocess.run(["xdotool", "search", "--class", "."], env=env, capture_output=True,
                                text=True).stdout.split()
        assert window, "no KaTrain window"
        subprocess.run(["xdotool", "windowfocus", window[0]], env=env, check=True)
        subprocess.run(["xdotool", "key", "r"], env=env, check=True)  # KaTrain's "Policy Moves" key
        best = network_best_move()
        rows, cols = grid[0], grid[1]

        def policy_drawn():
            image = screenshot(display)
            ring = np.zeros(image.shape[:2], bool)
            ring[rows, cols] = image[rows, cols, 2] > image[rows, cols, 0] + 20  # KaTrain's cyan
            return (image, ring) if ring.sum() > 30 else None

        shown, ring = wait_until(policy_drawn, "the policy view", log, seconds=60)
        folder = artefact_dir(tmp_path)
        from PIL import Image

        Image.fromarray(plain.astype(np.uint8)).save(folder / "katrain-board.png")
        Image.fromarray(shown.astype(np.uint8)).save(folder / "katrain-policy.png")
        ys, xs = np.nonzero(ring)
        x, y = pixel_of(best, grid)
        assert abs(xs.mean() - x) < grid[4] / 3 and abs(ys.mean() - y) < grid[4] / 3, \
            f"KaTrain's best-move ring is not on {best}"
        occupied = {v for vs in SETUP.values() for v in vs}
        marked = {f"{c}{r}" for c in COLUMNS for r in range(1, 20) if changed(plain, shown, f"{c}{r}", grid)}
        assert not marked & occupied
        assert len(marked) >= 361 - len(occupied) - 5, f"only {len(marked)} points carry a policy circle"
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.wait(30)
