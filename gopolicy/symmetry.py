"""The 8 symmetries of the square board (the dihedral group D4).

Points are sgfmill's ``(row, col)`` with row 0 the bottom row (GTP row 1) and col 0
column A; ``n = size - 1``. Planes are arrays ``[..., H, W]`` indexed ``[row, col]``.
A symmetry is an int ``0..7`` made of three bits, applied in this order: bit 2
transposes (row <-> col), then bit 0 flips the rows, then bit 1 flips the columns.

| sym | (row, col) goes to | on the board (A1 lower left)        | A1 goes to (19x19) |
| --: | ------------------ | ----------------------------------- | ------------------ |
|  0  | (row, col)         | identity                            | A1                 |
|  1  | (n-row, col)       | mirror top <-> bottom               | A19                |
|  2  | (row, n-col)       | mirror left <-> right               | T1                 |
|  3  | (n-row, n-col)     | rotate 180 degrees                  | T19                |
|  4  | (col, row)         | mirror in the A1-T19 diagonal       | A1                 |
|  5  | (n-col, row)       | rotate 90 degrees clockwise         | A19                |
|  6  | (col, n-row)       | rotate 90 degrees counter-clockwise | T1                 |
|  7  | (n-col, n-row)     | mirror in the A19-T1 diagonal       | T19                |

Every transform satisfies ``apply(apply(x, s), inverse(s)) == x`` and
``apply(x, compose(a, b)) == apply(apply(x, b), a)``. A plane that is one-hot at
``p`` becomes one-hot at ``transform_point(p, s)``. The pass move (``None``, or the
flat index ``size * size``) is fixed by every symmetry.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

NUM_SYMMETRIES = 8
IDENTITY = 0

_TRANSPOSE = 4
_FLIP_ROWS = 1
_FLIP_COLS = 2


def _check(sym: int) -> int:
    """Return sym as an int; raise ValueError unless it is 0..7."""
    if not 0 <= sym < NUM_SYMMETRIES:
        raise ValueError(f"symmetry must be in 0..7, got {sym!r}")
    return int(sym)


def _apply_numpy(planes: np.ndarray, sym: int) -> np.ndarray:
    out = planes
    if sym & _TRANSPOSE:
        out = np.swapaxes(out, -1, -2)
    if sym & _FLIP_ROWS:
        out = out[..., ::-1, :]
    if sym & _FLIP_COLS:
        out = out[..., ::-1]
    return np.ascontiguousarray(out)


def _apply_torch(planes, sym: int):
    out = planes
    if sym & _TRANSPOSE:
        out = out.transpose(-1, -2)
    dims = [d for bit, d in ((_FLIP_ROWS, -2), (_FLIP_COLS, -1)) if sym & bit]
    if dims:
        out = out.flip(dims)
    return out.contiguous()


def apply(planes, sym: int):
    """Return planes ``[..., H, W]`` (H == W) transformed by symmetry sym.

    numpy arrays come back as a C-contiguous numpy array (the input itself for
    symmetry 0 when it is already contiguous); torch tensors as a contiguous tensor
    on the same device. Raises ValueError for a bad sym or non-square planes.
    """
    sym = _check(sym)
    if planes.shape[-1] != planes.shape[-2]:
        raise ValueError(f"planes must be square in the last two axes, got {tuple(planes.shape)}")
    if isinstance(planes, np.ndarray):
        return _apply_numpy(planes, sym)
    if hasattr(planes, "flip") and hasattr(planes, "contiguous"):
        return _apply_torch(planes, sym)
    return _apply_numpy(np.asarray(planes), sym)


def transform_point(point, sym: int, size: int = 19):
    """Return the image of a (row, col) point under sym; None (a pass) stays None."""
    sym = _check(sym)
    if point is None:
        return None
    row, col = point
    if not (0 <= row < size and 0 <= col < size):
        raise ValueError(f"point {point!r} is off a {size}x{size} board")
    n = size - 1
    if sym & _TRANSPOSE:
        row, col = col, row
    if sym & _FLIP_ROWS:
        row = n - row
    if sym & _FLIP_COLS:
        col = n - col
    return (row, col)


def transform_index(index: int, sym: int, size: int = 19) -> int:
    """Return the image of a flat index row*size+col; size*size (pass) maps to itself."""
    if index == size * size:
        _check(sym)
        return index
    if not 0 <= index < size * size:
        raise ValueError(f"index {index} is off a {size}x{size} board")
    row, col = transform_point(divmod(index, size), sym, size)
    return row * size + col


@lru_cache(maxsize=None)
def index_permutation(sym: int, size: int = 19) -> np.ndarray:
    """Return int64[size*size] p with p[i] = transform_index(i, sym): read-only, cached.

    Vectorised move mapping: ``p[moves]`` transforms a batch of flat indices, and for
    flat values ``out[p] = values`` equals ``apply(values.reshape(size, size), sym)``.
    """
    sym = _check(sym)
    grid = np.arange(size * size, dtype=np.int64).reshape(size, size)
    # apply() moves the value at i to position p[i]; invert that placement.
    moved = apply(grid, sym).ravel()
    perm = np.empty(size * size, dtype=np.int64)
    perm[moved] = np.arange(size * size, dtype=np.int64)
    perm.setflags(write=False)
    return perm


def _tables() -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """Return (inverse table, composition table) found by transforming a 3x3 grid."""
    grid = np.arange(9).reshape(3, 3)
    images = [apply(grid, s) for s in range(NUM_SYMMETRIES)]

    def which(array: np.ndarray) -> int:
        return next(s for s, image in enumerate(images) if np.array_equal(image, array))

    composition = tuple(
        tuple(which(apply(images[b], a)) for b in range(NUM_SYMMETRIES))
        for a in range(NUM_SYMMETRIES)
    )
    inverses = tuple(row.index(IDENTITY) for row in composition)
    return inverses, composition


_INVERSE, _COMPOSE = _tables()


def inverse(sym: int) -> int:
    """Return the symmetry that undoes sym."""
    return _INVERSE[_check(sym)]


def compose(a: int, b: int) -> int:
    """Return the symmetry equal to applying b first, then a."""
    return _COMPOSE[_check(a)][_check(b)]
