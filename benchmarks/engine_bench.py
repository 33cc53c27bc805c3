"""Engine speed: how long a GUI waits for the first reply and for a move.

measure() returns:

    first_reply_s        `gopolicy gtp` started as a subprocess until its reply to `name`
    genmove_ms           median `genmove` in-process, k=192, on positions of a real game, one symmetry
    genmove_ms_symmetries8  the same at the engine's default, the policy averaged over the 8 symmetries
    forward_ms_batch1    median bare batch-1 forward pass of the same network (planes -> logits)
    genmove_overhead_pct (genmove_ms / forward_ms_batch1 - 1) * 100: board, features, protocol

genmove and forward pass are timed over the first ROUNDS positions of a real KGS game
(each genmove is undone and the real move played).

A random k=192 network stands in for trained weights: speed does not depend on the values.
"""

import statistics
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

FILTERS = 192
KGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "kgs" / "KGS-2017_04-19-913-.tar.gz"
SMALL_GAME = Path(__file__).resolve().parents[1] / "tests" / "data" / "plain.sgf"
ROUNDS = 40


def _game():
    """Return the first even game of a real KGS archive, or a small test game without it."""
    from gopolicy.sgf_collections import read_collection
    from gopolicy.sgf_io import load_game

    if KGS.exists():
        return next(game for game in read_collection([KGS]) if game.handicap == 0)
    return load_game(SMALL_GAME)


def _random_weights(folder: Path) -> Path:
    import torch

    from gopolicy.model import PolicyConfig, PolicyNet
    from gopolicy.weights import save_weights

    torch.manual_seed(0)
    return save_weights(folder / "k192.safetensors", PolicyNet(PolicyConfig(filters=FILTERS)),
                        {"provenance": {"source": "benchmarks/engine_bench.py", "trained": False}})


def first_reply_seconds(weights: Path) -> float:
    """Return seconds from starting `gopolicy gtp` to the end of its reply to `name`."""
    start = time.perf_counter()
    engine = subprocess.Popen([sys.executable, "-m", "gopolicy", "gtp", "--weights", str(weights)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    engine.stdin.write("name\n")
    engine.stdin.flush()
    engine.stdout.readline()
    elapsed = time.perf_counter() - start
    engine.communicate("quit\n", timeout=60)
    return elapsed


def measure() -> dict:
    """Return the engine figures above."""
    from gopolicy.engine.gtp.command import build_engine
    from gopolicy.coords import format_vertex
    from gopolicy.features import encode
    from gopolicy.policy import Policy

    with tempfile.TemporaryDirectory() as tmp:
        weights = _random_weights(Path(tmp))
        first_reply = min(first_reply_seconds(weights) for _ in range(3))
        policy, policy8 = (Policy(weights, device="cpu", symmetries=n) for n in (1, 8))
        engines = {n: build_engine(p) for n, p in ((1, policy), (8, policy8))}
        genmove, forward = {1: [], 8: []}, []
        for p, engine in zip((policy, policy8), engines.values()):
            p.warm_up()
            engine.execute("clear_board")
        for position, move in islice(_game().positions(), ROUNDS):
            colour = "b" if position.to_play > 0 else "w"
            for n, engine in engines.items():  # interleaved, so both see the same machine
                start = time.perf_counter()
                engine.execute(f"genmove {colour}")
                genmove[n].append(time.perf_counter() - start)
                engine.execute("undo")
                engine.execute(f"play {colour} {format_vertex(move)}")
            planes = encode(position)[None]
            start = time.perf_counter()
            policy.logits(planes)  # the network alone, in the precision genmove uses
            forward.append(time.perf_counter() - start)
    genmove_ms, genmove8_ms = (statistics.median(genmove[n]) * 1e3 for n in (1, 8))
    forward_ms = statistics.median(forward) * 1e3
    return {"first_reply_s": first_reply, "genmove_ms": genmove_ms, "genmove_ms_symmetries8": genmove8_ms,
            "forward_ms_batch1": forward_ms, "genmove_overhead_pct": (genmove_ms / forward_ms - 1) * 100}


if __name__ == "__main__":
    print(measure())
