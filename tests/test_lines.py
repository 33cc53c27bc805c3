"""engine.lines: protocol lines over the limit are discarded as they stream, the rest read whole."""

import io

import pytest

from gopolicy.engine.lines import BoundedLines, LineTooLong

LIMIT = 10
TOO_LONG = object()


def read_all(data: bytes, chunk: int) -> list:
    """Return each readline() result until b"" (TOO_LONG with the length for a discarded line)."""
    lines = BoundedLines(io.BytesIO(data).read, limit=LIMIT, chunk=chunk)
    out = []
    while True:
        try:
            line = lines.readline()
        except LineTooLong as error:
            out.append((TOO_LONG, error.length))
            continue
        if not line:
            return out
        out.append(line)


CASES = [  # input, the lines read
    (b"name\nversion\n", [b"name\n", b"version\n"]),
    (b"last line without newline", [(TOO_LONG, 25)]),
    (b"a\n" + b"x" * 10 + b"\nb", [b"a\n", b"x" * 10 + b"\n", b"b"]),    # exactly the limit: kept
    (b"x" * 11 + b"\nafter\n", [(TOO_LONG, 11), b"after\n"]),            # one over: discarded
    (b"x" * 1000 + b"\n" + b"y" * 11, [(TOO_LONG, 1000), (TOO_LONG, 11)]),  # also at the end
    (b"\n\n", [b"\n", b"\n"]),
    (b"", []),
]


@pytest.mark.parametrize("chunk", [1, 3, 64])
@pytest.mark.parametrize("data, expected", CASES)
def test_lines_over_the_limit_are_reported_and_the_next_one_reads(data, expected, chunk):
    assert read_all(data, chunk) == expected


def test_the_error_says_the_length_and_the_limit():
    lines = BoundedLines(io.BytesIO(b"z" * 25 + b"\n").read, limit=LIMIT)
    with pytest.raises(LineTooLong, match="line too long: 25 bytes, the limit is 10 bytes"):
        lines.readline()


def test_a_long_line_streamed_in_many_reads_is_counted_then_skipped():
    """Past the limit only the length is counted; the line after it reads normally."""
    reads = []

    def read(n):
        reads.append(n)
        return b"x" * n if len(reads) <= 1000 else b"\nok\n"

    lines = BoundedLines(read, limit=LIMIT, chunk=64)
    with pytest.raises(LineTooLong) as info:
        lines.readline()
    assert info.value.length == 64_000
    assert lines.readline() == b"ok\n"
