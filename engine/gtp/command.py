"""`gopolicy gtp`: the engine on stdin/stdout for GoGui, Sabaki, Lizzie, KaTrain, twogtp.

The network loads in a background thread and the rules warm up in another, so the
first reply (`name`, `protocol_version`...) comes at once; the first command that
needs the network waits for it. Logs go to stderr only; anything printed by a library
is sent to stderr too, so stdout carries nothing but GTP.
"""

import argparse
import io
import logging
import sys
import threading

import gopolicy
from gopolicy.engine.gtp.analyze_commands import AnalysisCommands
from gopolicy.engine.gtp.game_commands import Context, GameCommands, parse_colour
from gopolicy.engine.gtp.player import PlayerConfig
from gopolicy.engine.gtp.protocol import GtpEngine
from gopolicy.engine.lines import BoundedLines
from gopolicy.lazy_policy import LazyPolicy
from gopolicy.network_options import add_network_arguments, weights_missing

ENGINE_NAME = "gopolicy"
ENGINE_VERSION = gopolicy.__version__
# Lizzie 0.7.4 (Leelaz.java) takes the first word of the `version` reply, reads the number
# after its first dot, and refuses analysis below 15 (a modal dialog, no lz-analyze). Our
# lz-analyze lines are those of Leela Zero 0.17 (with lcb), so under --lizzie the reply
# leads with that level and then says plainly whose version it is. Only then: every GUI
# shows `version` and writes it into game records as the player's name.
LZ_ANALYSIS_LEVEL = "0.17"
LIZZIE_VERSION = f"{LZ_ANALYSIS_LEVEL} (lz-analyze level, for Lizzie) gopolicy {gopolicy.__version__}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `gopolicy gtp`."""
    add_network_arguments(parser)
    parser.add_argument("--temperature", type=float, default=0.0,
                        help="0: always the most probable move (default); >0: sample")
    parser.add_argument("--seed", type=int, default=None, help="random seed for sampling")
    parser.add_argument("--resign-threshold", type=float, default=None, metavar="POINTS",
                        help="resign from move 100 on when behind by more than POINTS on "
                             "the area estimate (default: never resign)")
    parser.add_argument("--komi", type=float, default=7.5, help="komi until the controller sets one")
    parser.add_argument("--superko", action="store_true", help="forbid positional superko in play")
    parser.add_argument("--lizzie", action="store_true",
                        help=f"answer `version` as Lizzie 0.7.4 needs ({LIZZIE_VERSION!r}) instead of "
                             f"{ENGINE_VERSION!r}")
    parser.add_argument("--verbose", "-v", action="store_true", help="log each decision on stderr")


def build_engine(policy, config: PlayerConfig = PlayerConfig(), input=None, output=None,
                 komi: float = 7.5, superko: bool = False, lizzie: bool = False) -> GtpEngine:
    """Return a GtpEngine with the game and analysis commands over one fresh Context;
    with `lizzie`, its `version` is the one Lizzie 0.7.4 needs."""
    context = Context(policy, config, komi=komi, superko=superko)
    handlers = [GameCommands(context), AnalysisCommands(context, parse_colour)]
    engine = GtpEngine(handlers, input=input, output=output, name=ENGINE_NAME,
                       version=LIZZIE_VERSION if lizzie else ENGINE_VERSION)
    engine.context = context
    return engine


def _warm_up_rules() -> None:
    """Import the rules and run one move, so numba's cached kernels are loaded early."""
    try:
        from gopolicy.engine.gtp.session import Session

        session = Session()
        session.play(1, (3, 3))
        session.position.legal_mask(-1)
    except Exception as error:  # the command that needs the rules will report it
        logging.getLogger(__name__).warning("rules warm-up failed: %s", error)


def run(args) -> int:
    """Serve GTP on stdin/stdout until EOF or quit; return the exit status."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO if args.verbose else logging.WARNING,
                        format="gopolicy: %(message)s")
    if weights_missing("gtp", args.weights):
        return 2
    output = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
    sys.stdout = sys.stderr  # a stray print() must never corrupt the protocol
    policy = LazyPolicy(args.weights, args.device, args.symmetries)
    threading.Thread(target=_warm_up_rules, name="rules-warm-up", daemon=True).start()
    config = PlayerConfig(temperature=args.temperature, resign_threshold=args.resign_threshold,
                          seed=args.seed)
    engine = build_engine(policy, config, input=BoundedLines.from_fd(sys.stdin.fileno()), output=output,
                          komi=args.komi, superko=args.superko, lizzie=args.lizzie)
    return engine.run()
