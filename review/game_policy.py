"""What the network thinks of a game: one PolicyMap per position, plus the shared CLI glue.

The review tools (heatmap, review, annotate) all need the same thing: load an SGF,
refuse anything but a 19x19 game, run the network on the position after N moves (or
on every position of the game once, in batches) and note the rank and probability of
the move actually played next. `Step` holds that for one position. Step n is the
position after n moves, i.e. before move n+1 is played; step len(moves) is the final
position, which has no next move.

Errors the user can cause (bad SGF, wrong board size, a move number past the end, an
unwritable output, unusable weights) become `ReviewError`/`BadGame`/`OSError`/
`ValueError`; `run_guarded` turns them into one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from gopolicy.network_options import add_network_arguments

BOARD_SIZE = 19  # the network is trained on 19x19 only
BATCH = 32  # positions per network call: large enough to amortise, small enough for 2 cores


class ReviewError(Exception):
    """A problem with the user's request (move number, output path); str() says what."""


@dataclass(frozen=True)
class Step:
    """The network's view of one position of a game.

    number: moves played so far (0 = initial position); position: the Position;
    pmap: the network's PolicyMap; played: the point played next (None for a pass);
    has_next: False for the final position; rank: 1-based rank of the played point
    among all points (None for a pass or no next move); prob: its probability.
    """

    number: int
    position: object
    pmap: object
    played: tuple[int, int] | None
    has_next: bool
    rank: int | None
    prob: float | None


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the GAME argument and the network options shared by heatmap/review/annotate."""
    parser.add_argument("game", metavar="GAME.sgf", help="a 19x19 SGF game record")
    add_network_arguments(parser)


def load_review_game(path: str | Path):
    """Return the Game in the SGF file at `path`; raises BadGame (also for a file over the SGF
    size limit, a device or a FIFO), OSError, or ReviewError (missing, not 19x19)."""
    from gopolicy.sgf_io import load_game

    path = Path(path)
    if not path.exists():
        raise ReviewError(f"{path}: no such file")
    game = load_game(path)
    if game.size != BOARD_SIZE:
        raise ReviewError(f"{path}: board size {game.size}, the network plays only 19x19")
    return game


def load_policy(weights: str | Path | None, device: str = "auto", symmetries: int = 1):
    """Return a Policy for `weights` (None = default weights) averaging `symmetries` board
    symmetries; raises ReviewError if the file is absent."""
    from gopolicy.policy import Policy
    from gopolicy.weights import default_weights_path

    path = Path(weights) if weights is not None else default_weights_path()
    if not path.is_file():
        raise ReviewError(f"{path}: no such weights file")
    return Policy(path, device=device, symmetries=symmetries)


def check_output(path: str | Path, suffixes: tuple[str, ...]) -> Path:
    """Return `path` as a Path if it can be written with one of `suffixes`; raises ReviewError."""
    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        raise ReviewError(f"{path}: output must end in {' or '.join(suffixes)}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ReviewError(f"cannot write {path}: directory {parent} does not exist")
    if path.is_dir():
        raise ReviewError(f"cannot write {path}: it is a directory")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ReviewError(f"cannot write {path}: permission denied")
    return path


def percent(p: float) -> str:
    """Return a short percentage for labels and captions: "31%", "4.2%", "0.03%"."""
    if p >= 0.095:
        return f"{p * 100:.0f}%"
    return f"{p * 100:.1f}%" if p >= 0.00095 else f"{p * 100:.2f}%"


def moves_text(n: int) -> str:
    """Return "1 move" or "N moves"."""
    return f"{n} move" if n == 1 else f"{n} moves"


def rank_of(probs: np.ndarray, point: tuple[int, int] | None) -> int | None:
    """Return the 1-based rank of `point` in `probs` (1 + points strictly more probable); None for a pass."""
    if point is None:
        return None
    return 1 + int(np.count_nonzero(probs > probs[point]))


def make_step(number: int, position, pmap, played, has_next: bool) -> Step:
    """Return the Step for one evaluated position."""
    if has_next and played is not None:
        rank, prob = rank_of(pmap.probs, played), float(pmap.probs[played])
    else:
        rank, prob = None, None
    return Step(number, position, pmap, played, has_next, rank, prob)


def position_at(game, number: int):
    """Return (position after `number` moves, the next move or None, has_next); raises ReviewError."""
    total = len(game.moves)
    if number < 0 or number > total:
        raise ReviewError(f"move {number} is past the end of the game: it has {total} moves "
                          f"(use --move 0..{total})")
    if number == total:
        return game.final_position(), None, False
    for n, (position, move) in enumerate(game.positions()):
        if n == number:
            return position, move, True
    raise ReviewError(f"move {number}: the game could not be replayed that far")


def evaluate_step(game, policy, number: int) -> Step:
    """Return the Step of the position after `number` moves; raises ReviewError past the end."""
    position, move, has_next = position_at(game, number)
    return make_step(number, position, policy.evaluate(position), move, has_next)


def evaluate_game(game, policy, batch: int = BATCH) -> list[Step]:
    """Return one Step per position of the main line (len(moves) + 1 of them), in order."""
    items = [(pos, move, True) for pos, move in game.positions()]
    items.append((game.final_position(), None, False))
    steps: list[Step] = []
    for start in range(0, len(items), batch):
        chunk = items[start:start + batch]
        pmaps = policy.evaluate_batch([pos for pos, _, _ in chunk])
        for offset, ((pos, move, has_next), pmap) in enumerate(zip(chunk, pmaps)):
            steps.append(make_step(start + offset, pos, pmap, move, has_next))
    return steps


def run_guarded(command: str, body: Callable[[], int]) -> int:
    """Return body()'s status; user errors print `gopolicy COMMAND: error: ...` on stderr and return 1."""
    try:
        return body()
    except (ReviewError, OSError, ValueError) as exc:  # BadGame, WeightsError, IllegalMove are ValueErrors
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, OSError) and exc.filename is not None:
            message = f"{exc.filename}: {exc.strerror or message}"
        print(f"gopolicy {command}: error: {message}", file=sys.stderr)
        return 1
