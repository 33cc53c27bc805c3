"""`gopolicy analysis` and `gopolicy-katago`: the KataGo analysis server on stdin/stdout.

KaTrain starts `<KataGo executable> analysis -model M -config C ...`; KataGo's flags are
accepted and ignored (but -quit-without-waiting), so `gopolicy-katago` can stand in for
that executable. Logs and the ready line go to stderr; stdout carries only results.
"""

import argparse
import io
import logging
import sys

from gopolicy.cli import quiet_openmp_threads
from gopolicy.engine.katago.server import AnalysisServer
from gopolicy.engine.lines import BoundedLines
from gopolicy.lazy_policy import LazyPolicy
from gopolicy.network_options import add_network_arguments, weights_missing


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `gopolicy analysis`, and KataGo's, which are accepted and ignored."""
    parser.add_argument("mode", nargs="?", choices=["analysis"],
                        help="KataGo's subcommand word, as KaTrain puts it (ignored)")
    add_network_arguments(parser)
    katago = parser.add_argument_group("KataGo's flags (accepted, ignored unless noted)")
    for flag in ("-model", "-human-model", "-config", "-override-config"):
        katago.add_argument(flag, action="append", metavar="VALUE", default=[])
    katago.add_argument("-analysis-threads", metavar="THREADS")
    katago.add_argument("-quit-without-waiting", action="store_true",
                        help="at the end of input, drop queued queries instead of answering them")


def run(args) -> int:
    """Serve KataGo's analysis protocol on stdin/stdout until the end of input; return the exit status."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="gopolicy: %(message)s")
    if weights_missing("analysis", args.weights):
        return 2
    output = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
    sys.stdout = sys.stderr  # a stray print() must never corrupt the protocol
    policy = LazyPolicy(args.weights, args.device, args.symmetries)
    print("gopolicy analysis: policy network only (no search, no value, no ownership); "
          "ready to begin handling requests", file=sys.stderr, flush=True)
    server = AnalysisServer(policy.get, BoundedLines.from_fd(sys.stdin.fileno()), output,
                            quit_without_waiting=args.quit_without_waiting)
    return server.run()


def katago_main() -> int:
    """The `gopolicy-katago` command: `gopolicy analysis` with its arguments, for KaTrain's
    "KataGo executable" setting (KaTrain runs `<exe> analysis -model M -config C ...`);
    returns the exit status."""
    quiet_openmp_threads()
    parser = argparse.ArgumentParser(prog="gopolicy-katago", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args())
