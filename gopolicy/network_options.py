"""The network options of every command that loads a network: --weights, --device, --symmetries.

Declared once, as KataGo's python/ scripts share one argument helper, so that `gtp`,
`analysis`, `match`, `evaluate`, `heatmap`, `review` and `annotate` agree on names,
defaults and checks. Parsing checks the form of a value only and never imports torch (the
engines must answer at once); whether CUDA is there is said by gopolicy.policy's
resolve_device when the network loads.
"""

import argparse
import sys
from pathlib import Path

from gopolicy.symmetry import NUM_SYMMETRIES

# Averaging all 8 symmetries gained 0.6 points of top-1 on test games (the model card,
# "Eight symmetries"), for 2-4 times the time of a move; `--symmetries 1` is the fast path.
DEFAULT_SYMMETRIES = NUM_SYMMETRIES


def parse_device(text: str) -> str:
    """Return `text` when it names a device: "auto", "cpu", "cuda" or "cuda:N".

    Raises ValueError otherwise.
    """
    if text in ("auto", "cpu", "cuda") or (text.startswith("cuda:") and text[5:].isdigit()):
        return text
    raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {text!r}")


def parse_symmetries(text: str) -> int:
    """Return the number of board symmetries to average, an int in 1..8.

    Raises ValueError for anything else.
    """
    if text not in [str(count) for count in range(1, NUM_SYMMETRIES + 1)]:
        raise ValueError(f"symmetries must be 1..{NUM_SYMMETRIES}, got {text!r}")
    return int(text)


def _argument_type(parse):
    """Return an argparse `type` calling `parse`, whose ValueError becomes argparse's usage
    error with the parser's message (argparse would print only "invalid value")."""

    def checked(text: str):
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    checked.__name__ = parse.__name__
    return checked


def add_network_arguments(parser: argparse.ArgumentParser, whose: str = "") -> None:
    """Add --weights (a Path or None: the shipped network), --device (default auto) and
    --symmetries (default DEFAULT_SYMMETRIES, all 8) to `parser`; `whose` prefixes the help ("our " in a match)."""
    parser.add_argument("--weights", type=Path, default=None, metavar="FILE",
                        help=f"{whose}weights file (.safetensors; default: the shipped network, "
                             "weights/default.safetensors)")
    parser.add_argument("--device", type=_argument_type(parse_device), default="auto",
                        help="auto (CUDA when present; the default), cpu, cuda or cuda:N")
    parser.add_argument("--symmetries", type=_argument_type(parse_symmetries), default=DEFAULT_SYMMETRIES,
                        metavar="N", help=f"average {whose or 'the '}policy over N of the 8 board symmetries "
                                          f"(1..8, default {DEFAULT_SYMMETRIES}; 1 is the fastest)")


def weights_missing(command: str, weights: Path | None) -> bool:
    """Return True, having said so on stderr, when --weights names no file (None, the shipped
    network, is never missing here): the protocol engines refuse to start without one."""
    if weights is None or weights.is_file():
        return False
    print(f"gopolicy {command}: no weights file {weights}", file=sys.stderr)
    return True
