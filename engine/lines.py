"""Protocol input split into lines of bounded length, in linear time and constant memory.

GTP and KataGo's JSON protocol read one command a line from a controller that may send
anything. A line longer than the limit is discarded as it streams (only its length is
counted) and reported as LineTooLong; the next line reads normally.
"""

import os
from typing import Callable

# Far above any real command: a GTP line with a 1,000,000-digit id, or a KataGo query
# listing thousands of moves, is a few MB at most.
MAX_LINE_BYTES = 8 * 1024 * 1024
CHUNK_BYTES = 1 << 16


class LineTooLong(Exception):
    """A line over the limit was discarded; str() says how long it was and the limit."""

    def __init__(self, length: int, limit: int):
        super().__init__(f"line too long: {length} bytes, the limit is {limit} bytes; discarded")
        self.length = length
        self.limit = limit


class BoundedLines:
    """`readline()` over a byte source, each line at most `limit` bytes (newline excluded).

    `read(n)` returns up to n bytes, b"" at the end (os.read on a descriptor, a file's read1).
    """

    def __init__(self, read: Callable[[int], bytes], limit: int = MAX_LINE_BYTES,
                 chunk: int = CHUNK_BYTES):
        self._read = read
        self.limit = limit
        self.chunk = chunk
        self._buffer = b""
        self._start = 0  # where the unread part of _buffer begins

    @classmethod
    def from_fd(cls, fd: int, limit: int = MAX_LINE_BYTES) -> "BoundedLines":
        """Return the lines of a file descriptor, read with os.read.

        Not sys.stdin.buffer: a daemon thread blocked inside a BufferedReader holds its lock,
        and the interpreter aborts at exit ("could not acquire lock ... at interpreter
        shutdown") when `quit` arrives while the controller keeps stdin open.
        """
        return cls(lambda n: os.read(fd, n), limit)

    def readline(self) -> bytes:
        """Return the next line with its newline (the rest without one at the end of input),
        b"" once the input has ended. Raises LineTooLong, after reading past the line, for a
        line over the limit; OSError from the source."""
        parts, length, newline = [], 0, False
        while not newline:
            if self._start >= len(self._buffer):
                self._buffer, self._start = self._read(self.chunk), 0
                if not self._buffer:  # end of input: the last line has no newline
                    break
            end = self._buffer.find(b"\n", self._start)
            newline = end >= 0
            stop = end + 1 if newline else len(self._buffer)
            length += stop - self._start
            if length <= self.limit + 1:  # kept; past the limit only the length is counted
                parts.append(self._buffer[self._start:stop])
            self._start = stop
        if length - newline > self.limit:
            raise LineTooLong(length - newline, self.limit)
        return b"".join(parts)
