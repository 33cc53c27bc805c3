"""KataGo's JSON analysis protocol served over a pair of streams: queries in, results out.

One JSON query per line on the input, one JSON result per line on the output, as in
KataGo's docs/Analysis_Engine.md, so KaTrain (and other KataGo clients) can show the
policy. Queries are checked by engine.katago.query and answered by engine.katago.results.

Actions: query_version (echo + version, git_hash), clear_cache (echo: nothing is cached),
terminate / terminate_all (turns still queued are answered {"noResults": true}; then the
echo). Bad lines get KataGo's error objects and the server goes on (a line over the limit
of engine.lines, 8 MiB, is discarded as it streams: {"error": "line too long: ..."}); it
ends at the end of input after answering what is queued (at once with quit_without_waiting).

Positions wait in a queue, highest `priority` first, and a worker thread evaluates up to
BATCH of them in one forward pass, so the turns of a game reviewed in KaTrain share batches.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
from typing import Callable

import gopolicy
from gopolicy.engine.katago.query import ACTIONS, QueryError, parse_line, parse_query
from gopolicy.engine.katago.results import analysis_result
from gopolicy.engine.lines import LineTooLong
from gopolicy.lazy_policy import NetworkUnavailable

BATCH = 32  # positions per forward pass
log = logging.getLogger(__name__)


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
            try:
                line = self.input.readline()
            except LineTooLong as error:  # discarded as it streamed; the next line reads normally
                self.write({"error": str(error)})
                continue
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
                if not isinstance(error, NetworkUnavailable):  # that one was said at start-up
                    log.error("analysis failed: %s", error)
                replies = [{"id": job[2].id, "turnNumber": job[3], "error": f"{error}"} for job in jobs]
            for reply in replies:
                self.write(reply)
