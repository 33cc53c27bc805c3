"""The `gopolicy` command: one entry point, one module per subcommand.

Each subcommand lives in the module that does its job; that module provides
`add_arguments(parser)` and `run(args) -> int` (the exit status). Modules are
imported only when their subcommand runs, so `gopolicy gtp` never loads the
trainer and `gopolicy prepare` never loads torch.
"""

import argparse
import os
import sys
from importlib import import_module

# name -> (module, one-line help)
SUBCOMMANDS = {
    "gtp": ("gopolicy.engine.gtp.command", "play over the Go Text Protocol (GoGui, Sabaki, Lizzie, KaTrain)"),
    "analysis": ("gopolicy.engine.katago.command", "answer KataGo's JSON analysis protocol with the policy (KaTrain)"),
    "match": ("gopolicy.engine.match.runner", "play matches against another GTP engine"),
    "prepare": ("gopolicy.training.prepare", "turn SGF collections into training shards"),
    "train": ("gopolicy.training.trainer", "train a policy network on prepared shards"),
    "export": ("gopolicy.training.export", "write a training run's network to a weights file"),
    "evaluate": ("gopolicy.training.evaluate", "move-prediction accuracy of a network on SGF games"),
    "burst": ("gopolicy.training.burst.command", "prepare, train, export and evaluate in minutes on a lent GPU, under deadlines"),
    "bench": ("gopolicy.benchmarks.bench", "measure the performance figures on this machine"),
    "heatmap": ("gopolicy.review.heatmap", "draw the policy heatmap of one position (PNG, SVG or terminal)"),
    "review": ("gopolicy.review.html", "write a self-contained HTML page stepping through a game"),
    "annotate": ("gopolicy.review.annotate", "write the policy into an SGF as labels and comments"),
    "plot": ("gopolicy.review.curves", "plot the training curves of a run"),
}


def quiet_openmp_threads() -> None:
    """Let idle OpenMP threads sleep instead of spin, unless the environment says otherwise.

    Read by OpenMP when torch loads, so call it first: on a busy machine it keeps batch-1
    inference near 45 ms instead of a 70-500 ms spread.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser; subcommand options are added on demand."""
    from gopolicy import __version__

    parser = argparse.ArgumentParser(prog="gopolicy", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"gopolicy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, description=help_text, add_help=False)
    return parser


def main(argv=None) -> int:
    """Run one subcommand; return its exit status (2 for usage errors)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    quiet_openmp_threads()
    parser = build_parser()
    if not argv or argv[0] not in SUBCOMMANDS:
        parser.parse_args(argv)  # prints usage or the error and exits
        return 2
    name, rest = argv[0], argv[1:]
    module = import_module(SUBCOMMANDS[name][0])
    sub = argparse.ArgumentParser(prog=f"gopolicy {name}", description=SUBCOMMANDS[name][1])
    module.add_arguments(sub)
    args = sub.parse_args(rest)
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
