"""Ladder search: can a string be captured by a chain of ataris?

A ladder is read on a scratch copy of the board (int8 stones; strings found by flood
fill, moves undone from a stack), not with Position objects, so a search costs
microseconds. The rules of the search:

- the attacker must keep the prey in atari: with the attacker to move and the prey at
  two liberties, the attacker tries each of them in turn;
- the defender, in atari, either extends at its liberty or captures an attacker string
  next to the prey that is itself in atari (at most `MAX_OPTIONS` such moves);
- the prey is captured when it is in atari with the attacker to move; it escapes when
  it reaches three or more liberties, or when the attacker cannot atari it any more;
- suicide is illegal and a simple ko may not be retaken at once.

The search is bounded: at most `MAX_DEPTH` plies and `MAX_NODES` nodes per question.
At the bound the prey is assumed NOT captured, so a proven capture is always a real
one; an escape claimed at the bound (a ladder longer than any on a 19x19 board, or
a position with many capturable attacker strings) may be wrong.

Kernels take the flat arrays of a Position (see `board_kernels`) and a neighbour
table from `coords.neighbour_table`; `ladder_planes` fills the two AlphaGo ladder
planes and is called by the feature kernels. `is_captured` and `ladder_masks` are
the Python entry points (tests, tools).
"""

import numpy as np
from numba import njit

from gopolicy.coords import Point, neighbour_table

MAX_DEPTH = 120   # plies; a ladder across a 19x19 board needs about 72
MAX_NODES = 1000  # search nodes per question
MAX_OPTIONS = 8   # defender moves tried at one node (1 extension + captures)

# slots of the `meta` int64 array shared by the kernels of one search
_GEN, _GEN2, _NODES, _SP, _KO = 0, 1, 2, 3, 4


@njit(cache=True)
def _flood(board, nbr, p, mark, meta, stones, libs, max_libs):
    """Return (n_stones, n_libs) of the string at p, listed in `stones`/`libs`.

    Stops early once more than `max_libs` liberties are found (the stone list is then
    incomplete); the lists are complete whenever n_libs <= max_libs.
    """
    meta[_GEN] += 1
    gen = meta[_GEN]
    colour = board[p]
    mark[p] = gen
    stones[0] = p
    ns = 1
    nl = 0
    i = 0
    while i < ns:
        q = stones[i]
        i += 1
        for k in range(4):
            r = nbr[q, k]
            if r < 0 or mark[r] == gen:
                continue
            s = board[r]
            if s == colour:
                mark[r] = gen
                stones[ns] = r
                ns += 1
            elif s == 0:
                mark[r] = gen
                libs[nl] = r
                nl += 1
                if nl > max_libs:
                    return ns, nl
    return ns, nl


@njit(cache=True)
def _play(board, nbr, p, colour, ko, mark, meta, undo, bs, bl):
    """Play `colour` at p on the scratch board; return stones captured, or -1 if illegal.

    Captured points are pushed on `undo` (from meta[_SP]); meta[_KO] receives the new
    simple-ko point (-1 if none). An illegal move leaves the board unchanged.
    """
    if board[p] != 0 or p == ko:
        return -1
    board[p] = colour
    captured = 0
    last = -1
    for k in range(4):
        q = nbr[p, k]
        if q < 0 or board[q] != -colour:
            continue
        ns, nl = _flood(board, nbr, q, mark, meta, bs, bl, 0)
        if nl == 0:
            sp = meta[_SP]
            for i in range(ns):
                board[bs[i]] = 0
                undo[sp + i] = bs[i]
            meta[_SP] = sp + ns
            captured += ns
            last = bs[0]
    if captured == 0:
        ns, nl = _flood(board, nbr, p, mark, meta, bs, bl, 0)
        if nl == 0:
            board[p] = 0
            return -1
    meta[_KO] = -1
    if captured == 1:
        # a lone stone that took one stone and has that point as its only liberty
        own = 0
        empty = 0
        for k in range(4):
            q = nbr[p, k]
            if q >= 0:
                if board[q] == colour:
                    own += 1
                elif board[q] == 0:
                    empty += 1
        if own == 0 and empty == 1:
            meta[_KO] = last
    return captured


@njit(cache=True)
def _unplay(board, p, colour, undo, meta, sp):
    """Take back the stone at p and put back the stones captured since stack pointer sp."""
    board[p] = 0
    for i in range(sp, meta[_SP]):
        board[undo[i]] = -colour
    meta[_SP] = sp


@njit(cache=True)
def _search(board, nbr, mark, mark2, meta, undo, bs, bl, bs2, bl2, opts,
            prey, ko, attacker, depth):
    """Return True if the ladder captures the string at `prey` (attacker to move if
    `attacker`, else the defender); False if it escapes or a bound is reached."""
    meta[_NODES] += 1
    if meta[_NODES] > MAX_NODES or depth >= MAX_DEPTH or meta[_SP] > undo.shape[0] - board.shape[0]:
        return False  # assumed not captured at the bound
    colour = board[prey]
    ns, nl = _flood(board, nbr, prey, mark, meta, bs, bl, 2)
    if attacker:
        if nl == 1:
            return bl[0] != ko
        if nl >= 3:
            return False
        l0 = bl[0]
        l1 = bl[1]
        for i in range(2):
            move = l0 if i == 0 else l1
            sp = meta[_SP]
            if _play(board, nbr, move, -colour, ko, mark, meta, undo, bs, bl) < 0:
                continue
            captured = _search(board, nbr, mark, mark2, meta, undo, bs, bl, bs2, bl2, opts,
                               prey, meta[_KO], not attacker, depth + 1)
            _unplay(board, move, -colour, undo, meta, sp)
            if captured:
                return True
        return False
    if nl != 1:
        return False  # the attacker's move did not atari the prey
    # defender's options: extend, or capture an attacker string in atari next to the prey
    opts[depth, 0] = bl[0]
    n_opts = 1
    meta[_GEN2] += 1
    gen2 = meta[_GEN2]
    for i in range(ns):
        for k in range(4):
            q = nbr[bs[i], k]
            if q < 0 or board[q] != -colour or mark2[q] == gen2:
                continue
            ms, ml = _flood(board, nbr, q, mark, meta, bs2, bl2, 1)
            for j in range(ms):
                mark2[bs2[j]] = gen2
            if ml == 1 and n_opts < MAX_OPTIONS:
                dup = False
                for j in range(n_opts):
                    dup = dup or opts[depth, j] == bl2[0]
                if not dup:
                    opts[depth, n_opts] = bl2[0]
                    n_opts += 1
    for i in range(n_opts):
        move = opts[depth, i]
        sp = meta[_SP]
        if _play(board, nbr, move, colour, ko, mark, meta, undo, bs, bl) < 0:
            continue
        newko = meta[_KO]
        ns, nl = _flood(board, nbr, prey, mark, meta, bs, bl, 2)
        if nl >= 3:
            escaped = True
        elif nl == 2:
            escaped = not _search(board, nbr, mark, mark2, meta, undo, bs, bl, bs2, bl2, opts,
                                  prey, newko, not attacker, depth + 1)
        else:
            escaped = False
        _unplay(board, move, colour, undo, meta, sp)
        if escaped:
            return False
    return True


@njit(cache=True)
def _scratch(stones):
    """Return the scratch state of a search: board copy, marks, meta, undo stack, buffers."""
    n = stones.shape[0]
    meta = np.zeros(8, np.int64)
    return (stones.copy(), np.zeros(n, np.int64), np.zeros(n, np.int64), meta,
            np.empty(8 * n, np.int16), np.empty(n, np.int16), np.empty(n, np.int16),
            np.empty(n, np.int16), np.empty(n, np.int16),
            np.empty((MAX_DEPTH + 1, MAX_OPTIONS), np.int16))


@njit(cache=True)
def _captured_after(board, nbr, mark, mark2, meta, undo, bs, bl, bs2, bl2, opts,
                    move, colour, ko, prey, attacker_next):
    """Return (legal, captured): play `colour` at move (-1: no move), then search the
    string at `prey` with the attacker to move if `attacker_next`. Board left unchanged."""
    sp = meta[_SP]
    newko = ko
    if move >= 0:
        if _play(board, nbr, move, colour, ko, mark, meta, undo, bs, bl) < 0:
            return False, False
        newko = meta[_KO]
    meta[_NODES] = 0
    # one signature for the recursion: int64 points, a non-literal bool
    result = _search(board, nbr, mark, mark2, meta, undo, bs, bl, bs2, bl2, opts,
                     np.int64(prey), np.int64(newko), attacker_next == True, np.int64(0))  # noqa: E712
    if move >= 0:
        _unplay(board, move, colour, undo, meta, sp)
    return True, result


@njit(cache=True, inline="always")
def _free_after(stones, nbr, lib, p):
    """Return the empty neighbours of `lib` other than p: liberties a string extending at
    `lib` surely has after a stone is played at p."""
    free = 0
    for k in range(4):
        r = nbr[lib, k]
        if r >= 0 and r != p and stones[r] == 0:
            free += 1
    return free


@njit(cache=True)
def ladder_planes(stones, chain, libs, nbr, to_play, ko, legal, libs_after, capture, escape):
    """Fill `capture` (plane 44) and `escape` (plane 45), int arrays [N], for `to_play` at
    the points where `legal` is set; `libs_after[p]` = liberties of the own string after a
    move at p. Returns the number of ladder searches run."""
    n = stones.shape[0]
    # only points next to strings with 1 or 2 liberties can matter: skip the copy otherwise
    needed = False
    for p in range(n):
        if stones[p] != 0 and libs[chain[p]] <= 2:
            needed = True
            break
    if not needed:
        return 0
    board, mark, mark2, meta, undo, bs, bl, bs2, bl2, opts = _scratch(stones)
    searches = 0
    for p in range(n):
        if not legal[p]:
            continue
        for k in range(4):
            q = nbr[p, k]
            if q < 0 or stones[q] == 0:
                continue
            c = chain[q]
            if stones[q] == -to_play and libs[c] == 2 and capture[p] == 0:
                # ladder capture: p ataris this string. If its other liberty has 3 empty
                # neighbours besides p, extending there escapes: no search needed
                _flood(board, nbr, q, mark, meta, bs2, bl2, 2)
                lib = bl2[1] if bl2[0] == p else bl2[0]
                if _free_after(stones, nbr, lib, p) >= 3:
                    continue
                searches += 1
                ok, dead = _captured_after(board, nbr, mark, mark2, meta, undo, bs, bl, bs2,
                                           bl2, opts, p, to_play, ko, q, False)
                if ok and dead:
                    capture[p] = 1
            elif stones[q] == to_play and libs[c] == 1 and escape[p] == 0:
                # ladder escape by extending at p: 3+ liberties escape, 1 is captured at once
                if libs_after[p] >= 3:
                    escape[p] = 1
                elif libs_after[p] == 2:
                    searches += 1
                    ok, dead = _captured_after(board, nbr, mark, mark2, meta, undo, bs, bl,
                                               bs2, bl2, opts, p, to_play, ko, q, True)
                    if ok and not dead:
                        escape[p] = 1
            elif stones[q] == -to_play and libs[c] == 1 and escape[p] == 0:
                # ladder escape by capturing an attacker string next to an own string in atari
                ns, nl = _flood(board, nbr, q, mark, meta, bs2, bl2, 1)
                meta[_GEN2] += 1
                gen2 = meta[_GEN2]
                for i in range(ns):
                    for j in range(4):
                        r = nbr[bs2[i], j]
                        if r >= 0 and stones[r] == to_play and libs[chain[r]] == 1 \
                                and mark2[chain[r]] != gen2 and escape[p] == 0:
                            mark2[chain[r]] = gen2
                            searches += 1
                            ok, dead = _captured_after(board, nbr, mark, mark2, meta, undo, bs,
                                                       bl, bs2, bl2, opts, p, to_play, ko, r, True)
                            if ok and not dead:
                                escape[p] = 1
    return searches


@njit(cache=True)
def _is_captured(stones, nbr, prey, ko, attacker_first):
    """Kernel of `is_captured`."""
    board, mark, mark2, meta, undo, bs, bl, bs2, bl2, opts = _scratch(stones)
    return _captured_after(board, nbr, mark, mark2, meta, undo, bs, bl, bs2, bl2, opts,
                           -1, 0, ko, prey, attacker_first)[1]


def is_captured(position, point: Point, attacker_first: bool = True) -> bool:
    """Return True if a ladder captures the string at `point` (attacker = the other colour,
    moving first unless `attacker_first` is False). Raises ValueError on an empty point."""
    size = position.size
    index = point[0] * size + point[1]
    colour = int(position.stones[index])
    if colour == 0:
        raise ValueError(f"no string at {point}")
    mover = -colour if attacker_first else colour
    ko = position.ko if mover == position.to_play else -1
    return bool(_is_captured(position.stones, neighbour_table(size), index, ko, attacker_first))


def ladder_masks(position) -> tuple[np.ndarray, np.ndarray]:
    """Return (capture, escape): bool[size, size] ladder planes 44 and 45 for to_play."""
    size = position.size
    n = size * size
    legal = position.legal_mask().ravel()
    libs_after = np.zeros(n, np.int64)
    for p in np.flatnonzero(legal):
        libs_after[p] = position.simulate_play(divmod(int(p), size)).liberties
    capture = np.zeros(n, np.uint8)
    escape = np.zeros(n, np.uint8)
    ladder_planes(position.stones, position.chain, position.libs, neighbour_table(size),
                  position.to_play, position.ko, legal, libs_after, capture, escape)
    return capture.reshape(size, size) > 0, escape.reshape(size, size) > 0
