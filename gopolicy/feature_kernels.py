"""Numba kernels behind `features.encode`: one analysis pass, then one filler per feature.

`analyse` reads the flat arrays of a Position once and writes a context, int32[CTX_ROWS, N],
of per-point facts (side-to-move view of the stones, ages, liberties, and for every legal
point the outcome of ONE simulated move: legality, stones captured, own string size and
liberties after it, ladder results, sensibleness). Each filler turns some rows of the
context into its one-hot planes, so the feature table in `features.py` stays declarative.

Liberties after a move are an OR of per-chain liberty bitsets (uint64 words computed
once per position) plus a popcount; the captured stones are walked only when the move
captures something.
"""

import numpy as np
from numba import njit

from gopolicy.ladders import ladder_planes

# rows of the context written by `analyse`
VIEW, AGE, LIBS, LEGAL, CAPTURED, SIZE_AFTER, LIBS_AFTER, LADDER_CAPTURE, LADDER_ESCAPE, \
    SENSIBLE = range(10)
CTX_ROWS = 10

_ONE = np.uint64(1)
_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


@njit(cache=True, inline="always")
def _popcount(x):
    """Return the number of set bits of the uint64 `x` (SWAR; numba has no intrinsic)."""
    x = x - ((x >> _ONE) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return np.int64((x * _H01) >> np.uint64(56))


@njit(cache=True, inline="always")
def _setbit(bits, p):
    """Set bit p of the uint64 word array `bits`."""
    bits[p >> 6] |= _ONE << np.uint64(p & 63)


@njit(cache=True, inline="always")
def _is_eye(stones, nbr, size, p, colour):
    """Return True if empty p is an own eye of `colour` in the sense of plane 46."""
    on_board = 0
    for k in range(4):
        q = nbr[p, k]
        if q >= 0:
            on_board += 1
            if stones[q] != colour:
                return False
    # diagonals written out: a loop over a tuple here costs more than the whole test
    row = p // size
    col = p - row * size
    up = row + 1 < size
    down = row > 0
    left = col > 0
    right = col + 1 < size
    bad = 0
    if up and left and stones[p + size - 1] == -colour:
        bad += 1
    if up and right and stones[p + size + 1] == -colour:
        bad += 1
    if down and left and stones[p - size - 1] == -colour:
        bad += 1
    if down and right and stones[p - size + 1] == -colour:
        bad += 1
    return bad == 0 if on_board < 4 else bad <= 1


@njit(cache=True, inline="always")
def _listed(items, count, c):
    """Return True if c is among the first `count` entries of `items`."""
    for i in range(count):
        if items[i] == c:
            return True
    return False


@njit(cache=True)
def _simulate(stones, chain, nxt, libs, chain_size, nbr, libbits, acc, own, dead, p, colour):
    """Simulate `colour` playing empty p: return (legal, captured, own_size, libs_after).

    Legality here ignores ko (the caller checks it). `acc` (uint64 words), `own` and
    `dead` (4 chain ids each) are scratch.
    """
    n_own = 0
    n_dead = 0
    n_empty = 0
    captured = 0
    own_size = 1
    safe_own = False
    for k in range(4):
        q = nbr[p, k]
        if q < 0:
            continue
        s = stones[q]
        if s == 0:
            n_empty += 1
            continue
        c = chain[q]
        if s == colour:
            if not _listed(own, n_own, c):
                own[n_own] = c
                n_own += 1
                own_size += chain_size[c]
                safe_own = safe_own or libs[c] > 1
        elif libs[c] == 1 and not _listed(dead, n_dead, c):
            dead[n_dead] = c
            n_dead += 1
            captured += chain_size[c]
    if n_empty == 0 and captured == 0 and not safe_own:
        return False, 0, 0, 0
    if n_own == 0 and captured == 0:
        return True, 0, 1, n_empty
    # plain indexing only: array slices here cost reference counting on every call
    for w in range(acc.shape[0]):
        acc[w] = 0
    for k in range(4):
        q = nbr[p, k]
        if q >= 0 and stones[q] == 0:
            _setbit(acc, q)
    for i in range(n_own):
        c = own[i]
        for w in range(acc.shape[0]):
            acc[w] |= libbits[c, w]
    acc[p >> 6] &= ~(_ONE << np.uint64(p & 63))
    # captured stones next to p or to a merged own chain become liberties
    for i in range(n_dead):
        d = dead[i]
        s = d
        while True:
            for k in range(4):
                r = nbr[s, k]
                if r == p or (r >= 0 and stones[r] == colour and _listed(own, n_own, chain[r])):
                    _setbit(acc, s)
                    break
            s = nxt[s]
            if s == d:
                break
    count = 0
    for w in range(acc.shape[0]):
        count += _popcount(acc[w])
    return True, captured, own_size, count


@njit(cache=True)
def analyse(stones, chain, nxt, libs, chain_size, placed, ko, to_play, move_number, nbr,
            size, ctx):
    """Fill the context `ctx` (int32[CTX_ROWS, N], zero on entry) for `to_play`; returns
    the number of ladder searches run."""
    n = stones.shape[0]
    words = (n + 63) >> 6
    libbits = np.zeros((n, words), np.uint64)
    acc = np.zeros(words, np.uint64)
    own = np.empty(4, np.int64)
    dead = np.empty(4, np.int64)
    for p in range(n):
        s = stones[p]
        if s == 0:
            ctx[AGE, p] = -1
            continue
        ctx[VIEW, p] = 1 if s == to_play else -1
        # setup stones sit a million moves back: clip so int32 never overflows
        ctx[AGE, p] = min(move_number - 1 - placed[p], 1 << 30)
        r = chain[p]
        ctx[LIBS, p] = libs[r]
        for k in range(4):
            q = nbr[p, k]
            if q >= 0 and stones[q] == 0:
                libbits[r, q >> 6] |= _ONE << np.uint64(q & 63)
    # Screen: a point touching no own string and no string in atari is settled at once
    # (liberties = empty neighbours). The others get the full simulation in a second
    # loop: a call inside this loop, even one never taken, made it several times slower.
    pending = np.empty(n, np.int64)
    n_pending = 0
    for p in range(n):
        if stones[p] != 0 or p == ko:
            continue
        n_empty = 0
        simple = True
        for k in range(4):
            q = nbr[p, k]
            if q >= 0:
                s = stones[q]
                if s == 0:
                    n_empty += 1
                elif s == to_play or libs[chain[q]] == 1:
                    simple = False
        if not simple:
            pending[n_pending] = p
            n_pending += 1
        elif n_empty > 0:
            ctx[LEGAL, p] = 1
            ctx[SIZE_AFTER, p] = 1
            ctx[LIBS_AFTER, p] = n_empty
            ctx[SENSIBLE, p] = 1  # no own neighbour: cannot be an own eye
    for i in range(n_pending):
        p = pending[i]
        legal, captured, own_size, libs_after = _simulate(
            stones, chain, nxt, libs, chain_size, nbr, libbits, acc, own, dead, p, to_play)
        if not legal:
            continue
        ctx[LEGAL, p] = 1
        ctx[CAPTURED, p] = captured
        ctx[SIZE_AFTER, p] = own_size
        ctx[LIBS_AFTER, p] = libs_after
        ctx[SENSIBLE, p] = 0 if _is_eye(stones, nbr, size, p, to_play) else 1
    return ladder_planes(stones, chain, libs, nbr, to_play, ko, ctx[LEGAL], ctx[LIBS_AFTER],
                         ctx[LADDER_CAPTURE], ctx[LADDER_ESCAPE])


# --- fillers: fn(ctx, out uint8[48, N], first plane) ---------------------------------------

@njit(cache=True)
def fill_colour(ctx, out, first):
    """Planes own stone / opponent stone / empty."""
    for p in range(ctx.shape[1]):
        v = ctx[VIEW, p]
        out[first + (0 if v > 0 else (1 if v < 0 else 2)), p] = 1


@njit(cache=True)
def fill_ones(ctx, out, first):
    """A plane of ones."""
    out[first, :] = 1


@njit(cache=True)
def fill_zeros(ctx, out, first):
    """A plane of zeros (the caller's buffer is zero already)."""
    out[first, :] = 0


@njit(cache=True)
def fill_turns_since(ctx, out, first):
    """Stones: plane min(age, 7)."""
    for p in range(ctx.shape[1]):
        if ctx[VIEW, p] != 0:
            out[first + min(ctx[AGE, p], 7), p] = 1


@njit(cache=True)
def fill_liberties(ctx, out, first):
    """Stones: plane min(liberties, 8) - 1."""
    for p in range(ctx.shape[1]):
        if ctx[VIEW, p] != 0:
            out[first + min(ctx[LIBS, p], 8) - 1, p] = 1


@njit(cache=True)
def fill_capture_size(ctx, out, first):
    """Legal points: plane min(captured, 7)."""
    for p in range(ctx.shape[1]):
        if ctx[LEGAL, p]:
            out[first + min(ctx[CAPTURED, p], 7), p] = 1


@njit(cache=True)
def fill_self_atari(ctx, out, first):
    """Legal points left with one liberty: plane min(own string size, 8) - 1."""
    for p in range(ctx.shape[1]):
        if ctx[LEGAL, p] and ctx[LIBS_AFTER, p] == 1:
            out[first + min(ctx[SIZE_AFTER, p], 8) - 1, p] = 1


@njit(cache=True)
def fill_liberties_after(ctx, out, first):
    """Legal points: plane min(liberties after the move, 8) - 1."""
    for p in range(ctx.shape[1]):
        if ctx[LEGAL, p]:
            out[first + min(ctx[LIBS_AFTER, p], 8) - 1, p] = 1


@njit(cache=True)
def fill_ladder_capture(ctx, out, first):
    """Ladder capture moves."""
    for p in range(ctx.shape[1]):
        out[first, p] = ctx[LADDER_CAPTURE, p]


@njit(cache=True)
def fill_ladder_escape(ctx, out, first):
    """Ladder escape moves."""
    for p in range(ctx.shape[1]):
        out[first, p] = ctx[LADDER_ESCAPE, p]


@njit(cache=True)
def fill_sensibleness(ctx, out, first):
    """Legal moves that do not fill an own eye."""
    for p in range(ctx.shape[1]):
        out[first, p] = ctx[SENSIBLE, p]


@njit(cache=True)
def sensible_points(stones, legal, nbr, size, colour, out):
    """Set out[p] (bool[N]) for the `legal` points p that fill no own eye of `colour`: the
    sensibleness plane alone, for move choice, without the ladder searches of `analyse`."""
    for p in range(stones.shape[0]):
        out[p] = legal[p] and not _is_eye(stones, nbr, size, p, colour)
