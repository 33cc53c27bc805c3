"""`gopolicy gtp` driven by Sabaki's own GTP library (npm @sabaki/gtp) from node.

tests/js/sabaki_session.js talks to the engine exactly as Sabaki does (start-up
queries, sync by komi/boardsize/clear_board/play, undo, genmove, then `lz-analyze B 10`
parsed with Sabaki's parseAnalysis and stopped by `protocol_version`, and Lizzie-style
numbered `kata-analyze` stopped by `name`). Needs `npm install --prefix tests/js`;
skipped when node or node_modules is missing.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parent / "js"

pytestmark = [pytest.mark.gui, pytest.mark.skipif(
    shutil.which("node") is None or not (JS / "node_modules" / "@sabaki" / "gtp").is_dir(),
    reason="node or tests/js/node_modules missing (npm install --prefix tests/js)")]


def test_a_sabaki_conversation(tiny_weights):
    command = ["node", str(JS / "sabaki_session.js"), sys.executable, "-m", "gopolicy", "gtp",
               "--weights", str(tiny_weights), "--device", "cpu"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    log = json.loads(done.stdout)
    assert (log["name"], log["protocol_version"]) == ("gopolicy", "2")
    assert log["analyze_command"] in ("analyze", "kata-analyze", "lz-analyze")
    for key in ("komi", "boardsize", "clear_board", "play", "undo", "replay"):
        assert log[key]["error"] is False, key
    assert log["bad_play"] == {"id": None, "content": "illegal move", "error": True}
    assert re.fullmatch(r"[A-HJ-T]\d{1,2}", log["genmove"])

    analysis = log["analysis"]
    assert analysis["first_line"] == "=41" and analysis["id"] == 41 and not analysis["error"]
    moves = analysis["parsed"]
    assert moves and all(re.fullmatch(r"[A-HJ-T]\d{1,2}", m["move"]) for m in moves)
    assert all(m["winrate"] == 50 and m["pv"] == [m["move"]] for m in moves)
    visits = [m["visits"] for m in moves]
    assert visits == sorted(visits, reverse=True) and visits[0] >= 1
    assert "D4" not in [m["move"] for m in moves] and "Q16" not in [m["move"] for m in moves]
    # the stop command was answered normally, with its id
    assert log["after_stop"] == {"id": 42, "content": "2", "error": False}

    assert log["kata_first"]["winrate"] == 50
    assert log["after_kata"] == {"id": 51, "content": "gopolicy", "error": False}
    lines = log["genmove_analyze"]
    assert lines[0] == "=60" and lines[1].startswith("info move ") and lines[-1] == ""
    assert re.fullmatch(r"play [A-HJ-T]\d{1,2}", lines[-2])
    assert log["final"]["content"] == "gopolicy"
    assert log["exit"] == {"code": 0, "signal": None}  # quit with stdin still open
