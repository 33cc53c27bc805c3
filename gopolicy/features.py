"""The 48 AlphaGo input planes (Silver et al. 2016, Extended Data Table 2).

`encode(position)` returns uint8[48, size, size], indexed [plane, row, col] with row 0
the bottom row, all from the view of the side to move ("own" = position.to_play).
Where the paper is silent we follow RocAlphaGo's reading.

| index | planes | feature               | meaning                                                        |
| ----: | -----: | --------------------- | -------------------------------------------------------------- |
|   0-2 |      3 | stone colour          | own stone / opponent stone / empty                             |
|     3 |      1 | ones                  | constant 1                                                     |
|  4-11 |      8 | turns since           | stones: plane min(age, 7); age 0 = stone of the last move; a   |
|       |        |                       | pass ages every stone; setup stones are older than any move    |
| 12-19 |      8 | liberties             | stones: plane min(liberties of the string, 8) - 1              |
| 20-27 |      8 | capture size          | legal points: plane min(stones captured, 7)                    |
| 28-35 |      8 | self-atari size       | legal points leaving the own string with exactly 1 liberty:    |
|       |        |                       | plane min(string size, 8) - 1                                  |
| 36-43 |      8 | liberties after move  | legal points: plane min(liberties of own string after, 8) - 1  |
|    44 |      1 | ladder capture        | the move ataris an opponent string and the ladder search       |
|       |        |                       | proves it captured                                             |
|    45 |      1 | ladder escape         | the move (extension, or capture of an attacker string) saves   |
|       |        |                       | an own string in atari from the ladder                         |
|    46 |      1 | sensibleness          | legal and not filling an own eye (on-board neighbours all own; |
|       |        |                       | no opponent diagonal on the edge, at most one elsewhere)       |
|    47 |      1 | zeros                 | constant 0                                                     |

Legal = empty, not suicide, not the simple-ko point (positional superko is not checked).
Capture size, self-atari and liberties-after all come from ONE simulated move per point
(`feature_kernels._simulate`). Ladders are searched by `gopolicy.ladders` (bounded: at
most `ladders.MAX_DEPTH` plies and `ladders.MAX_NODES` nodes per question; at the bound
the string is assumed NOT captured, so plane 44 is never set on a guess, while plane 45
may be set on a guess in a ladder longer than any on a 19x19 board).

Planes are in one-hot form; the encoding runs in numba kernels on one core.
"""

import warnings
from dataclasses import dataclass
from itertools import accumulate
from typing import Callable

import numpy as np
from numba import literal_unroll, njit
from numba.core.errors import NumbaExperimentalFeatureWarning

from gopolicy import feature_kernels as K
from gopolicy.board_kernels import views
from gopolicy.coords import neighbour_table

FEATURE_VERSION = 1
NUM_PLANES = 48


@dataclass(frozen=True)
class Feature:
    """One block of planes: `fn(ctx, out, first)` fills planes first..first+planes-1."""

    name: str
    planes: int
    fn: Callable


FEATURES = (
    Feature("stone colour", 3, K.fill_colour),
    Feature("ones", 1, K.fill_ones),
    Feature("turns since", 8, K.fill_turns_since),
    Feature("liberties", 8, K.fill_liberties),
    Feature("capture size", 8, K.fill_capture_size),
    Feature("self-atari size", 8, K.fill_self_atari),
    Feature("liberties after move", 8, K.fill_liberties_after),
    Feature("ladder capture", 1, K.fill_ladder_capture),
    Feature("ladder escape", 1, K.fill_ladder_escape),
    Feature("sensibleness", 1, K.fill_sensibleness),
    Feature("zeros", 1, K.fill_zeros),
)
FIRST_PLANE = tuple(accumulate((f.planes for f in FEATURES), initial=0))[:-1]

if sum(f.planes for f in FEATURES) != NUM_PLANES:
    raise ImportError(f"feature table has {sum(f.planes for f in FEATURES)} planes, not {NUM_PLANES}")

# what the fused kernel iterates over (a tuple of dispatchers is a compile-time constant)
_FILLERS = tuple(f.fn for f in FEATURES)


def feature_planes(name: str) -> slice:
    """Return the slice of plane indices of the feature called `name`; KeyError if unknown."""
    for feature, first in zip(FEATURES, FIRST_PLANE):
        if feature.name == name:
            return slice(first, first + feature.planes)
    raise KeyError(name)


@njit(cache=True)
def _encode_kernel(buf, ko, to_play, move_number, nbr, size, firsts, out):
    """Fill out (uint8[48, N], zero on entry) for the position whose per-point state is
    `buf` (see board_kernels.views); returns the ladder searches run."""
    placed, chain, nxt, libs, chain_size, stones = views(buf, size * size)
    ctx = np.zeros((K.CTX_ROWS, stones.shape[0]), np.int32)
    searches = K.analyse(stones, chain, nxt, libs, chain_size, placed, ko, to_play,
                         move_number, nbr, size, ctx)
    i = 0
    for fill in literal_unroll(_FILLERS):
        fill(ctx, out, firsts[i])
        i += 1
    return searches


def _encode_into(position, out: np.ndarray) -> int:
    """Write the planes of `position` into zeroed uint8[48, N] `out`; return ladder searches."""
    # the raw state buffer rather than the six array properties: building their views
    # costs more per position than a third of the whole encoding
    size = position.size
    return _encode_kernel(position.state_buffer, position.ko, position.to_play,
                          position.move_number, neighbour_table(size), size, _FIRSTS_ARRAY, out)


_FIRSTS_ARRAY = np.array(FIRST_PLANE, np.int64)
_FIRSTS_ARRAY.flags.writeable = False


def _compile_quietly(position) -> None:
    """Compile (or load from cache) the fused kernel, hiding numba's warning that calling
    a tuple of kernels is an experimental feature."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
        _encode_into(position, np.zeros((NUM_PLANES, position.size ** 2), np.uint8))


def encode(position) -> np.ndarray:
    """Return the uint8[48, size, size] planes of `position` from to_play's view."""
    n = position.size * position.size
    out = np.zeros((NUM_PLANES, n), np.uint8)
    if not _encode_kernel.signatures:
        _compile_quietly(position)
    _encode_into(position, out)
    return out.reshape(NUM_PLANES, position.size, position.size)


def encode_batch(positions) -> np.ndarray:
    """Return uint8[B, 48, size, size] for a sequence of same-size positions; ValueError
    if the sizes differ or the sequence is empty."""
    positions = list(positions)
    if not positions:
        raise ValueError("encode_batch needs at least one position")
    size = positions[0].size
    if any(p.size != size for p in positions):
        raise ValueError("encode_batch needs positions of one board size")
    out = np.zeros((len(positions), NUM_PLANES, size * size), np.uint8)
    if not _encode_kernel.signatures:
        _compile_quietly(positions[0])
    for i, position in enumerate(positions):
        _encode_into(position, out[i])
    return out.reshape(len(positions), NUM_PLANES, size, size)


def sensible_points(position) -> np.ndarray:
    """Return bool[size, size]: the sensibleness plane of `position` for its side to play
    (legal and filling no own eye), computed alone, as encode's plane 46 without the rest."""
    size = position.size
    legal = position.legal_mask(position.to_play).reshape(-1)
    out = np.zeros(size * size, np.bool_)
    K.sensible_points(position.stones, legal, neighbour_table(size), size, position.to_play, out)
    return out.reshape(size, size)

