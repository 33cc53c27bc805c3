"""Hostile input from outside, each case in a child process under a memory limit: every one is
answered with a reply that names the problem, and the engine or command goes on.

| input                                          | answer                                          |
| ---------------------------------------------- | ----------------------------------------------- |
| `loadsgf` of /dev/zero, a FIFO, a 3 GB file    | `? cannot load file: FILE: what it is / size, limit` |
| a 200 MB GTP line                              | `? line too long: N bytes, the limit is L bytes; discarded` |
| a 200 MB KataGo JSON line                      | `{"error": "line too long: ..."}`               |
| `prepare`: a 768 MB member, a cut .tar.gz, a bad-CRC .zip | the member skipped unread as "too large", the damage as "unreadable archive", the other games kept |
| a weights file that does not load              | said once on stderr; `genmove`: `? cannot load the network: ...; ... --weights FILE ...` |
"""

import json
import os
import resource
import subprocess
import sys

from archives import bad_crc_zip, cut_tar_gz, game, tar_gz
from gopolicy.engine.lines import MAX_LINE_BYTES
from gopolicy.sgf_io import MAX_SGF_BYTES

ENGINE_MEMORY = 2 * 2**30   # address space: torch and the network need about 1.5 GB of it
PREPARE_MEMORY = 512 * 2**20
LONG_LINE = 200 * 2**20
BIG_ID = "7" * 1_000_000    # a real (if silly) line: must still be answered


def run_limited(args, stdin_parts=(), memory=ENGINE_MEMORY, cwd=None):
    """Return (exit status, stdout, stderr) of `python -m gopolicy ARGS` run with its address
    space limited to `memory` bytes, fed the byte strings of stdin_parts one after the other."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = dict(os.environ, OMP_NUM_THREADS="1")
    child = subprocess.Popen([sys.executable, "-m", "gopolicy", *args], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=limit,
                             env=env, cwd=cwd)
    try:
        for part in stdin_parts:
            child.stdin.write(part)
    except BrokenPipeError:  # the child died: its status and stderr say why
        pass
    out, err = child.communicate(timeout=600)  # a guard against a hang, not a measure of speed
    return child.returncode, out.decode(), err.decode()


def long_line(prefix: bytes, size: int, suffix: bytes):
    """Yield a line of `size` bytes in 1 MB pieces, never held whole here."""
    yield prefix
    for _ in range((size - len(prefix) - len(suffix)) // 2**20):
        yield b"x" * 2**20
    yield b"x" * ((size - len(prefix) - len(suffix)) % 2**20) + suffix


def gtp_replies(out: str) -> list[str]:
    return [reply for reply in out.split("\n\n") if reply.strip()]


def test_gtp_answers_huge_files_devices_and_lines_and_goes_on(tmp_path):
    huge = tmp_path / "huge.sgf"
    with open(huge, "wb") as f:
        f.truncate(3 * 2**30)  # a hole: 3 GB that take no disk space
    os.mkfifo(tmp_path / "pipe.sgf")
    parts = [b"1 loadsgf /dev/zero\n", f"2 loadsgf {huge}\n".encode(),
             f"3 loadsgf {tmp_path / 'pipe.sgf'}\n".encode(),
             *long_line(b"4 name ", LONG_LINE, b""),  # no newline of its own...
             b"\n5 genmove b\n",                        # ...until here
             f"{BIG_ID} name\n".encode(), b"6 quit\n"]
    status, out, err = run_limited(["gtp"], parts)
    replies = gtp_replies(out)
    assert status == 0, err[-2000:]
    assert replies[0] == "?1 cannot load file: /dev/zero: a character device, not an SGF file"
    assert replies[1] == (f"?2 cannot load file: {huge}: {3 * 2**30} bytes, over the limit of "
                          f"{MAX_SGF_BYTES} bytes for an SGF record")
    assert replies[2] == f"?3 cannot load file: {tmp_path / 'pipe.sgf'}: a FIFO, not an SGF file"
    assert replies[3] == f"? line too long: {LONG_LINE} bytes, the limit is {MAX_LINE_BYTES} bytes; discarded"
    assert replies[4].startswith("=5 ") and len(replies[4].split()) == 2  # a move: the engine goes on
    assert replies[5] == f"={BIG_ID} gopolicy"
    assert replies[6].strip() == "=6"
    assert "internal error" not in out and "Traceback" not in err


def test_analysis_answers_a_huge_line_and_goes_on():
    query = {"id": "q", "moves": [["B", "Q16"]], "rules": "japanese", "komi": 6.5,
             "boardXSize": 19, "boardYSize": 19}
    parts = [*long_line(b'{"id":"', LONG_LINE, b'"}'),
             b"\n" + json.dumps({"id": BIG_ID, "action": "query_version"}).encode() + b"\n",
             json.dumps(query).encode() + b"\n"]
    status, out, err = run_limited(["analysis"], parts)
    replies = [json.loads(line) for line in out.splitlines()]
    assert status == 0, err[-2000:]
    assert replies[0] == {"error": f"line too long: {LONG_LINE} bytes, the limit is {MAX_LINE_BYTES} "
                                   "bytes; discarded"}
    assert replies[1]["id"] == BIG_ID and replies[1]["version"]
    assert replies[2]["id"] == "q" and replies[2]["moveInfos"]
    assert len(replies) == 3


def test_prepare_skips_huge_members_unread_and_keeps_the_games_of_damaged_archives(tmp_path):
    huge_member = 768 * 2**20  # more than the whole address space the child may use
    sources = [tar_gz(tmp_path / "huge.tar.gz", [("huge.sgf", huge_member), ("ok.sgf", game("plain.sgf"))]),
               cut_tar_gz(tmp_path / "cut.tar.gz", ["handicap.sgf", "passes.sgf"]),
               bad_crc_zip(tmp_path / "crc.zip", ["plain.sgf", "handicap.sgf", "passes.sgf"], "plain.sgf")]
    status, _, err = run_limited(["prepare", *map(str, sources), "--out", str(tmp_path / "out"),
                                  "--workers", "1", "--quiet"], memory=PREPARE_MEMORY)
    assert status == 0, err[-2000:]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["games"] == {"read": 8, "kept": 5,
                                 "skipped": {"too large": 1, "unreadable archive": 2}}
    assert f"huge.tar.gz:huge.sgf: {huge_member} bytes, over the limit of {MAX_SGF_BYTES}" in err
    assert "Traceback" not in err


def test_a_network_that_cannot_load_is_said_once_and_genmove_says_what_to_do(tmp_path):
    weights = tmp_path / "broken.safetensors"
    weights.write_bytes(b"\x00" * 100)
    status, out, err = run_limited(["gtp", "--weights", str(weights)],
                                   [b"1 genmove b\n2 genmove w\n3 name\n"])
    replies = gtp_replies(out)
    assert status == 0
    for number, reply in zip("12", replies):
        assert reply.startswith(f"?{number} cannot load the network: {weights}: ")
        assert "--weights FILE" in reply and "internal error" not in reply
    assert replies[2] == "=3 gopolicy"
    assert err.count("cannot load the network") == 1, err
