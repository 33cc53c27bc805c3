"""The Go Text Protocol, version 2, and nothing about Go.

`GtpEngine` reads command lines, preprocesses them as the GTP 2 specification says
(section 3.1: control characters other than HT and LF removed, `#` comments cut,
HT turned into SPACE, empty lines ignored), splits off the optional numeric id, and
dispatches to `cmd_<name>` methods gathered from handler objects (minigo's
`gtp_engine.py`). A handler returns the reply text (or None), raises `GtpError` for a
`? message` reply, or returns a `Stream` for replies that go on over time
(`lz-analyze`): the engine writes `=id` at once, then one line per interval, and ends
the reply with the usual blank line as soon as any input arrives; that input is then
processed normally. A reader thread keeps the input flowing while a stream runs.

Replies are `=[id] text` or `?[id] text` followed by a blank line, flushed at once.
Command names are case sensitive, as in the specification; arguments are strings,
each handler decides on case. Logs go to the logging module (stderr), never stdout.
"""

import inspect
import io
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 2
_EOF = object()
# every code point below 32 except HT (9) and LF (10), and DEL: removed (spec 3.1)
_CONTROL = {c: None for c in (*range(0, 9), *range(11, 32), 127)}


class GtpError(Exception):
    """A command failed; str() is the text of the `?` reply (e.g. "illegal move")."""


@dataclass
class Stream:
    """A reply written over time: `lines` one after the other, `interval` seconds apart.

    With `until_input`, the stream stops as soon as input arrives (`lz-analyze`);
    otherwise it runs to the end of `lines` (`lz-genmove_analyze`).
    """

    lines: Iterable[str]
    interval: float = 0.0
    until_input: bool = True


def gtp_command(name: str) -> Callable:
    """Decorator naming the GTP command of a method whose name cannot spell it
    (e.g. `kgs-genmove_cleanup`); returns the method, marked."""

    def mark(method):
        method.gtp_name = name
        return method

    return mark


def preprocess(raw: str | bytes) -> str:
    """Return one input line cleaned as GTP 2 section 3.1 says ('' if nothing is left)."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    line = raw.translate(_CONTROL)
    line = line.split("#", 1)[0]
    return line.replace("\t", " ").replace("\n", " ").strip()


def parse(line: str) -> tuple[int | None, str, list[str]]:
    """Split a preprocessed, non-empty line into (id or None, command name, arguments)."""
    words = line.split(" ")
    words = [w for w in words if w]
    command_id = None
    if words[0].isdigit() and words[0].isascii():
        command_id = int(words[0])
        words = words[1:]
    if not words:
        return command_id, "", []
    return command_id, words[0], words[1:]


def _clean_body(text: str) -> str:
    """Return reply text that cannot end the reply early: no CR, no empty inner line."""
    lines = [line.rstrip() for line in text.replace("\r", "").split("\n")]
    return "\n".join(line for line in lines if line.strip())


class GtpEngine:
    """Dispatches GTP commands to handler objects; see the module docstring.

    `input` yields lines (str or bytes, e.g. `sys.stdin.buffer`, `io.StringIO`); `output`
    takes str. The administrative commands (protocol_version, name, version,
    known_command, list_commands, quit) are built in.
    """

    def __init__(self, handlers: Iterable[object] = (), input=None, output=None,
                 name: str = "gtp engine", version: str = "0"):
        self.input = input
        self.output = output
        self.name = name
        self.version = version
        self.commands: dict[str, Callable] = {}
        self._queue: queue.Queue = queue.Queue()
        self._arrived = threading.Event()
        self._quit = False
        self._in_execute = False
        self.register(self)
        for handler in handlers:
            self.register(handler)

    # ---- registry -----------------------------------------------------------------
    def register(self, handler: object) -> None:
        """Add every `cmd_<name>` method of `handler`; later handlers override earlier."""
        for attr in dir(handler):
            if attr.startswith("cmd_"):
                method = getattr(handler, attr)
                if callable(method):
                    self.commands[getattr(method, "gtp_name", attr[4:])] = method

    # ---- built-in administrative commands -------------------------------------------
    def cmd_protocol_version(self) -> str:
        return str(PROTOCOL_VERSION)

    def cmd_name(self) -> str:
        return self.name

    def cmd_version(self) -> str:
        return self.version

    def cmd_known_command(self, command: str) -> str:
        return "true" if command in self.commands else "false"

    def cmd_list_commands(self) -> str:
        return "\n".join(sorted(self.commands))

    def cmd_quit(self) -> str:
        self._quit = True
        return ""

    # ---- input ---------------------------------------------------------------------
    def _read_input(self) -> None:
        """Reader thread: move every input line into the queue, then an EOF marker."""
        try:
            while True:
                raw = self.input.readline()
                if not raw:
                    break
                self._queue.put(raw)
                self._arrived.set()
        except (OSError, ValueError) as error:  # closed or broken input: treat as EOF
            log.debug("input closed: %s", error)
        self._queue.put(_EOF)
        self._arrived.set()

    def input_pending(self) -> bool:
        """Return True when a line (or EOF) is waiting to be processed."""
        return self._in_execute or not self._queue.empty()

    def _wait_for_input(self, seconds: float) -> bool:
        """Wait up to `seconds` for input; return True if some is pending."""
        deadline = time.monotonic() + seconds
        while not self.input_pending():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._arrived.clear()
            if self.input_pending():
                break
            self._arrived.wait(min(remaining, 0.05))
        return True

    # ---- output --------------------------------------------------------------------
    def _write(self, text: str) -> None:
        self.output.write(text)
        self.output.flush()

    def _reply(self, ok: bool, command_id: int | None, body: str) -> None:
        status = ("=" if ok else "?") + ("" if command_id is None else str(command_id))
        # a body starting with a newline (showboard) starts on the next line, as in GNU Go
        separator = " \n" if body.startswith("\n") and body.strip() else " "
        self._write(f"{status}{separator}{_clean_body(body)}\n\n")

    def _stream(self, command_id: int | None, stream: Stream) -> None:
        self._write("=" + ("" if command_id is None else str(command_id)) + "\n")
        try:
            for line in stream.lines:
                line = _clean_body(line).replace("\n", " ")
                if line:
                    self._write(line + "\n")
                if stream.until_input and self._wait_for_input(stream.interval):
                    break
                if not stream.until_input and stream.interval > 0:
                    time.sleep(stream.interval)
            else:  # lines exhausted: an analysis reply stays open until input arrives
                while stream.until_input and not self._wait_for_input(1.0):
                    pass
        except Exception:  # the '=' is out already: end the reply, keep the engine up
            log.exception("stream failed")
        self._write("\n")

    # ---- dispatch ------------------------------------------------------------------
    def handle(self, raw: str | bytes) -> bool:
        """Process one raw input line, writing its reply; return False after `quit`."""
        line = preprocess(raw)
        if not line:
            return True
        command_id, name, args = parse(line)
        method = self.commands.get(name)
        if method is None:
            self._reply(False, command_id, "unknown command")
            return True
        try:
            inspect.signature(method).bind(*args)
        except TypeError:
            self._reply(False, command_id, "syntax error")
            return True
        try:
            result = method(*args)
        except GtpError as error:
            self._reply(False, command_id, str(error) or "failed")
            return True
        except Exception as error:  # a bug must not take the engine down
            log.exception("command %r failed", name)
            text = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
            self._reply(False, command_id, f"internal error: {text}")
            return True
        if isinstance(result, Stream):
            self._stream(command_id, result)
        else:
            self._reply(True, command_id, "" if result is None else str(result))
        return not self._quit

    def execute(self, line: str) -> str:
        """Process one command in-process and return its whole reply text.

        Streams stop after their first line, as if input had arrived at once.
        """
        saved, self.output = self.output, io.StringIO()
        self._in_execute = True
        try:
            self.handle(line)
            return self.output.getvalue()
        finally:
            self.output, self._in_execute = saved, False

    def run(self) -> int:
        """Serve until EOF or `quit`; return the exit status 0."""
        reader = threading.Thread(target=self._read_input, name="gtp-input", daemon=True)
        reader.start()
        try:
            while True:
                raw = self._queue.get()
                if raw is _EOF:
                    break
                if not self.handle(raw):
                    break
        except BrokenPipeError:  # the controller went away: nothing left to answer
            log.info("output closed")
        return 0

