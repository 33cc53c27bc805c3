"""Malformed GTP input against the whole Go engine (a stand-in policy, real rules), in-process
and over pipes: every line gets exactly one well-formed reply and nothing ends the engine."""

import io
import math
import os
import random
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from gopolicy.engine.gtp.protocol import parse, preprocess
from line_queue import LineQueue

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
    out = LineQueue()
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
