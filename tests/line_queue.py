"""An output stream for protocol tests over pipes: each completed line lands in a queue."""

import queue


class LineQueue:
    """An output stream (write, flush) that hands each completed line to a queue; `get()`
    returns the next line, waiting up to 30 s (queue.Empty after that)."""

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
