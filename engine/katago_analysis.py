"""`gopolicy analysis`: KataGo's JSON analysis protocol, answered by the policy network alone.

One JSON query per line on stdin, one JSON result per line on stdout, as in KataGo's
docs/Analysis_Engine.md, so KaTrain (and other KataGo clients) can show the policy.
Queries are checked by engine.katago_query; this module answers them:

| result field | here                                                                        |
| ------------ | --------------------------------------------------------------------------- |
| id, turnNumber, isDuringSearch | the query's id, the turn, always false (one final result per turn) |
| rootInfo     | currentPlayer "B"/"W", visits = maxVisits, winrate 0.5, scoreLead 0 (and KataGo's other value fields at their neutral values), valuesEstimated false: there is no value network |
| moveInfos    | the moves the prior gives at least one visit when maxVisits are shared out in proportion to it (largest remainders), most probable first: move, order, prior, visits, pv [move], winrate 0.5, scoreLead 0 ... |
| policy       | with includePolicy: 362 floats, row by row from the top (A19 first), pass last; -1 on illegal points. The network has no pass output: pass is 0, or 1 when no point is legal |

Actions: query_version (echo + version, git_hash), clear_cache (echo: nothing is cached),
terminate / terminate_all (turns still queued are answered {"noResults": true}; then the
echo). Bad lines get KataGo's error objects and the engine goes on; it ends at the end of
input after answering what is queued (at once with -quit-without-waiting).

Positions wait in a queue, highest `priority` first, and a worker thread evaluates up to
BATCH of them in one forward pass, so the turns of a game reviewed in KaTrain share batches.
"""

from __future__ import annotations

import argparse
import heapq
import io
import itertools
import json
import logging
import sys
import threading
from pathlib import Path
from typing import Callable

import numpy as np

import gopolicy
from gopolicy.engine.katago_query import ACTIONS, QueryError, Request, parse_line, parse_query
from gopolicy.board import BLACK
from gopolicy.coords import format_vertex

BATCH = 32  # positions per forward pass
log = logging.getLogger(__name__)
NEUTRAL = {"winrate": 0.5, "scoreLead": 0.0, "scoreMean": 0.0, "scoreSelfplay": 0.0,
           "scoreStdev": 0.0, "utility": 0.0, "lcb": 0.5, "utilityLcb": 0.0}


def _round(values: np.ndarray) -> list[float]:
    """Return the values as floats with 6 significant digits (short JSON, float32's precision)."""
    return [float(f"{v:.6g}") for v in values.tolist()]


def policy_array(probs: np.ndarray, legal: np.ndarray) -> list[float]:
    """Return KataGo's policy list for probs/legal [row, col] (row 0 = GTP row 1): size*size + 1
    floats, top row first, -1 on illegal points, then the pass (0, or 1 if nothing is legal)."""
    flat = np.where(legal, probs, -1.0)[::-1].ravel()
    return _round(np.append(flat, 0.0 if legal.any() else 1.0))


def share_visits(priors: np.ndarray, total: int) -> np.ndarray:
    """Return int64 visits summing to `total`, in proportion to `priors` (largest remainders,
    ties to the earlier entry); all 0 if the priors sum to 0."""
    mass = priors.sum()
    if mass <= 0:
        return np.zeros(len(priors), np.int64)
    exact = priors / mass * total
    visits = np.floor(exact).astype(np.int64)
    left = total - int(visits.sum())
    if left > 0:
        visits[np.argsort(-(exact - visits), kind="stable")[:left]] += 1
    return visits


def move_infos(probs: np.ndarray, legal: np.ndarray, keep: np.ndarray, max_visits: int) -> list[dict]:
    """Return KataGo moveInfos for the legal `keep` points (bool [row, col]) given at least one
    of `max_visits` visits by their prior, most probable first; pass only when nothing is legal."""
    size = probs.shape[0]
    flat = np.where(legal & keep, probs, 0.0).ravel().astype(np.float64)
    order = np.argsort(-flat, kind="stable")
    order = order[flat[order] > 0]
    moves = [format_vertex(divmod(int(i), size), size) for i in order]
    priors = flat[order]
    if not legal.any():  # nothing to play: the pass takes it all
        moves, priors = ["pass"], np.ones(1)
    visits = share_visits(priors, max_visits)
    return [{"move": move, "order": rank, "prior": float(f"{prior:.6g}"), "visits": int(n),
             "pv": [move], **NEUTRAL}
            for rank, (move, prior, n) in enumerate(zip(moves, priors, visits)) if n > 0]


def _points_mask(points, shape) -> np.ndarray:
    """Return bool `shape`, True on the (row, col) points of `points` (None, the pass, left out)."""
    mask = np.zeros(shape, bool)
    for point in points - {None}:
        mask[point] = True
    return mask


def analysis_result(request: Request, turn: int, position, probs: np.ndarray) -> dict:
    """Return the KataGo result object of one turn of `request` from its move probabilities."""
    legal = position.legal_mask(position.to_play)
    keep = np.ones_like(legal)
    allowed = request.allow.get(position.to_play)
    if allowed is not None:
        keep = _points_mask(allowed, legal.shape)
    avoided = request.avoid.get(position.to_play)
    if avoided is not None:
        keep &= ~_points_mask(avoided, legal.shape)
    result = {
        "id": request.id, "turnNumber": turn, "isDuringSearch": False,
        "moveInfos": move_infos(probs, legal, keep, request.max_visits),
        "rootInfo": {"currentPlayer": "B" if position.to_play == BLACK else "W",
                     "visits": request.max_visits, **NEUTRAL, "valuesEstimated": False},
    }
    if request.include_policy:
        result["policy"] = policy_array(probs, legal)
    return result


class AnalysisServer:
    """Reads queries from `input` (readline() -> str or bytes, "" at the end) and writes results
    to `output` (text, one JSON object a line). `get_policy()` returns the Policy (it may block
    while the network loads, and raise if it cannot load)."""

    def __init__(self, get_policy: Callable, input, output, quit_without_waiting: bool = False,
                 batch: int = BATCH):
        self.get_policy = get_policy
        self.input = input
        self.output = output
        self.quit_without_waiting = quit_without_waiting
        self.batch = batch
        self._queue: list = []  # heap of (-priority, arrival, request, turn, position)
        self._arrivals = itertools.count()
        self._cond = threading.Condition()
        self._closing = False
        self._write_lock = threading.Lock()

    def write(self, reply: dict) -> None:
        """Write one reply line and flush (thread-safe)."""
        line = json.dumps(reply, separators=(",", ":"))
        with self._write_lock:
            self.output.write(line + "\n")
            self.output.flush()

    def run(self) -> int:
        """Answer queries until the end of input, then finish the queue; return 0."""
        worker = threading.Thread(target=self._work, name="analysis-worker", daemon=True)
        worker.start()
        while True:
            line = self.input.readline()
            if not line:
                break
            if isinstance(line, bytes):
                line = line.decode("utf-8", errors="replace")
            self.handle_line(line)
        with self._cond:
            if self.quit_without_waiting:
                self._queue.clear()
            self._closing = True
            self._cond.notify_all()
        worker.join()
        return 0

    def handle_line(self, line: str) -> None:
        """Queue the turns of one query line, or answer it at once (action, error, blank)."""
        line = line.strip()
        if not line:
            return
        try:
            query = parse_line(line)
            if "action" in query and isinstance(query["action"], str):
                self._action(query)
                return
            request = parse_query(query)
        except QueryError as error:
            self.write(error.reply())
            return
        except Exception as error:  # noqa: BLE001 - no line may stop the engine
            log.exception("unexpected error on a query")
            self.write({"error": f"internal error: {type(error).__name__}: {error}"})
            return
        for warning in request.warnings:
            self.write(warning)
        with self._cond:
            for turn, position in request.turns:
                heapq.heappush(self._queue, (-request.priority, next(self._arrivals), request, turn, position))
            self._cond.notify()

    def _action(self, query: dict) -> None:
        """Answer query_version, clear_cache, terminate or terminate_all; QueryError if bad."""
        action, qid = query["action"], query["id"]
        if action not in ACTIONS:
            raise QueryError("'action' field must be 'query_version', 'clear_cache', 'terminate' or 'terminate_all'")
        if action == "query_version":
            self.write({**query, "version": gopolicy.__version__, "git_hash": "<omitted>", "name": "gopolicy"})
            return
        if action == "clear_cache":
            self.write(query)
            return
        target = None
        if action == "terminate":
            target = query.get("terminateId")
            if not isinstance(target, str):
                raise QueryError('Requests for a terminate action must have a string "terminateId" field',
                                 "terminateId", qid)
        turns = query.get("turnNumbers")
        if turns is not None and not (isinstance(turns, list) and all(
                isinstance(t, int) and not isinstance(t, bool) for t in turns)):
            raise QueryError("If provided, must be an array of integers indicating turns to terminate",
                             "turnNumbers", qid)
        with self._cond:
            stopped = [job for job in self._queue if (target is None or job[2].id == target)
                       and (turns is None or job[3] in turns)]
            gone = {job[1] for job in stopped}
            self._queue = [job for job in self._queue if job[1] not in gone]
            heapq.heapify(self._queue)
        for job in sorted(stopped, key=lambda job: job[1]):
            self.write({"id": job[2].id, "turnNumber": job[3], "isDuringSearch": False, "noResults": True})
        self.write(query)

    def _next_batch(self) -> list:
        """Return up to `batch` queued jobs, highest priority first; [] once closing and empty."""
        with self._cond:
            while not self._queue and not self._closing:
                self._cond.wait()
            return [heapq.heappop(self._queue) for _ in range(min(self.batch, len(self._queue)))]

    def _work(self) -> None:
        """Evaluate queued positions in batches and write their results until closed."""
        while True:
            jobs = self._next_batch()
            if not jobs:
                return
            try:
                maps = self.get_policy().evaluate_batch([job[4] for job in jobs])
                replies = [analysis_result(job[2], job[3], job[4], pmap.probs) for job, pmap in zip(jobs, maps)]
            except Exception as error:  # noqa: BLE001 - reported to each query, the engine goes on
                log.error("analysis failed: %s", error)
                replies = [{"id": job[2].id, "turnNumber": job[3], "error": f"{error}"} for job in jobs]
            for reply in replies:
                self.write(reply)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `gopolicy analysis`, and KataGo's, which are accepted and ignored."""
    parser.add_argument("mode", nargs="?", choices=["analysis"],
                        help="KataGo's subcommand word, as KaTrain puts it (ignored)")
    parser.add_argument("--weights", type=Path, default=None,
                        help="weights file (default: weights/default.safetensors)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    parser.add_argument("--symmetries", type=int, default=1,
                        help="average the policy over this many board symmetries, 1-8 (default 1)")
    katago = parser.add_argument_group("KataGo's flags (accepted, ignored unless noted)")
    for flag in ("-model", "-human-model", "-config", "-override-config"):
        katago.add_argument(flag, action="append", metavar="VALUE", default=[])
    katago.add_argument("-analysis-threads", metavar="THREADS")
    katago.add_argument("-quit-without-waiting", action="store_true",
                        help="at the end of input, drop queued queries instead of answering them")


def run(args) -> int:
    """Serve KataGo's analysis protocol on stdin/stdout until the end of input; return the exit status."""
    from gopolicy.engine.player import LazyPolicy

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="gopolicy: %(message)s")
    if args.weights is not None and not args.weights.is_file():
        print(f"gopolicy analysis: no weights file {args.weights}", file=sys.stderr)
        return 2
    if not 1 <= args.symmetries <= 8:
        print("gopolicy analysis: --symmetries must be 1..8", file=sys.stderr)
        return 2
    output = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
    sys.stdout = sys.stderr  # a stray print() must never corrupt the protocol
    policy = LazyPolicy(args.weights, args.device, args.symmetries)
    print("gopolicy analysis: policy network only (no search, no value, no ownership); "
          "ready to begin handling requests", file=sys.stderr, flush=True)
    server = AnalysisServer(policy.get, sys.stdin.buffer, output,
                            quit_without_waiting=args.quit_without_waiting)
    return server.run()


def katago_main() -> int:
    """The `gopolicy-katago` command: `gopolicy analysis` with its arguments, for KaTrain's
    "KataGo executable" setting (KaTrain runs `<exe> analysis -model M -config C ...`)."""
    from gopolicy.cli import main

    return main(["analysis", *sys.argv[1:]])
