"""Lizzie 0.7.4 (Debian's liblizzie-java), the real jar under Xvfb, drives `gopolicy gtp --lizzie`.

Lizzie starts the engine from its config, checks `name` and `version` (Leelaz.java reads the
number after the first dot of the version's first word and wants 15 or more), then sends
`lz-analyze 10` by itself and draws the `info` lines as coloured circles on its board.
The test writes a temporary home with a config naming our engine (`print-comms` true puts
Lizzie's side of the GTP traffic on its stdout), clicks a move on the board with xdotool,
checks that the move and a new `lz-analyze` were sent, and reads the screenshot: the
circles stand exactly on the candidates our engine lists for that position, the most
probable one in Lizzie's best-move cyan. Lizzie does not log the `info` lines it reads, so
the screenshot is the evidence; it is kept under $GOPOLICY_TEST_ARTIFACTS when that is set,
otherwise under pytest's tmp_path. Skipped when java, the Lizzie jar, Xvfb or xdotool is
missing (`apt-get install liblizzie-java default-jre xvfb xdotool`).
"""

import json
import os
import re
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

LIZZIE_JAR = Path("/usr/share/java/lizzie.jar")
TOOLS = ("java", "Xvfb", "xdotool")
SCREEN = (1920, 1080)  # wide enough that the GTP console leaves the main window clear
BOARD_RGB = (217, 152, 77)  # Lizzie's plain board colour (ui.fancy-board false)
CLICKED = "Q16"
COLUMNS = "ABCDEFGHJKLMNOPQRST"
WAIT_S = 240  # java and the network start on a busy machine

pytestmark = [
    pytest.mark.gui,
    pytest.mark.skipif(not LIZZIE_JAR.is_file() or any(shutil.which(t) is None for t in TOOLS),
                       reason="needs java, Xvfb, xdotool and Debian's liblizzie-java"),
]



@pytest.fixture
def display():
    """Yield the name (":N") of a fresh Xvfb display on a free number."""
    with xvfb_display(*SCREEN) as name:
        yield name


class Transcript:
    """Lizzie's stdout, read by a thread; `wait` blocks until a line matches a pattern."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for raw in stream:
            with self._changed:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._changed.notify_all()

    def wait(self, pattern: str, after: int = 0, timeout: float = WAIT_S) -> tuple[int, re.Match]:
        """Return (line index, match) of the first line from index `after` matching
        `pattern`; fail the test after `timeout` seconds."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index in range(after, len(self.lines)):
                    match = regex.search(self.lines[index])
                    if match:
                        return index, match
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no line matching {pattern!r}; Lizzie printed:\n"
                                + "\n".join(self.lines[-40:]))
                self._changed.wait(left)


def screenshot(display: str) -> np.ndarray:
    """Return the whole X screen as uint8[height, width, 3]."""
    from PIL import ImageGrab

    return np.asarray(ImageGrab.grab(xdisplay=display).convert("RGB"))


def board_grid(image: np.ndarray) -> tuple[float, float, float]:
    """Return (x of column A, y of row 19, spacing) of the board in a Lizzie screenshot.

    The board is the largest area of BOARD_RGB; its grid lines are the dark columns and rows
    that cross most of it.
    """
    board = np.all(image == BOARD_RGB, axis=2)
    ys = np.flatnonzero(board.sum(axis=1) > 200)
    xs = np.flatnonzero(board.sum(axis=0) > 200)
    assert len(xs) and len(ys), "no board in the screenshot"
    region = image[ys[0]:ys[-1] + 1, xs[0]:xs[-1] + 1].astype(int)
    dark = region.sum(axis=2) < 150
    lines_x = xs[0] + np.flatnonzero(dark.mean(axis=0) > 0.5)
    lines_y = ys[0] + np.flatnonzero(dark.mean(axis=1) > 0.5)
    assert len(lines_x) and len(lines_y), "no grid lines on the board"
    spacing = (lines_x[-1] - lines_x[0]) / 18
    assert abs((lines_y[-1] - lines_y[0]) / 18 - spacing) < 1.5, "the grid is not 19x19"
    return float(lines_x[0]), float(lines_y[0]), spacing


def pixel_of(vertex: str, grid) -> tuple[int, int]:
    """Return the screen (x, y) of a vertex such as "Q16"."""
    x0, y0, spacing = grid
    column, row = COLUMNS.index(vertex[0]), int(vertex[1:])
    return round(x0 + column * spacing), round(y0 + (19 - row) * spacing)


def patch(image: np.ndarray, vertex: str, grid) -> np.ndarray:
    """Return the pixels around a vertex (a square of 0.6 spacing) as int[n, 3]."""
    x, y = pixel_of(vertex, grid)
    half = max(2, round(grid[2] * 0.3))
    return image[y - half:y + half + 1, x - half:x + half + 1].reshape(-1, 3).astype(int)


def is_marked(pixels: np.ndarray) -> bool:
    """True when most pixels are neither the bare board nor dark (a grid line, a stone, text)."""
    board = np.all(np.abs(pixels - BOARD_RGB) <= 12, axis=1)
    dark = pixels.sum(axis=1) < 150
    return bool(np.mean(~board & ~dark) > 0.4)


def marked_points(image: np.ndarray, grid) -> list[str]:
    """Return the empty-board vertices (other than CLICKED) that carry a candidate circle."""
    return [f"{c}{r}" for c in COLUMNS for r in range(1, 20)
            if f"{c}{r}" != CLICKED and is_marked(patch(image, f"{c}{r}", grid))]


def drawn(image: np.ndarray, grid, expected: list[str]) -> bool:
    """True once circles stand on our candidates only, on at least 10 of them (or all)."""
    marked = marked_points(image, grid)
    return set(marked) <= set(expected) and len(marked) >= min(10, len(expected))


def engine_candidates(move: str) -> list[str]:
    """Return the vertices of our own lz-analyze line after Black plays `move` (best first),
    from the shipped network in-process, as the engine Lizzie started computes them."""
    from gopolicy.engine.gtp.command import build_engine
    from gopolicy.policy import Policy

    engine = build_engine(Policy(device="cpu", symmetries=DEFAULT_SYMMETRIES), lizzie=True)
    assert engine.execute(f"play B {move}") == "= \n\n"
    reply = engine.execute("lz-analyze 0")
    return re.findall(r"info move (\S+)", reply)


def test_lizzie_draws_the_policy_after_a_move(display, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("PIL.ImageGrab")
    home = tmp_path / "home"
    config = home / ".config" / "leela-zero" / "lizzie-config.txt"
    config.parent.mkdir(parents=True)
    # Lizzie merges its defaults into a partial config; plain board and stones for the pixels
    config.write_text(json.dumps({
        "leelaz": {"engine-command": f"{sys.executable} -m gopolicy gtp --lizzie --device cpu",
                   "print-comms": True},
        "ui": {"fancy-board": False, "fancy-stones": False, "confirm-exit": False},
    }))
    env = dict(os.environ, HOME=str(home), DISPLAY=display)
    lizzie = subprocess.Popen(["java", f"-Duser.home={home}", "-jar", str(LIZZIE_JAR)],
                              cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    out = Transcript(lizzie.stdout)
    folder = artefact_dir(tmp_path)
    try:
        # start-up: name, version (no "requires version 0.15" dialog), then analysis by itself
        _, version = out.wait(r"^=2 (\S+)")
        assert int(version.group(1).split(".")[1]) >= 15
        start, analyze = out.wait(r"^> (\d+) lz-analyze \d+")
        out.wait(rf"^={analyze.group(1)}$", after=start)
        time.sleep(3)
        before = screenshot(display)
        grid = board_grid(before)

        x, y = pixel_of(CLICKED, grid)
        subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "1"], env=env, check=True)
        subprocess.run(["xdotool", "mousemove", "2", "2"], env=env, check=True)  # no hover preview
        played, _ = out.wait(rf"^> \d+ play B {CLICKED}$", after=start)
        again, analyze = out.wait(r"^> (\d+) lz-analyze \d+", after=played)
        out.wait(rf"^={analyze.group(1)}$", after=again)
        expected = engine_candidates(CLICKED)
        after = screenshot(display)
        deadline = time.monotonic() + 60  # until Lizzie has drawn the new candidates
        while not drawn(after, grid, expected) and time.monotonic() < deadline:
            time.sleep(0.5)
            after = screenshot(display)
    finally:
        from PIL import Image

        last = screenshot(display)
        Image.fromarray(last).save(folder / "lizzie.png")
        os.killpg(lizzie.pid, signal.SIGTERM)
        lizzie.wait(30)
    Image.fromarray(before).save(folder / "lizzie-empty-board.png")

    assert board_grid(after) == grid
    stone = patch(after, CLICKED, grid)
    assert np.mean(stone.sum(axis=1) < 150) > 0.5, "no black stone where we clicked"
    marked = marked_points(after, grid)
    assert expected and len(expected) >= 5
    assert set(marked) <= set(expected), f"circles off our candidates: {set(marked) - set(expected)}"
    assert len(marked) >= min(10, len(expected)), (marked, expected)
    print(f"Lizzie drew {len(marked)} of our {len(expected)} candidates: {' '.join(marked)}")
    best = patch(after, expected[0], grid)
    r, g, b = np.median(best[~np.all(np.abs(best - BOARD_RGB) <= 12, axis=1)], axis=0)
    assert g > 150 and b > 150 and r < 100, f"best move {expected[0]} not cyan: {(r, g, b)}"
