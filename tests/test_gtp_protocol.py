"""GTP version 2 protocol rules (engine/gtp/protocol.py), in-process on io.StringIO and pipes.

The protocol engine knows nothing about Go: these tests drive it with a toy handler, and
show that no line, nor any failure of a stage, can end it. Malformed input against the full
Go engine is in test_gtp_malformed_input.py.
"""

import io
import os
import threading

import pytest

from gopolicy.engine.gtp.protocol import GtpEngine, GtpError, Stream, gtp_command, parse, preprocess
from line_queue import LineQueue


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


def test_stream_over_a_pipe_stops_when_the_next_command_arrives():
    read_fd, write_fd = os.pipe()
    out = LineQueue()
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
