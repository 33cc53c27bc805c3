"""Helpers of the GUI tests: where screenshots are kept, and a private virtual screen.

    artefact_dir(tmp_path)        $GOPOLICY_TEST_ARTIFACTS if set, else tmp_path/artefacts (created)
    xvfb_display(width, height)   context manager yielding ":N", a fresh Xvfb display
"""

import os
import subprocess
from contextlib import contextmanager
from pathlib import Path


def artefact_dir(tmp_path) -> Path:
    """Return the folder for screenshots, created if needed."""
    folder = os.environ.get("GOPOLICY_TEST_ARTIFACTS")
    path = Path(folder) if folder else Path(tmp_path) / "artefacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def xvfb_display(width: int, height: int):
    """Yield the name (":N") of a fresh Xvfb display on a free number; stop it afterwards."""
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        assert number.isdigit(), "Xvfb did not report a display"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(30)
