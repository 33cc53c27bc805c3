"""`gopolicy analysis`: KataGo's errors, warnings and actions, queue order and the end of
input, in-process on io streams, and once as the real command with KaTrain's command line.

Expected texts are those of KataGo's docs/Analysis_Engine.md and of its `analysis` command
(cpp/command/analysis.cpp).
"""

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gopolicy.engine.katago.command import add_arguments
from gopolicy.engine.katago.server import AnalysisServer
from katago_io import KO, policy, query, results, serve, weights  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[1]


# (fields of the query, field KataGo names, error text)
FIELD_ERRORS = [
    ({"boardXSize": None}, "boardXSize", "Must be 19"),
    ({"boardXSize": 13, "boardYSize": 13}, "boardXSize", "Must be 19"),
    ({"boardYSize": 9}, "boardYSize", "Must be 19"),
    ({"boardXSize": 19.0}, "boardXSize", "Must be 19"),
    ({"moves": None}, "moves", "Must specify an array of [player,location] pairs"),
    ({"moves": "D4"}, "moves", 'Must be an array of pairs of the form: ["b" or "w", GTP board vertex]'),
    ({"moves": [["B"]]}, "moves", "Must be an array of pairs"),
    ({"moves": [["X", "D4"]]}, "moves", "Could not parse player: X"),
    ({"moves": [["B", "Z99"]]}, "moves", "Could not parse board location: Z99"),
    ({"moves": [["B", "I5"]]}, "moves", "Could not parse board location: I5"),
    ({"moves": [["B", "(19,0)"]]}, "moves", "Could not parse board location: (19,0)"),
    ({"initialStones": [["B", "pass"]]}, "initialStones", "Could not parse board location: pass"),
    ({"initialPlayer": "x"}, "initialPlayer", 'Must be "b" or "w"'),
    ({"analyzeTurns": [3]}, "analyzeTurns", "Invalid turn number: 3"),
    ({"analyzeTurns": [-1]}, "analyzeTurns", "Invalid turn number: -1"),
    ({"analyzeTurns": "1"}, "analyzeTurns", "Must specify an array of integers indicating turns to analyze"),
    ({"rules": None}, "rules", 'Must specify rules string, such as "chinese"'),
    ({"rules": 3}, "rules", 'Must specify rules string, such as "chinese"'),
    ({"rules": "klingon"}, "rules", "Could not parse rules: klingon"),
    ({"rules": {"ko": "SOMETIMES"}}, "rules", "Could not parse rules:"),
    ({"komi": 151}, "komi", "Must be a integer or half-integer from -150.0 to 150.0"),
    ({"komi": "6.5"}, "komi", "Must be a integer or half-integer"),
    ({"komi": 6.3}, "rules", "Must be a integer or half-integer"),  # KataGo names rules here
    ({"overrideSettings": []}, "overrideSettings", "Must be an object"),
    ({"maxVisits": 0}, "maxVisits", "Must be an integer from 1 to 2^50"),
    ({"maxVisits": 2 ** 50 + 1}, "maxVisits", "Must be an integer from 1 to 2^50"),
    ({"maxVisits": "10"}, "maxVisits", "Must be an integer from 1 to 2^50"),
    ({"maxVisits": True}, "maxVisits", "Must be an integer from 1 to 2^50"),
    ({"includePolicy": "yes"}, "includePolicy", "Must be a boolean"),
    ({"priority": 2 ** 63}, "priority", "Must be a number between -2^62 and 2^62"),
    ({"avoidMoves": {}}, "avoidMoves", "Must be a list of dicts"),
    ({"avoidMoves": [{"player": "B", "moves": ["D4"]}]}, "avoidMoves", "Must be a list of dicts"),
    ({"avoidMoves": [], "allowMoves": []}, "allowMoves", "Cannot specify both allowMoves and avoidMoves"),
    ({"moves": [["B", "D4"], ["W", "D4"]]}, "moves", "Illegal move 1: D4"),
    ({"moves": [["B", "A2"], ["W", "pass"], ["B", "B1"], ["W", "A1"]]}, "moves", "Illegal move 3: A1"),
    ({"moves": KO + [["W", "E5"]]}, "moves", "Illegal move 9: E5"),  # the ko
]


@pytest.mark.parametrize("fields, field, text", FIELD_ERRORS)
def test_field_errors(policy, fields, field, text):
    replies = serve(policy, [query(id="bad", **fields), query(id="good")])
    assert replies[0]["id"] == "bad" and replies[0]["field"] == field
    assert replies[0]["error"].startswith(text), replies[0]["error"]
    assert set(results(replies)) == {("good", 2)}  # the engine goes on


@pytest.mark.parametrize("line, text", [
    ("garbage", "could not parse input line as json request: garbage"),
    ('{"id": "x", ', "could not parse input line as json request"),
    ("[1, 2]", "Request line was valid json but was not an object, ignoring: [1, 2]"),
    ('{"moves": []}', 'Request must have a string "id" field'),
    ('{"id": 5}', 'Request must have a string "id" field'),
    pytest.param("1" * 1_000_000, "could not parse input line as json request", id="million-digits"),
    pytest.param("[" * 100_000, "could not parse input line as json request", id="deep-nesting"),
    ('{"id": "x", "action": "launch"}', "'action' field must be 'query_version', 'clear_cache'"),
], ids=lambda value: value if isinstance(value, str) and len(value) < 40 else None)
def test_general_errors_and_the_engine_goes_on(policy, line, text):
    replies = serve(policy, [line, query(id="after")])
    assert set(replies[0]) == {"error"} and text in replies[0]["error"]
    assert len(replies[0]["error"]) < 1000
    assert set(results(replies)) == {("after", 2)}


def test_bytes_that_are_not_utf8_and_blank_lines(policy):
    lines = io.BytesIO(b"\xff\xfe{\n\n   \n" + query(id="after").encode() + b"\n")
    out = io.StringIO()
    assert AnalysisServer(lambda: policy, lines, out).run() == 0
    replies = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(replies) == 2 and "error" in replies[0] and set(results(replies)) == {("after", 2)}


@pytest.mark.parametrize("fields, field", [
    ({"rules": "tromp-taylor"}, "rules"),
    ({"rules": {"suicide": True, "ko": "POSITIONAL"}}, "rules"),
    ({"includeOwnership": True}, "includeOwnership"),
    ({"includeMovesOwnership": True}, "includeMovesOwnership"),
])
def test_warnings_come_first_and_the_query_proceeds(policy, fields, field):
    replies = serve(policy, [query(**fields)])
    assert replies[0]["id"] == "q" and replies[0]["field"] == field and "warning" in replies[0]
    assert set(results(replies)) == {("q", 2)}
    assert "ownership" not in replies[-1]


@pytest.mark.parametrize("rules", ["japanese", "Chinese", "korean", "aga", "new zealand", "stone_scoring",
                                   "chinese-ogs", '{"ko":"SIMPLE","scoring":"AREA","suicide":false}',
                                   {"scoring": "TERRITORY", "suicide": False, "komi": 6.5}])
def test_rules_katrain_sends_are_accepted(policy, rules):
    replies = serve(policy, [query(rules=rules, komi=None)])
    assert set(results(replies)) == {("q", 2)}
    assert not [r for r in replies if "error" in r]


def test_query_version_and_clear_cache_echo(policy):
    version = {"id": "v", "action": "query_version", "extra": [1]}
    clear = {"id": "c", "action": "clear_cache"}
    replies = serve(policy, [json.dumps(version), json.dumps(clear)])
    assert replies[0] == {**version, "version": "0.1.0", "git_hash": "<omitted>", "name": "gopolicy"}
    assert replies[1] == clear


def test_terminate_answers_queued_turns_with_no_results(policy):
    line = query(id="long", analyzeTurns=[0, 1, 2])
    stop = {"id": "stop", "action": "terminate", "terminateId": "long", "turnNumbers": [1, 2]}
    replies = serve(policy, queued=[line, json.dumps(stop)])
    assert replies[:3] == [
        {"id": "long", "turnNumber": 1, "isDuringSearch": False, "noResults": True},
        {"id": "long", "turnNumber": 2, "isDuringSearch": False, "noResults": True},
        stop,
    ]
    assert set(results(replies)) == {("long", 0)}


def test_terminate_all_and_unknown_ids(policy):
    stop_none = {"id": "s1", "action": "terminate", "terminateId": "nobody"}
    stop_all = {"id": "s2", "action": "terminate_all"}
    replies = serve(policy, queued=[query(id="a"), query(id="b"), json.dumps(stop_none), json.dumps(stop_all)])
    assert replies[0] == stop_none
    assert [(r["id"], r.get("noResults")) for r in replies[1:3]] == [("a", True), ("b", True)]
    assert replies[3] == stop_all and len(replies) == 4


@pytest.mark.parametrize("action, field", [
    ({"action": "terminate"}, "terminateId"),
    ({"action": "terminate", "terminateId": 3}, "terminateId"),
    ({"action": "terminate", "terminateId": "q", "turnNumbers": "1"}, "turnNumbers"),
    ({"action": "terminate_all", "turnNumbers": [True]}, "turnNumbers"),
])
def test_bad_terminate(policy, action, field):
    replies = serve(policy, [json.dumps({"id": "t", **action})])
    assert replies == [{"id": "t", "field": field, "error": replies[0]["error"]}]


def test_priority_orders_queued_turns(policy):
    queued = [query(id="low", priority=-5), query(id="mid"), query(id="high", priority=2 ** 40)]
    replies = serve(policy, queued=queued, batch=1)
    assert [r["id"] for r in replies] == ["high", "mid", "low"]


class EndOfInput:
    """An input at its end at once; `reached` is set when the server has read the end."""

    def __init__(self):
        import threading

        self.reached = threading.Event()

    def readline(self) -> str:
        self.reached.set()
        return ""


@pytest.mark.parametrize("quit_without_waiting, most, least", [(True, 1, 0), (False, 3, 3)])
def test_quit_without_waiting_drops_queued_queries(policy, quit_without_waiting, most, least):
    end = EndOfInput()

    def slow_policy():  # the worker holds at most one turn (batch=1) until the input has ended
        assert end.reached.wait(30)
        return policy

    out = io.StringIO()
    server = AnalysisServer(slow_policy, end, out, quit_without_waiting=quit_without_waiting, batch=1)
    for name in "abc":
        server.handle_line(query(id=name))
    assert server.run() == 0
    assert least <= len(results(json.loads(line) for line in out.getvalue().splitlines())) <= most


def test_a_network_that_cannot_load_is_reported_per_turn():
    def broken():
        raise RuntimeError("cannot load the network: no such file")

    out = io.StringIO()
    server = AnalysisServer(broken, io.StringIO(query(analyzeTurns=[0, 1]) + "\n"), out)
    assert server.run() == 0
    replies = [json.loads(line) for line in out.getvalue().splitlines()]
    assert sorted((r["id"], r["turnNumber"]) for r in replies) == [("q", 0), ("q", 1)]
    assert all("cannot load the network" in r["error"] for r in replies)


def test_katago_command_line_is_accepted():
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["analysis", "-model", "m.bin.gz", "-human-model", "h.bin.gz", "-config",
                              "a.cfg", "-override-config", "homeDataDir=/x", "-analysis-threads", "4",
                              "-quit-without-waiting", "--device", "cpu", "--symmetries", "2"])
    assert args.quit_without_waiting and args.device == "cpu" and args.symmetries == 2
    assert args.model == ["m.bin.gz"] and args.override_config == ["homeDataDir=/x"]


def test_the_real_command_with_katrains_arguments(weights, tmp_path):
    lines = [query(id="a", includePolicy=True, analyzeTurns=[0, 1, 2]), "not json",
             query(id="b", boardXSize=9, boardYSize=9), json.dumps({"id": "v", "action": "query_version"})]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "gopolicy", "analysis", "analysis", "-model", "kata.bin.gz", "-config",
         "analysis.cfg", "-override-config", f"homeDataDir={tmp_path}", "--weights", str(weights),
         "--device", "cpu"],
        input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    replies = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sorted(results(replies)) == [("a", 0), ("a", 1), ("a", 2)]
    assert all(len(r["policy"]) == 362 for r in results(replies).values())
    assert {"error"} <= set(replies[0]) or any(set(r) == {"error"} for r in replies)
    assert any(r.get("field") == "boardXSize" and r["id"] == "b" for r in replies)
    assert any(r.get("version") == "0.1.0" for r in replies)
    assert "ready to begin handling requests" in proc.stderr


@pytest.mark.skipif(shutil.which("gopolicy-katago") is None, reason="gopolicy is not installed as a package")
def test_gopolicy_katago_script_is_gopolicy_analysis(weights, tmp_path):
    proc = subprocess.run(
        ["gopolicy-katago", "analysis", "-model", "kata.bin.gz", "-config", "analysis.cfg",
         "--weights", str(weights), "--device", "cpu"],
        input=query(includePolicy=True) + "\n", capture_output=True, text=True, timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    replies = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(replies) == 1 and replies[0]["turnNumber"] == 2 and len(replies[0]["policy"]) == 362
