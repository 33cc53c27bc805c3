"""GTP version 2 protocol rules (engine/gtp.py), in-process on io.StringIO and pipes.

The protocol engine knows nothing about Go: these tests drive it with a toy handler,
then throw malformed input at the full Go engine (a stand-in policy, real rules).
"""

import io
import os
import queue
import random
import re
import subprocess
import sys
import threading

import numpy as np
import pytest

from engine.gtp import GtpEngine, GtpError, Stream, gtp_command, parse, preprocess


class Toy:
    def cmd_echo(self, *words):
        return " ".join(words)

    def cmd_fail(self):
        raise GtpError("it failed")

    def cmd_crash(self):
        raise RuntimeError("boom")

    def cmd_two(self, a, b):
        return f"{b} {a}"

    def cmd_lines(self):
        return "first\n\n\nsecond\n"

    @gtp_command("toy-stream")
    def cmd_stream(self, *args):
        return Stream(iter(["tick"] * 1_000_000), interval=0.01)

    @gtp_command("toy-finite")
    def cmd_finite(self):
        return Stream(["one", "two", "play D4"], until_input=False)


def talk(text: str, handler=None) -> tuple[int, str]:
    """Run an engine over `text`; return (exit status, output)."""
    out = io.StringIO()
    engine = GtpEngine([handler or Toy()], input=io.StringIO(text), output=out, name="toy", version="1.0")
    return engine.run(), out.getvalue()


# (input line, expected reply) -- GTP 2 sections 2.5-2.12 and 3.1
CASES = [
    ("echo hi", "= hi\n\n"),
    ("7 echo hi", "=7 hi\n\n"),
    ("007 echo hi", "=7 hi\n\n"),
    ("echo\thi\tthere", "= hi there\n\n"),          # HT -> SPACE
    ("  echo    hi   ", "= hi\n\n"),                 # extra whitespace
    ("ec\x01h\x7fo hi\r", "= hi\n\n"),               # control characters removed
    ("echo hi # a comment", "= hi\n\n"),
    ("3 fail", "?3 it failed\n\n"),
    ("fail", "? it failed\n\n"),
    ("4 nosuch", "?4 unknown command\n\n"),
    ("ECHO hi", "? unknown command\n\n"),            # command names are case sensitive
    ("12", "?12 unknown command\n\n"),
    ("5 two x", "?5 syntax error\n\n"),              # wrong number of arguments
    ("two x y", "= y x\n\n"),
    ("6 crash", "?6 internal error: boom\n\n"),
    ("lines", "= first\nsecond\n\n"),                # no empty line inside a reply
    ("protocol_version", "= 2\n\n"),
    ("8 name", "=8 toy\n\n"),
    ("version", "= 1.0\n\n"),
    ("known_command echo", "= true\n\n"),
    ("known_command nosuch", "= false\n\n"),
    ("9 known_command", "?9 syntax error\n\n"),
    ("-1 echo", "? unknown command\n\n"),            # not an id: a (bad) command name
]


@pytest.mark.parametrize("line, reply", CASES)
def test_one_line(line, reply):
    status, out = talk(line + "\n")
    assert status == 0
    assert out == reply


@pytest.mark.parametrize("line", ["", "   ", "\t", "# just a comment", "\x01\x02", "  # x"])
def test_empty_lines_get_no_reply(line):
    assert talk(line + "\necho z\n") == (0, "= z\n\n")


def test_preprocess_and_parse_tables():
    assert preprocess(b"1 play b \xffd4\r\n") == "1 play b \ufffdd4"
    assert parse("10 play b d4") == (10, "play", ["b", "d4"])
    assert parse("play  b   d4") == (None, "play", ["b", "d4"])
    assert parse("٣ name") == (None, "٣", ["name"])  # only ASCII digits make an id


def test_list_commands_lists_every_handler_command():
    _, out = talk("list_commands\n")
    names = out[2:].split()
    for name in ("echo", "fail", "toy-stream", "toy-finite", "quit", "known_command", "protocol_version"):
        assert name in names


def test_quit_replies_then_stops_reading():
    assert talk("1 quit\necho after\n") == (0, "=1 \n\n")


def test_eof_without_quit_exits_cleanly():
    assert talk("echo a") == (0, "= a\n\n")  # last line without newline still counts
    assert talk("") == (0, "")


def test_stream_stops_at_next_command_which_is_then_answered():
    status, out = talk("5 toy-stream\n6 echo next\n")
    assert status == 0
    first, second, rest = out.split("\n\n")
    assert first.startswith("=5\ntick")
    assert set(first.split("\n")[1:]) == {"tick"}
    assert second == "=6 next"
    assert rest == ""


def test_finite_stream_runs_to_its_end():
    _, out = talk("toy-finite\necho x\n")
    assert out == "=\none\ntwo\nplay D4\n\n= x\n\n"


def test_execute_returns_one_reply():
    engine = GtpEngine([Toy()])
    assert engine.execute("3 echo a") == "=3 a\n\n"
    assert engine.execute("toy-stream").startswith("=\ntick\n")


class _Lines:
    """An output stream that hands each completed line to a queue."""

    def __init__(self):
        self.lines, self._buffer = queue.Queue(), ""

    def write(self, text):
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            self.lines.put(line)

    def flush(self):
        pass

    def get(self):
        return self.lines.get(timeout=30)


def test_stream_over_a_pipe_stops_when_the_next_command_arrives():
    read_fd, write_fd = os.pipe()
    out = _Lines()
    engine = GtpEngine([Toy()], input=os.fdopen(read_fd, "rb"), output=out)
    result = []
    thread = threading.Thread(target=lambda: result.append(engine.run()))
    thread.start()
    with os.fdopen(write_fd, "wb", buffering=0) as pipe:
        pipe.write(b"1 toy-stream\n")
        assert out.get() == "=1"
        assert [out.get() for _ in range(3)] == ["tick"] * 3  # still streaming: no input yet
        pipe.write(b"2 echo done\n")
        line = out.get()
        while line == "tick":
            line = out.get()
        assert line == ""  # the stream ended with the blank line ...
        assert out.get() == "=2 done"  # ... and the next command was answered
        assert out.get() == ""
    thread.join(30)
    assert result == [0]


# ---- malformed input against the whole Go engine ----------------------------------------

class UniformPolicy:
    """Stand-in network: uniform over legal moves (the protocol is under test, not the net)."""

    def evaluate(self, position):
        from gopolicy.policy import PolicyMap

        legal = position.legal_mask(position.to_play).astype(np.float32)
        return PolicyMap(legal / max(legal.sum(), 1.0), position.to_play, position.size)


COMMANDS = ["play", "genmove", "boardsize", "komi", "undo", "fixed_handicap", "set_free_handicap",
            "place_free_handicap", "loadsgf", "final_score", "time_settings", "time_left",
            "kgs-time_settings", "lz-analyze", "kata-analyze", "heatmap", "known_command",
            "showboard", "reg_genmove", "clear_board", "gopolicy-policy_gfx", "undo", "printsgf"]
JUNK = ["b", "w", "B", "white", "x", "D4", "d4", "i5", "T19", "Z99", "pass", "PASS", "0", "-1",
        "19", "7.5", "nan", "inf", "1e400", "9" * 40, "-" + "9" * 40, "ÿ", "\ufffd", "interval", "%c"]


def _random_line(rng: random.Random) -> bytes:
    kind = rng.randrange(6)
    if kind == 0:  # random bytes, invalid UTF-8 included
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))).replace(b"\n", b" ")
    if kind == 1:  # a command with junk arguments, maybe an id
        words = [rng.choice(COMMANDS)] + [rng.choice(JUNK) for _ in range(rng.randrange(4))]
        if rng.random() < 0.5:
            words.insert(0, str(rng.randrange(10**rng.randrange(1, 25))))
        return " ".join(words).encode()
    if kind == 2:  # a huge line
        piece = rng.choice([b"x", b"play b ", b"1 "])
        return piece * ((1 << 20) // len(piece))
    if kind == 3:  # a valid move
        return f"play {rng.choice('bw')} {rng.choice('ABCDEFGHJKLMNOPQRST')}{rng.randrange(1, 20)}".encode()
    if kind == 4:
        return rng.choice([b"genmove b", b"undo", b"\t\t# c", b"", b"\x00\x01\x02", b"\xc3\x28 name"])
    return " ".join(rng.choice(JUNK) for _ in range(rng.randrange(1, 5))).encode()


REPLY = re.compile(r"^([=?])(\d*)( .*)?$")


@pytest.mark.parametrize("seed", range(3))
def test_every_malformed_line_gets_exactly_one_well_formed_reply(seed):
    from engine.main import build_engine

    rng = random.Random(seed)
    lines = [_random_line(rng) for _ in range(150)]
    data = b"\n".join(lines) + b"\nname\n"
    out = io.StringIO()
    engine = build_engine(UniformPolicy(), input=io.BytesIO(data), output=out)
    assert engine.run() == 0
    replies = out.getvalue().split("\n\n")
    assert replies[-1] == ""
    replies = replies[:-1]
    expected = [parse(preprocess(line)) for line in lines if preprocess(line)]
    assert len(replies) == len(expected) + 1
    for (command_id, _, _), reply in zip(expected, replies):
        match = REPLY.match(reply.split("\n")[0])
        assert match, reply[:200]
        assert match.group(2) == ("" if command_id is None else str(command_id))
    assert replies[-1] == "= gopolicy"  # still up, still answering


def test_gtp_subprocess_exits_zero_on_eof_and_on_quit(tiny_weights):
    command = [sys.executable, "-m", "gopolicy", "gtp", "--weights", str(tiny_weights), "--device", "cpu"]
    done = subprocess.run(command, input=b"1 name\n2 protocol_version\n", capture_output=True, timeout=120)
    assert done.returncode == 0
    assert done.stdout == b"=1 gopolicy\n\n=2 2\n\n"
    done = subprocess.run(command, input=b"genmove b\nquit\nname\n", capture_output=True, timeout=120)
    assert done.returncode == 0
    move, quit_reply, rest = done.stdout.decode().split("\n\n")
    assert re.fullmatch(r"= [A-HJ-T]\d{1,2}", move)
    assert quit_reply == "= " and rest == ""
    # quit while the controller keeps stdin open (GUIs do): still a clean exit
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    process.stdin.write(b"7 name\n8 quit\n")
    process.stdin.flush()
    assert process.stdout.read() == b"=7 gopolicy\n\n=8 \n\n"
    assert process.wait(timeout=120) == 0
    process.stdin.close()
