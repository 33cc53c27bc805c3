"""GTP version 2 protocol rules (engine/gtp/protocol.py), in-process on io.StringIO and pipes.

The protocol engine knows nothing about Go: these tests drive it with a toy handler,
then throw malformed input at the full Go engine (a stand-in policy, real rules).
"""

import io
import math
import os
import queue
import random
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from gopolicy.engine.gtp.protocol import GtpEngine, GtpError, Stream, gtp_command, parse, preprocess


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
    assert parse("10 play b d4") == ("10", "play", ["b", "d4"])
    assert parse("play  b   d4") == (None, "play", ["b", "d4"])
    assert parse("٣ name") == (None, "٣", ["name"])  # only ASCII digits make an id
    assert parse("007 name") == ("7", "name", []) and parse("000") == ("0", "", [])
    million = "9" * 1_000_000  # past Python's 4300-digit int conversion limit
    assert parse(f"{million} name") == (million, "name", [])


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
        "19", "7.5", "nan", "inf", "1e400", "9" * 40, "-" + "9" * 40, "ÿ", "\ufffd", "interval", "%c",
        "9" * 5000, "-" + "9" * 5000]


def _random_line(rng: random.Random) -> bytes:
    kind = rng.randrange(7)
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
    if kind == 5:  # an id of thousands or a million digits, then a command
        return (rng.choice("123456789") * rng.choice([5000, 1_000_000]) + " "
                + rng.choice(COMMANDS + ["name"]) + " " + rng.choice(JUNK)).encode()
    return " ".join(rng.choice(JUNK) for _ in range(rng.randrange(1, 5))).encode()


REPLY = re.compile(r"^([=?])(\d*)( .*)?$")


@pytest.mark.parametrize("seed", range(3))
def test_every_malformed_line_gets_exactly_one_well_formed_reply(seed, tmp_path, monkeypatch):
    from gopolicy.engine.gtp.command import build_engine

    monkeypatch.chdir(tmp_path)  # `printsgf <junk>` writes files: not into the repository

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


# ---- no line can end the engine: every stage that can raise, then the whole Go engine ----

class BadText:
    """An object whose text cannot be made."""

    def __str__(self):
        raise RuntimeError("no text")


class Fragile(Toy):
    def cmd_badreply(self):
        return BadText()

    def cmd_badgtperror(self):
        raise GtpError(BadText())  # fails again while the `?` reply is being formatted

    @gtp_command("toy-badstream")
    def cmd_badstream(self):
        def lines():
            yield "first"
            raise RuntimeError("stream broke")

        return Stream(lines(), until_input=False)


class FlakyInput:
    """Input lines, with an exception raised instead of the lines that are exceptions."""

    def __init__(self, items):
        self.items = list(items)

    def readline(self):
        if not self.items:
            return ""
        item = self.items.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


def _internal(reply: str, command_id: str = "") -> bool:
    return reply.startswith(f"?{command_id} internal error: ")


def test_failures_in_handlers_and_formatting_are_one_reply_each():
    status, out = talk("1 badreply\n2 badgtperror\n3 toy-badstream\n4 echo on\n", Fragile())
    assert status == 0
    replies = out.split("\n\n")
    assert _internal(replies[0], "1") and replies[0].endswith("no text")
    assert _internal(replies[1], "2")
    assert replies[2] == "=3\nfirst"  # the '=' was out: the reply ends, the engine goes on
    assert replies[3:] == ["=4 on", ""]


@pytest.mark.parametrize("stage", ["preprocess", "parse", "_clean_body"])
def test_failures_while_preprocessing_parsing_and_formatting(stage, monkeypatch):
    import gopolicy.engine.gtp.protocol as gtp

    real = getattr(gtp, stage)

    def failing(text, *rest):
        if "kaboom" in str(text):
            raise RuntimeError(f"{stage} failed")
        return real(text, *rest)

    monkeypatch.setattr(gtp, stage, failing)
    status, out = talk("5 echo kaboom\n6 echo fine\n")
    first, second, rest = out.split("\n\n")
    assert status == 0 and rest == ""
    # the id is echoed when it was read before the failure
    assert _internal(first, "" if stage in ("preprocess", "parse") else "5")
    assert first.endswith(f"{stage} failed")
    assert second == "=6 fine"


def test_lines_that_cannot_be_read_get_a_reply_and_reading_goes_on():
    bad = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    out = io.StringIO()
    engine = GtpEngine([Toy()], input=FlakyInput(["1 echo a\n", bad, RuntimeError("odd"), "2 echo b\n"]),
                       output=out)
    assert engine.run() == 0
    replies = out.getvalue().split("\n\n")
    assert replies[0] == "=1 a"
    assert _internal(replies[1]) and "cannot read the line" in replies[1]
    assert _internal(replies[2]) and replies[2].endswith("odd")
    assert replies[3:] == ["=2 b", ""]


def test_an_input_that_never_reads_again_ends_the_conversation():
    from gopolicy.engine.gtp.protocol import _MAX_READ_FAILURES

    out = io.StringIO()
    engine = GtpEngine([Toy()], input=FlakyInput([RuntimeError("gone")] * 1000), output=out)
    assert engine.run() == 0  # and does not hang
    replies = out.getvalue().split("\n\n")
    assert len(replies) == _MAX_READ_FAILURES + 1 and all(map(_internal, replies[:-1]))


def test_a_closed_output_ends_the_engine():
    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError("reader went away")

    engine = GtpEngine([Toy()], input=io.StringIO("echo a\necho b\n"), output=Closed())
    assert engine.run() == 0


@pytest.fixture
def go_engine():
    """Return send(line) -> reply text (the blank line cut) of the whole Go engine in-process."""
    from gopolicy.engine.gtp.command import build_engine

    engine = build_engine(UniformPolicy())

    def send(line: str) -> str:
        reply = engine.execute(line)
        assert reply.endswith("\n\n") and reply.count("\n\n") == 1, reply[:200]
        return reply[:-2]

    return send


@pytest.mark.parametrize("digits", [5000, 1_000_000])
def test_ids_of_thousands_and_a_million_digits_are_echoed(digits):
    from gopolicy.engine.gtp.command import build_engine

    big = "9" * digits
    lines = [f"{big} name", f"{'0' * digits}5 name", big, f"1 {big}", f"{big} play b {big}",
             f"{big} komi {big}", f"{big} lz-analyze b {big}", "2 name"]
    out = io.StringIO()
    engine = build_engine(UniformPolicy(), input=io.StringIO("\n".join(lines) + "\n"), output=out)
    assert engine.run() == 0
    assert out.getvalue().split("\n\n") == [
        f"={big} gopolicy", "=5 gopolicy", f"?{big} unknown command", "?1 unknown command",
        f"?{big} invalid coordinate", f"?{big} syntax error", f"?{big} syntax error",
        "=2 gopolicy", ""]


# every numeric argument of every command, each in turn: {} is the number under test
NUMERIC_ARGUMENTS = [
    "boardsize {}", "komi {}", "fixed_handicap {}", "place_free_handicap {}", "loadsgf {sgf} {}",
    "time_settings {} 10 1", "time_settings 10 {} 1", "time_settings 10 10 {}",
    "time_left b {} 0", "time_left b 10 {}", "kgs-time_settings absolute {}",
    "kgs-time_settings byoyomi {} 10 1", "kgs-time_settings byoyomi 10 {} 1",
    "kgs-time_settings byoyomi 10 10 {}", "kgs-time_settings canadian 10 10 {}",
    "lz-analyze {}", "lz-analyze b {}", "lz-analyze b interval {}", "lz-analyze b 10 minmoves {}",
    "lz-analyze b 10 maxmoves {}", "kata-analyze {}", "kata-analyze w interval {}",
    "kata-analyze b 10 pvVisits {}", "analyze b {}", "genmove_analyze b {}",
    "lz-genmove_analyze b {}", "kata-genmove_analyze w {}", "heatmap {}", "kata-raw-nn {}",
]
NEGATIVE = ["-1", "-2147483648", "-2147483649", "-9223372036854775809", "-" + "9" * 40, "-1e400",
            "-" + "9" * 5000, "-" + "9" * 1_000_000]
OVERFLOWING = ["2147483648", "4294967296", "9223372036854775808", "9" * 40, "1e400", "nan", "inf",
               "9" * 5000, "9" * 1_000_000]


def _acceptable(template: str, number: str) -> bool:
    """True where the number is in range for that argument, so `=` is the right reply."""
    if template == "komi {}":
        return math.isfinite(float(number))  # any finite komi, negative ones included
    if template == "time_left b {} 0":  # time left may be negative (overtime), an int32
        return len(number) <= 11 and number.lstrip("-").isdigit() and -2**31 <= int(number) < 2**31
    return False


@pytest.mark.parametrize("number", NEGATIVE + OVERFLOWING, ids=lambda n: n[:12] + f"..({len(n)})")
def test_negative_and_overflowing_numbers_in_every_numeric_argument(number, go_engine):
    sgf = Path(__file__).parent / "data" / "plain.sgf"
    for k, template in enumerate(NUMERIC_ARGUMENTS):
        reply = go_engine(f"{k} " + template.format(number, sgf=sgf))
        ok = _acceptable(template, number)
        assert reply.startswith(f"={k}" if ok else f"?{k} "), (template, reply[:200])
        assert "internal error" not in reply, (template, reply[:200])
    assert go_engine("99 name") == "=99 gopolicy"


MALFORMED_VERTICES = [
    "D", "4", "D0", "D00", "D20", "T20", "Z4", "Y1", "I4", "i4", "4D", "DD4", "D4.0", "D4a", "D-4",
    "D+4", "D-0", "D 4".replace(" ", "_"), "D٣", "D²", "D¹⁹", "Ｄ4", "A" + "0" * 5000 + "20",
    "D" + "9" * 5000, "D" + "9" * 1_000_000, "D-" + "9" * 5000, "PASS1", "pas", "passs", "resign",
    "ÿ4", "\ufffd4", "%p", "A1A1", "0", "-1", "1e400", "nan", "9" * 1_000_000, "-" + "9" * 5000,
]


@pytest.mark.parametrize("vertex", MALFORMED_VERTICES, ids=lambda v: v[:8] + f"..({len(v)})")
def test_play_at_every_malformed_vertex(vertex, go_engine):
    assert go_engine(f"3 play b {vertex}") == "?3 invalid coordinate"
    assert go_engine(f"play w {vertex}") == "? invalid coordinate"
    assert go_engine(f"4 set_free_handicap D4 {vertex}") == "?4 invalid coordinate"
    assert go_engine("showboard").endswith(" moves 0")  # nothing was played
    assert go_engine("2 final_score") == "=2 W+7.5"  # nor placed as handicap
    assert go_engine("5 play b D4") == "=5 "


def test_interrupted_lz_analyze_over_a_pipe():
    """lz-analyze streams until any line arrives, a million-digit one included, which is
    then answered; a second one is ended by the end of input, and the engine exits 0."""
    from gopolicy.engine.gtp.command import build_engine

    read_fd, write_fd = os.pipe()
    out = _Lines()
    engine = build_engine(UniformPolicy(), input=os.fdopen(read_fd, "rb"), output=out)
    result = []
    thread = threading.Thread(target=lambda: result.append(engine.run()))
    thread.start()
    big = "7" * 1_000_000
    with os.fdopen(write_fd, "wb", buffering=0) as pipe:
        pipe.write(b"3 play b D4\n3 lz-analyze w 1\n")
        assert [out.get(), out.get()] == ["=3 ", ""]
        assert out.get() == "=3"
        infos = [out.get() for _ in range(3)]  # still streaming: nothing arrived yet
        assert all(line.startswith("info move ") and " D4 " not in line for line in infos)
        pipe.write(f"{big} name\n".encode())
        line = out.get()
        while line.startswith("info move "):
            line = out.get()
        assert line == ""  # the stream ended with its blank line ...
        assert out.get() == f"={big} gopolicy"  # ... and the interrupting line was answered
        assert out.get() == ""
        pipe.write(b"4 kata-analyze b interval 1 ownership true\n")
        assert out.get() == "=4"
        assert out.get().startswith("info move ")
    thread.join(30)  # end of input: the stream ends and so does the engine
    assert result == [0]


def test_the_gtp_process_survives_a_million_digit_id(tiny_weights):
    """The line that used to kill `gopolicy gtp` (Python's int digit limit, outside the reply)."""
    big = b"8" * 1_000_000
    command = [sys.executable, "-m", "gopolicy", "gtp", "--weights", str(tiny_weights), "--device", "cpu"]
    done = subprocess.run(command, input=big + b" name\n" + big + b"\n2 komi " + big + b"\n3 name\n",
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == (b"=" + big + b" gopolicy\n\n?" + big + b" unknown command\n\n"
                           b"?2 syntax error\n\n=3 gopolicy\n\n")
