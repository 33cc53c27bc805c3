"""A client for any GTP engine running as a subprocess (GNU Go, gopolicy itself, ...).

Used by `gopolicy match` to drive opponents and referees, and by tests that use GNU Go as
an oracle. A `?` reply raises the protocol's one GtpError (engine.gtp.protocol), the error
our own engine turns into a `?` reply: a command fails the same way on both ends of a pipe.
"""

import re
import shlex
import subprocess

from gopolicy.engine.gtp.protocol import GtpError


class GtpEngineDied(GtpError):
    """The engine's process closed its pipes: it exited or crashed."""


class GtpClient:
    """Talks GTP to an engine started from a command line; use as a context manager."""

    def __init__(self, command: str | list[str], stderr=subprocess.DEVNULL):
        self.command = shlex.split(command) if isinstance(command, str) else list(command)
        self.stderr = stderr
        self.process = self._start()

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
            text=True, encoding="utf-8", errors="replace", bufsize=1,
        )

    def restart(self) -> None:
        """Close the engine (if it still runs) and start a fresh one from the same command line."""
        self.close()
        self.process = self._start()

    def send(self, line: str) -> str:
        """Send one command; return the text of a `=` reply.

        Raises GtpError on a `?` reply, GtpEngineDied when the engine's process has gone.
        """
        try:
            self.process.stdin.write(line.strip() + "\n")
            self.process.stdin.flush()
        except OSError:  # BrokenPipeError, or a closed stdin
            raise GtpEngineDied(f"{self.command[0]} died before {line.strip()!r}") from None
        lines = []
        while True:
            text = self.process.stdout.readline()
            if not text:
                raise GtpEngineDied(f"{self.command[0]} died after {line.strip()!r}")
            text = text.rstrip("\r\n")
            if not text and lines:
                break
            if text or lines:
                lines.append(text)
        reply = "\n".join(lines)
        # "=[id] body": an id, if any, follows the status character with no space
        status, body = reply[:1], re.sub(r"^\d*", "", reply[1:]).strip()
        if status != "=":
            raise GtpError(f"{line.strip()!r}: {body or reply}")
        return body

    def close(self) -> None:
        """Send `quit` if the engine is still running, then wait for it to exit."""
        if self.process.poll() is None:
            try:
                self.send("quit")
            except (GtpError, OSError):
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
