"""`gopolicy review`: one self-contained HTML page stepping through a game with the heatmap.

The network evaluates every position of the game once (review.game_policy); the page
holds the results as inline JSON and draws them with its own small script
(review.page): board with the shaded policy, previous/next buttons and arrow keys, a
move slider, the top-5 list, the rank and probability of the move played, and a chart
of the probability given to every real move. No CDN, no network: it opens offline.

Per step the JSON holds (flat indices row * size + col, row 0 at the bottom):
    n: moves played so far; t: "B"/"W" to play; b: one char per point ".", "X", "O";
    last: last move index or -1; p: probability x 1e5 rounded per point, -1 where illegal;
    top: [[index, probability], ...] best first; mv: played index, -1 pass, null at the end;
    rank, prob: of the played move (null for a pass or at the end).
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from pathlib import Path

import numpy as np

from gopolicy.review.colours import VIRIDIS_ANCHORS
from gopolicy.review.game_policy import (Step, add_common_arguments, check_output, evaluate_game, load_policy,
                                         load_review_game, run_guarded)
from gopolicy.review.page import TEMPLATE

PROB_SCALE = 100_000  # heat values are stored as integers in units of 1e-5


def step_data(step: Step, top: int = 5) -> dict:
    """Return the JSON-ready dict of one step (see the module docstring for the keys)."""
    position, size = step.position, step.pmap.size
    stones = np.asarray(position.grid).ravel()
    legal = np.asarray(position.legal_mask(), dtype=bool).ravel()
    probs = np.asarray(step.pmap.probs, dtype=np.float64).ravel()
    heat = np.where(legal, np.rint(probs * PROB_SCALE), -1).astype(int)
    last = position.last_move
    if not step.has_next:
        played = None
    else:
        played = -1 if step.played is None else step.played[0] * size + step.played[1]
    return {
        "n": step.number,
        "t": "B" if position.to_play > 0 else "W",
        "b": "".join(".XO"[int(v)] for v in stones),  # -1 (white) indexes "O"
        "last": -1 if last is None else last[0] * size + last[1],
        "p": heat.tolist(),
        "top": [[r * size + c, round(float(p), 5)] for (r, c), p in step.pmap.top(top)],
        "mv": played,
        "rank": step.rank,
        "prob": None if step.prob is None else round(step.prob, 5),
    }


def _players(game) -> tuple[str, str]:
    """Return (title, subtitle) naming the players, ranks and result of `game`."""
    def who(name, rank, colour):
        name = name or colour
        return f"{name} ({rank})" if rank else name

    title = f"{who(game.black_player, game.black_rank, 'Black')} vs {who(game.white_player, game.white_rank, 'White')}"
    bits = [f"komi {game.komi:g}"]
    if game.handicap:
        bits.append(f"handicap {game.handicap}")
    if game.result:
        bits.append(f"result {game.result}")
    bits.append(f"source {Path(game.source).name}")
    return title, ", ".join(bits)


def build_page(game, steps: list[Step], network: str = "", top: int = 5) -> str:
    """Return the complete HTML text of the review page of `game` evaluated as `steps`."""
    from gopolicy.coords import COLUMNS

    title, subtitle = _players(game)
    if network:
        subtitle += f", network {network}"
    data = {
        "size": game.size,
        "columns": COLUMNS[:game.size],
        "viridis": list(VIRIDIS_ANCHORS),
        "title": title,
        "subtitle": subtitle,
        "steps": [step_data(s, top) for s in steps],
    }
    # "<" escaped as \u003c: no player name or comment can close the <script> element
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=True).replace("<", "\\u003c")
    page = TEMPLATE.replace("__TITLE__", html.escape(f"Policy review: {title}"))
    return page.replace("__DATA__", payload)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the review options to `parser`."""
    add_common_arguments(parser)
    parser.add_argument("-o", "--output", metavar="OUT.html", required=True,
                        help="the HTML file to write (self-contained: open it in any browser, offline)")


def run(args) -> int:
    """Write the review page; return the exit status (1 with a one-line error)."""
    def body() -> int:
        out = check_output(args.output, (".html", ".htm"))
        game = load_review_game(args.game)
        policy = load_policy(args.weights, args.device, args.symmetries)
        steps = evaluate_game(game, policy)
        network = Path(args.weights).name if args.weights else "default"
        out.write_text(build_page(game, steps, network), encoding="utf-8")
        print(f"wrote {out} ({len(steps) - 1} moves)", file=sys.stderr)
        return 0

    return run_guarded("review", body)
