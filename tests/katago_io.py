"""A tiny network with clear preferences, and query/serve helpers, for the KataGo protocol tests.

Test modules import the fixtures `weights` and `policy` from here, and pytest finds them.
"""

import io
import json
from pathlib import Path

import numpy as np
import pytest

from gopolicy.engine.katago.server import AnalysisServer

# B F5 captures W E5 as its last move: E5 is then the ko point, white may not retake at once
KO = [["B", "D5"], ["W", "E5"], ["B", "E4"], ["W", "F4"], ["B", "E6"], ["W", "F6"],
      ["B", "Q16"], ["W", "G5"], ["B", "F5"]]


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    import torch

    from gopolicy.model import PolicyConfig, PolicyNet
    from gopolicy.weights import save_weights

    torch.manual_seed(11)
    model = PolicyNet(PolicyConfig(filters=8))
    with torch.no_grad():
        model.point_bias.normal_(0.0, 2.0)  # clear, distinct preferences
    return save_weights(tmp_path_factory.mktemp("w") / "tiny.safetensors", model,
                        {"provenance": {"trained": False}})


@pytest.fixture(scope="module")
def policy(weights):
    import torch

    from gopolicy.policy import Policy

    torch.set_num_threads(1)
    return Policy(weights, device="cpu")


def query(**fields) -> str:
    """Return one query line: a plain 19x19 query, with `fields` added or replaced (None drops one)."""
    base = {"id": "q", "moves": [["B", "Q16"], ["W", "D4"]], "rules": "japanese", "komi": 6.5,
            "boardXSize": 19, "boardYSize": 19}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None})


def serve(policy, lines=(), queued=(), **options) -> list[dict]:
    """Return the reply objects of a server fed `queued` lines before it starts, then `lines`."""
    out = io.StringIO()
    server = AnalysisServer(lambda: policy, io.StringIO("".join(f"{line}\n" for line in lines)), out, **options)
    for line in queued:
        server.handle_line(line)
    assert server.run() == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def results(replies) -> dict:
    """Return {(id, turnNumber): result} of the analysis results among replies."""
    return {(r["id"], r["turnNumber"]): r for r in replies if "moveInfos" in r}


def katago_grid(flat) -> np.ndarray:
    """Return KataGo's 361 top-row-first values as [row, col] with row 0 = GTP row 1."""
    return np.asarray(flat[:361], dtype=np.float64).reshape(19, 19)[::-1]
