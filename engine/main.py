"""`gopolicy gtp`: the engine on stdin/stdout for GoGui, Sabaki, Lizzie, KaTrain, twogtp.

The network loads in a background thread and the rules warm up in another, so the
first reply (`name`, `protocol_version`...) comes at once; the first command that
needs the network waits for it. Logs go to stderr only; anything printed by a library
is sent to stderr too, so stdout carries nothing but GTP.
"""

import argparse
import io
import logging
import os
import sys
import threading
from pathlib import Path

import gopolicy
from gopolicy.engine.analysis import AnalysisCommands
from gopolicy.engine.commands import Context, GameCommands, parse_colour
from gopolicy.engine.gtp import GtpEngine
from gopolicy.engine.player import LazyPolicy, PlayerConfig

ENGINE_NAME = "gopolicy"
# Lizzie 0.7.4 (Leelaz.java) takes the first word of the `version` reply, reads the number
# after its first dot, and refuses analysis below 15 (a modal dialog, no lz-analyze). Our
# lz-analyze lines are those of Leela Zero 0.17 (with lcb), so the reply leads with that
# level and then says plainly whose version it is; `name` stays our own.
LZ_ANALYSIS_LEVEL = "0.17"
ENGINE_VERSION = f"{LZ_ANALYSIS_LEVEL} (lz-analyze level, for Lizzie) gopolicy {gopolicy.__version__}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `gopolicy gtp`."""
    parser.add_argument("--weights", type=Path, default=None,
                        help="weights file (default: weights/default.safetensors)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    parser.add_argument("--symmetries", type=int, default=1,
                        help="average the policy over this many board symmetries, 1-8 (default 1)")
    parser.add_argument("--temperature", type=float, default=0.0,
                        help="0: always the most probable move (default); >0: sample")
    parser.add_argument("--seed", type=int, default=None, help="random seed for sampling")
    parser.add_argument("--resign-threshold", type=float, default=None, metavar="POINTS",
                        help="resign from move 100 on when behind by more than POINTS on "
                             "the area estimate (default: never resign)")
    parser.add_argument("--komi", type=float, default=7.5, help="komi until the controller sets one")
    parser.add_argument("--superko", action="store_true", help="forbid positional superko in play")
    parser.add_argument("--verbose", "-v", action="store_true", help="log each decision on stderr")


def build_engine(policy, config: PlayerConfig = PlayerConfig(), input=None, output=None,
                 komi: float = 7.5, superko: bool = False) -> GtpEngine:
    """Return a GtpEngine with the game and analysis commands over one fresh Context."""
    context = Context(policy, config, komi=komi, superko=superko)
    handlers = [GameCommands(context), AnalysisCommands(context, parse_colour)]
    engine = GtpEngine(handlers, input=input, output=output, name=ENGINE_NAME,
                       version=ENGINE_VERSION)
    engine.context = context
    return engine


def _warm_up_rules() -> None:
    """Import the rules and run one move, so numba's cached kernels are loaded early."""
    try:
        from gopolicy.engine.session import Session

        session = Session()
        session.play(1, (3, 3))
        session.position.legal_mask(-1)
    except Exception as error:  # the command that needs the rules will report it
        logging.getLogger(__name__).warning("rules warm-up failed: %s", error)


class FdLines:
    """Lines read from a file descriptor with os.read.

    Not sys.stdin.buffer: a daemon thread blocked inside a BufferedReader holds its lock,
    and the interpreter aborts at exit ("could not acquire lock ... at interpreter
    shutdown") when `quit` arrives while the controller keeps stdin open.
    """

    def __init__(self, fd: int):
        self.fd = fd
        self._buffer = b""

    def readline(self) -> bytes:
        """Return the next line with its newline, the rest at EOF, b"" after EOF."""
        while b"\n" not in self._buffer:
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                line, self._buffer = self._buffer, b""
                return line
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line + b"\n"


def run(args) -> int:
    """Serve GTP on stdin/stdout until EOF or quit; return the exit status."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO if args.verbose else logging.WARNING,
                        format="gopolicy: %(message)s")
    if args.weights is not None and not args.weights.is_file():
        print(f"gopolicy gtp: no weights file {args.weights}", file=sys.stderr)
        return 2
    output = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
    sys.stdout = sys.stderr  # a stray print() must never corrupt the protocol
    policy = LazyPolicy(args.weights, args.device, args.symmetries)
    threading.Thread(target=_warm_up_rules, name="rules-warm-up", daemon=True).start()
    config = PlayerConfig(temperature=args.temperature, resign_threshold=args.resign_threshold,
                          seed=args.seed)
    engine = build_engine(policy, config, input=FdLines(sys.stdin.fileno()), output=output,
                          komi=args.komi, superko=args.superko)
    return engine.run()
