"""The network options are one set: every command that loads a network takes --weights,
--device and --symmetries with the same defaults and the same checks."""

import argparse
from importlib import import_module

import pytest

from gopolicy.cli import SUBCOMMANDS
from gopolicy.network_options import parse_device, parse_symmetries

LOADING_A_NETWORK = ["gtp", "analysis", "match", "evaluate", "heatmap", "review", "annotate"]


def parser_of(command: str) -> argparse.ArgumentParser:
    """Return the parser of `gopolicy COMMAND`, built as gopolicy.cli builds it."""
    parser = argparse.ArgumentParser(prog=f"gopolicy {command}")
    import_module(SUBCOMMANDS[command][0]).add_arguments(parser)
    return parser


def network_options(command: str, *argv: str) -> tuple:
    """Return (weights, device, symmetries) as `command` parses them (with its required arguments)."""
    required = {"match": ["--opponent", "gnugo"], "evaluate": ["games/"],
                "heatmap": ["g.sgf", "--move", "0"], "review": ["g.sgf", "-o", "r.html"],
                "annotate": ["g.sgf", "-o", "a.sgf"]}.get(command, [])
    args = parser_of(command).parse_args([*required, *argv])
    return args.weights, args.device, args.symmetries


@pytest.mark.parametrize("command", LOADING_A_NETWORK)
def test_same_defaults_everywhere(command):
    assert network_options(command) == (None, "auto", 8)


@pytest.mark.parametrize("command", LOADING_A_NETWORK)
def test_cuda_n_and_one_symmetry_accepted_everywhere(command):
    weights, device, symmetries = network_options(command, "--weights", "w.safetensors",
                                                  "--device", "cuda:1", "--symmetries", "1")
    assert (str(weights), device, symmetries) == ("w.safetensors", "cuda:1", 1)


@pytest.mark.parametrize("text", ["auto", "cpu", "cuda", "cuda:0", "cuda:12"])
def test_device_names(text):
    assert parse_device(text) == text


@pytest.mark.parametrize("text", ["gpu", "cuda:", "cuda:x", "CPU", "mps", ""])
def test_unknown_devices_are_refused(text):
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"):
        parse_device(text)


@pytest.mark.parametrize("text", ["0", "9", "-1", "x", "1.5", "٣", "9" * 5000])
def test_symmetries_outside_one_to_eight_are_refused(text):
    with pytest.raises(ValueError, match="symmetries must be 1..8"):
        parse_symmetries(text)
