"""Feature speed: `features.encode` (all 48 planes, ladders included) on real KGS positions.

`measure() -> {"features_positions_per_s": float}`: games are read and their positions
built first (untimed), every position is encoded once untimed (JIT warm-up), then only
`encode` is timed, on one core: the kernels have no parallel loops and torch is not
imported. Run as a script for a breakdown (ladder searches per position).
"""

import time
from pathlib import Path

KGS_DIR = Path(__file__).resolve().parents[2] / "shared/data/kgs"
GAMES = 60
EVERY = 3      # take every 3rd position of a game: openings to endgames alike
ROUNDS = 3


def _positions(games=GAMES, every=EVERY):
    """Return Positions from the first `games` 19x19 KGS games; RuntimeError if there are none."""
    from gopolicy.sgf_collections import read_collection

    positions = []
    count = 0
    for game in read_collection(sorted(KGS_DIR.glob("*.tar.gz"))):
        for i, (position, _) in enumerate(game.positions()):
            if i % every == 0:
                positions.append(position)
        count += 1
        if count >= games:
            break
    if not positions:
        raise RuntimeError(f"no KGS games found in {KGS_DIR}")
    return positions


def measure() -> dict:
    """Return {"features_positions_per_s": best of ROUNDS timed passes over the positions}."""
    from gopolicy.features import encode

    positions = _positions()
    for position in positions:
        encode(position)
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for position in positions:
            encode(position)
        best = min(best, time.perf_counter() - start)
    return {"features_positions_per_s": len(positions) / best}


def _breakdown() -> None:
    """Print the rate and how much of it the ladder searches and the Python call take."""
    import numpy as np

    from gopolicy import features

    positions = _positions()
    features.encode(positions[0])  # compiles quietly
    out = np.zeros((features.NUM_PLANES, 361), np.uint8)
    searches = [features._encode_into(p, out) for p in positions]
    print(f"{len(positions)} positions, ladder searches per position: "
          f"mean {np.mean(searches):.1f}, max {max(searches)}")
    print(measure())


if __name__ == "__main__":
    _breakdown()
