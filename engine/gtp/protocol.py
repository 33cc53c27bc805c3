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

No input line can end the engine: whatever goes wrong while a line is preprocessed,
parsed, dispatched, run or formatted becomes one `? internal error: ...` reply (with the
id when one was read) and the next line is served. Ids are kept as their digits, so an
id of any length is echoed without ever becoming a Python int (whose conversion stops at
4300 digits). A line over the input reader's limit (engine/lines.py: 8 MiB) is discarded as it
streams and answered `? line too long: N bytes, the limit is L bytes; discarded`. The engine
ends on `quit`, at the end of its input, or when its output is gone (nothing can be
answered any more).
"""

import inspect
import io
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from gopolicy.engine.lines import LineTooLong

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 2
_EOF = object()
_MAX_READ_FAILURES = 10  # unreadable lines in a row before the input counts as ended
# every code point below 32 except HT (9) and LF (10), and DEL: removed (spec 3.1)
_CONTROL = {c: None for c in (*range(0, 9), *range(11, 32), 127)}


class GtpError(Exception):
    """A command failed; str() is the text of the `?` reply (e.g. "illegal move").

    The one GTP error of the project: handlers raise it to reply `?`, and the client of
    other engines (engine.match.client) raises it when they reply `?`."""


class OutputClosed(Exception):
    """The output stream refused a write: the controller is gone, nothing can be answered."""


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


def parse(line: str) -> tuple[str | None, str, list[str]]:
    """Split a preprocessed, non-empty line into (id or None, command name, arguments).

    The id is the leading word when it is all ASCII digits, returned as its decimal digits
    without leading zeros ("007" -> "7"), however long it is.
    """
    words = [w for w in line.split(" ") if w]
    command_id = None
    if words and words[0].isascii() and words[0].isdigit():
        command_id = words[0].lstrip("0") or "0"
        words = words[1:]
    if not words:
        return command_id, "", []
    return command_id, words[0], words[1:]


def _clean_body(text: str) -> str:
    """Return reply text that cannot end the reply early (no CR, no empty inner line) and
    that any UTF-8 output can take (lone surrogates become '?')."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    lines = [line.rstrip() for line in text.replace("\r", "").split("\n")]
    return "\n".join(line for line in lines if line.strip())


@dataclass
class _Unreadable:
    """Queue item for an input line that raised while being read (too long, undecodable):
    `reply` is the text of its `?` reply."""

    reply: str


def _input_closed(error: Exception) -> bool:
    """True when a read error means the input is gone (OSError, a closed file), not that
    one line was bad (UnicodeDecodeError and every other exception)."""
    if isinstance(error, UnicodeError):
        return False
    return isinstance(error, (OSError, ValueError))


def _error_text(error: BaseException) -> str:
    """Return the first line of an exception's message (at most 200 characters), or its
    type name when the message is empty or cannot be turned into text."""
    try:
        text = str(error)
    except Exception:  # a broken __str__ must not escape the error path
        text = ""
    return (text.strip().splitlines() or [type(error).__name__])[0][:200]


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
    def _put(self, item) -> None:
        self._queue.put(item)
        self._arrived.set()

    def _read_input(self) -> None:
        """Reader thread: move every input line into the queue, then an EOF marker.

        A line that raises while being read is queued as _Unreadable (it gets a `?` reply:
        `line too long: ...` for one over the reader's limit, discarded as it streamed);
        a closed input, or _MAX_READ_FAILURES bad lines in a row, ends the input.
        """
        failures = 0
        try:
            while True:
                try:
                    raw = self.input.readline()
                except LineTooLong as error:  # discarded by the reader; the input goes on
                    self._put(_Unreadable(str(error)))
                    continue
                except Exception as error:
                    if _input_closed(error) or failures >= _MAX_READ_FAILURES:
                        raise
                    failures += 1
                    log.warning("cannot read an input line: %s", error)
                    self._put(_Unreadable(f"internal error: cannot read the line: {_error_text(error)}"))
                    continue
                failures = 0
                if not raw:
                    break
                self._put(raw)
        except Exception as error:  # closed or broken input: the end of the conversation
            log.info("input ended: %s", _error_text(error))
        finally:  # whatever happened, the serving loop must not wait for ever
            self._put(_EOF)

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
        """Write and flush `text`; raise OutputClosed when the output refuses it."""
        try:
            self.output.write(text)
            self.output.flush()
        except (OSError, ValueError) as error:  # broken pipe, closed file
            raise OutputClosed(str(error)) from error

    def _reply(self, ok: bool, command_id: str | None, body: str) -> None:
        status = ("=" if ok else "?") + ("" if command_id is None else str(command_id))
        # a body starting with a newline (showboard) starts on the next line, as in GNU Go
        separator = " \n" if body.startswith("\n") and body.strip() else " "
        self._write(f"{status}{separator}{_clean_body(body)}\n\n")

    def _stream(self, command_id: str | None, stream: Stream) -> None:
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
        except OutputClosed:
            raise
        except Exception:  # the '=' is out already: end the reply, keep the engine up
            log.exception("stream failed")
        self._write("\n")

    # ---- dispatch ------------------------------------------------------------------
    def handle(self, raw: str | bytes) -> bool:
        """Process one raw input line, writing exactly one reply (none for an empty line);
        return False after `quit`.

        Any exception while the line is preprocessed, parsed, dispatched, run or its reply
        formatted becomes `? internal error: ...`; only OutputClosed goes up to the caller.
        """
        command_id = None
        try:
            line = preprocess(raw)
            if not line:
                return True
            command_id, name, args = parse(line)
            return self._dispatch(command_id, name, args)
        except OutputClosed:
            raise
        except Exception as error:  # a bug must not take the engine down
            log.exception("input line failed")
            self._reply(False, command_id, f"internal error: {_error_text(error)}")
            return True

    def _dispatch(self, command_id: str | None, name: str, args: list[str]) -> bool:
        """Run one parsed command and write its reply; return False after `quit`."""
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
            if not isinstance(result, Stream):
                body = "" if result is None else str(result)
        except GtpError as error:
            self._reply(False, command_id, str(error) or "failed")
            return True
        except Exception as error:  # a bug in a handler must not take the engine down
            log.exception("command %r failed", name)
            self._reply(False, command_id, f"internal error: {_error_text(error)}")
            return True
        if isinstance(result, Stream):
            self._stream(command_id, result)
        else:
            self._reply(True, command_id, body)
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
                if isinstance(raw, _Unreadable):
                    self._reply(False, None, raw.reply)
                    continue
                if not self.handle(raw):
                    break
        except OutputClosed as error:  # the controller went away: nothing left to answer
            log.info("output closed: %s", error)
        return 0

