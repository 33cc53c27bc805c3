"""`gopolicy annotate`: write the network's policy into an SGF so any viewer shows it.

Each node of the main line gets, for the position after its move (the root: the
initial position), LB labels on the top moves (percentages such as "31%", or the
letters A-E with --labels letters) and a comment C listing the top-5 probabilities
and the rank and probability of the move actually played next. Sabaki and GoGui draw
LB labels and show C with no engine running. The rest of the SGF (properties,
variations, existing comments and labels on other points) is kept; sgfmill writes it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from gopolicy.review.game_policy import (ReviewError, Step, add_common_arguments, check_output, evaluate_game,
                                         load_policy, load_review_game, moves_text, percent, run_guarded)
from gopolicy.sgf_io import read_sgf_file

LETTERS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"


def labels_for(step: Step, style: str = "percent", top: int = 5) -> list[tuple[tuple[int, int], str]]:
    """Return the LB (point, text) pairs of the top moves of `step`, best first."""
    pairs = step.pmap.top(top)
    if style == "letters":
        return [(point, LETTERS[i]) for i, (point, _) in enumerate(pairs)]
    return [(point, percent(p)) for point, p in pairs]


def comment_for(step: Step, style: str = "percent", top: int = 5) -> str:
    """Return the comment text of `step`: the top moves with probabilities and the played move's rank."""
    from gopolicy.coords import format_vertex

    size = step.pmap.size
    who = "Black" if step.position.to_play > 0 else "White"
    lines = [f"Policy network, {who} to play (after {moves_text(step.number)}):"]
    for i, (point, p) in enumerate(step.pmap.top(top)):
        tag = LETTERS[i] if style == "letters" else str(i + 1)
        lines.append(f"{tag}. {format_vertex(point, size)} {p * 100:.1f}%")
    if not step.has_next:
        lines.append("End of the game.")
    elif step.played is None:
        lines.append("Played next: pass.")
    else:
        legal = int(np.count_nonzero(np.asarray(step.position.legal_mask())))
        lines.append(f"Played next: {format_vertex(step.played, size)}, rank {step.rank} of {legal} "
                     f"legal moves, {percent(step.prob)}.")
    return "\n".join(lines)


def summary_comment(steps: list[Step]) -> str:
    """Return the root's summary line: how often the played move was the network's first/top-5 choice."""
    ranks = [s.rank for s in steps if s.rank is not None]
    if not ranks:
        return "Policy network review: no moves on the board."
    top1 = sum(r == 1 for r in ranks) / len(ranks)
    top5 = sum(r <= 5 for r in ranks) / len(ranks)
    return (f"Policy network review of {len(ranks)} moves: first choice {top1:.1%}, "
            f"in the top 5 {top5:.1%}.")


def node_per_step(sgf_game, moves: int) -> list:
    """Return, for n = 0..moves, the main-line node showing the position after n moves.

    That is the root for n = 0 (None if the root itself holds a move) and the node of
    move n otherwise. Raises ReviewError if the main line does not hold `moves` moves.
    """
    sequence = sgf_game.get_main_sequence()
    nodes = [None if sequence[0].get_move()[0] is not None else sequence[0]]
    nodes += [node for node in sequence if node.get_move()[0] is not None]
    if len(nodes) != moves + 1:
        raise ReviewError(f"the SGF main line has {len(nodes) - 1} moves, the game {moves}")
    return nodes


def annotate(data: bytes, steps: list[Step], style: str = "percent", top: int = 5) -> bytes:
    """Return the SGF `data` with labels and comments of `steps` on its main line."""
    from sgfmill import sgf

    sgf_game = sgf.Sgf_game.from_bytes(data)
    nodes = node_per_step(sgf_game, len(steps) - 1)
    for node, step in zip(nodes, steps):
        if node is None:
            continue
        ours = labels_for(step, style, top)
        taken = {point for point, _ in ours}
        kept = [(p, t) for p, t in (node.get("LB") if node.has_property("LB") else []) if p not in taken]
        node.set("LB", kept + ours)
        node.add_comment_text(comment_for(step, style, top))
    root = sgf_game.get_root()
    root.add_comment_text(summary_comment(steps))
    return sgf_game.serialise()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the annotate options to `parser`."""
    add_common_arguments(parser)
    parser.add_argument("-o", "--output", metavar="OUT.sgf", required=True, help="the annotated SGF to write")
    parser.add_argument("--labels", choices=("percent", "letters"), default="percent",
                        help="label the top moves with percentages (default) or letters A-E")
    parser.add_argument("--top", type=int, default=5, metavar="K", help="label the K most probable moves")


def run(args) -> int:
    """Write the annotated SGF; return the exit status (1 with a one-line error)."""
    def body() -> int:
        out = check_output(args.output, (".sgf",))
        game = load_review_game(args.game)
        policy = load_policy(args.weights, args.device, args.symmetries)
        steps = evaluate_game(game, policy)
        Path(out).write_bytes(annotate(read_sgf_file(args.game), steps, args.labels, args.top))
        print(f"wrote {out} ({len(steps) - 1} moves annotated)", file=sys.stderr)
        return 0

    return run_guarded("annotate", body)
