"""gopolicy: an AlphaGo-style supervised policy network for Go.

The public Python API (see ARCHITECTURE.md, Contracts):

    gopolicy.load_game(path_or_bytes) -> Game      # Game.positions() yields (Position, next_move)
    gopolicy.encode(position) -> uint8[48, 19, 19] # the AlphaGo feature planes
    gopolicy.Position, gopolicy.IllegalMove        # the rules

Names are imported on first use, so `import gopolicy` stays cheap and torch is only
loaded by the modules that need it (model, policy, weights).
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "load_game": "gopolicy.sgf_io",
    "read_collection": "gopolicy.sgf_collections",
    "Game": "gopolicy.sgf_io",
    "encode": "gopolicy.features",
    "encode_batch": "gopolicy.features",
    "FEATURE_VERSION": "gopolicy.features",
    "Position": "gopolicy.board",
    "IllegalMove": "gopolicy.board",
    "BLACK": "gopolicy.board",
    "WHITE": "gopolicy.board",
    "Policy": "gopolicy.policy",
    "PolicyMap": "gopolicy.policy",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    """Return the exported object `name`, importing its module on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'gopolicy' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
