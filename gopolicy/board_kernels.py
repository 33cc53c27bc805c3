"""Numba kernels for the rules: chains and liberties kept incrementally on flat arrays.

A Position keeps all its per-point arrays in ONE uint8 buffer, so that a move costs
one copy. `N = size * size`; the byte layout of the buffer is:

| bytes          | dtype | array        | meaning                                           |
| -------------- | ----- | ------------ | ------------------------------------------------- |
| [0, 4N)        | int32 | placed       | move number at which the stone was played         |
| [4N, 6N)       | int16 | chain        | chain id (flat index of its root stone), -1 empty |
| [6N, 8N)       | int16 | next_stone   | circular list through the stones of each chain    |
| [8N, 10N)      | int16 | libs         | liberties of a chain, valid at its root           |
| [10N, 12N)     | int16 | chain_size   | stones of a chain, valid at its root              |
| [12N, 13N)     | int8  | stones       | +1 black, -1 white, 0 empty                       |

Kernels that read a position take the separate arrays (`stones, chain, next_stone,
libs, chain_size`) and the neighbour table of `coords.neighbour_table`, so feature
code can call them on `Position` attributes from its own numba kernels.

Zobrist values come from a splitmix64 hash of (point, colour): no table to pass.
"""

import numpy as np
from numba import njit

BYTES_PER_POINT = 13
SETUP_PLACED = -1_000_000

# play_move statuses
OK, OCCUPIED, SUICIDE, KO = 0, 1, 2, 3

_MASK64 = 0xFFFFFFFFFFFFFFFF


@njit(cache=True, inline="always")
def _mix(x):
    """Return the splitmix64 finaliser of the uint64 `x`."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True)
def zobrist(p, colour):
    """Return the int64 Zobrist value of a `colour` stone on flat point `p`."""
    x = np.uint64(p * 2 + (1 if colour > 0 else 2)) * np.uint64(0x9E3779B97F4A7C15)
    return np.int64(_mix(x))


@njit(cache=True, inline="always")
def views(buf, n):
    """Return (placed, chain, next_stone, libs, chain_size, stones) views of a position buffer."""
    placed = buf[0:4 * n].view(np.int32)
    chain = buf[4 * n:6 * n].view(np.int16)
    nxt = buf[6 * n:8 * n].view(np.int16)
    libs = buf[8 * n:10 * n].view(np.int16)
    size = buf[10 * n:12 * n].view(np.int16)
    stones = buf[12 * n:13 * n].view(np.int8)
    return placed, chain, nxt, libs, size, stones


@njit(cache=True)
def legal_status(stones, chain, libs, nbr, p, colour, ko):
    """Return OK, OCCUPIED, SUICIDE or KO for `colour` playing flat point `p`."""
    if stones[p] != 0:
        return OCCUPIED
    if p == ko:
        return KO
    for k in range(4):
        q = nbr[p, k]
        if q < 0:
            continue
        s = stones[q]
        if s == 0:
            return OK
        lib = libs[chain[q]]
        if s == colour:
            if lib > 1:
                return OK
        elif lib == 1:
            return OK
    return SUICIDE


@njit(cache=True)
def count_liberties(stones, nxt, nbr, root, mark):
    """Return the distinct liberties of the chain at `root`; `mark` is int8[N] scratch, left zero."""
    count = 0
    q = root
    while True:
        for k in range(4):
            r = nbr[q, k]
            if r >= 0 and stones[r] == 0 and mark[r] == 0:
                mark[r] = 1
                count += 1
        q = nxt[q]
        if q == root:
            break
    # clear the marks by the same walk, cheaper than clearing N points
    q = root
    while True:
        for k in range(4):
            r = nbr[q, k]
            if r >= 0:
                mark[r] = 0
        q = nxt[q]
        if q == root:
            break
    return count


@njit(cache=True)
def play_move(buf, nbr, p, colour, ko, skey, move_number):
    """Play `colour` at flat `p` in place on `buf` (a private copy).

    Returns (status, new_ko, new_stone_key, captured); on a status other than OK the
    buffer is untouched.
    """
    n = nbr.shape[0]
    placed, chain, nxt, libs, size, stones = views(buf, n)
    status = legal_status(stones, chain, libs, nbr, p, colour, ko)
    if status != OK:
        return status, -1, skey, 0
    stones[p] = colour
    chain[p] = p
    nxt[p] = p
    size[p] = 1
    libs[p] = 0
    placed[p] = move_number
    skey ^= zobrist(p, colour)
    captured = 0
    last_captured = -1
    # enemy chains: one liberty fewer each; capture those left without any
    seen0 = -1
    seen1 = -1
    seen2 = -1
    for k in range(4):
        q = nbr[p, k]
        if q < 0 or stones[q] != -colour:
            continue
        e = chain[q]
        if e == seen0 or e == seen1 or e == seen2:
            continue
        if seen0 < 0:
            seen0 = e
        elif seen1 < 0:
            seen1 = e
        else:
            seen2 = e
        libs[e] -= 1
        if libs[e] > 0:
            continue
        s = e
        while True:
            t = nxt[s]
            stones[s] = 0
            chain[s] = -1
            placed[s] = 0
            skey ^= zobrist(s, -colour)
            captured += 1
            last_captured = s
            # the freed point is one new liberty of each distinct own chain around it
            r0 = -1
            r1 = -1
            r2 = -1
            for j in range(4):
                u = nbr[s, j]
                if u < 0 or stones[u] != colour:
                    continue
                c = chain[u]
                if c == r0 or c == r1 or c == r2:
                    continue
                if r0 < 0:
                    r0 = c
                elif r1 < 0:
                    r1 = c
                else:
                    r2 = c
                libs[c] += 1
            s = t
            if s == e:
                break
    # merge own neighbouring chains into the largest one
    root = p
    merged = False
    for k in range(4):
        q = nbr[p, k]
        if q < 0 or stones[q] != colour:
            continue
        c = chain[q]
        if c == root:
            continue
        merged = True
        if size[c] >= size[root]:
            big, small = c, root
        else:
            big, small = root, c
        s = small
        while True:
            chain[s] = big
            s = nxt[s]
            if s == small:
                break
        t = nxt[big]
        nxt[big] = nxt[small]
        nxt[small] = t
        size[big] += size[small]
        root = big
    if merged:
        mark = np.zeros(n, np.int8)
        libs[root] = count_liberties(stones, nxt, nbr, root, mark)
    else:
        count = 0
        for k in range(4):
            q = nbr[p, k]
            if q >= 0 and stones[q] == 0:
                count += 1
        libs[p] = count
    new_ko = -1
    if captured == 1 and size[root] == 1 and libs[root] == 1:
        new_ko = last_captured
    return OK, new_ko, skey, captured


@njit(cache=True)
def legal_points(stones, chain, libs, nbr, colour, ko):
    """Return bool[N]: empty, not suicide and not the ko point for `colour`."""
    n = stones.shape[0]
    out = np.zeros(n, np.bool_)
    for p in range(n):
        if stones[p] == 0:
            out[p] = legal_status(stones, chain, libs, nbr, p, colour, ko) == OK
    return out


@njit(cache=True)
def simulate(stones, chain, nxt, libs, chain_size, nbr, p, colour, ko, mark):
    """What if `colour` plays flat `p`: return (status, captured, own_size, liberties_after).

    `mark` is int8[N] scratch, all zero on entry and on return. Nothing else is written.
    """
    status = legal_status(stones, chain, libs, nbr, p, colour, ko)
    if status != OK:
        return status, 0, 0, 0
    # distinct neighbouring chains: own ones merge, enemy ones in atari are captured
    own = np.full(4, -1, np.int32)
    dead = np.full(4, -1, np.int32)
    n_own = 0
    n_dead = 0
    captured = 0
    own_size = 1
    for k in range(4):
        q = nbr[p, k]
        if q < 0 or stones[q] == 0:
            continue
        c = chain[q]
        if stones[q] == colour:
            if c != own[0] and c != own[1] and c != own[2]:
                own[n_own] = c
                n_own += 1
                own_size += chain_size[c]
        elif libs[c] == 1 and c != dead[0] and c != dead[1] and c != dead[2]:
            dead[n_dead] = c
            n_dead += 1
            captured += chain_size[c]
    # liberties after: empty points and captured stones next to the new string, minus p
    mark[p] = 1
    count = 0
    for i in range(n_own + 1):
        start = p if i == n_own else own[i]
        q = start
        while True:
            for k in range(4):
                r = nbr[q, k]
                if r < 0 or mark[r] != 0:
                    continue
                s = stones[r]
                if s == 0:
                    mark[r] = 1
                    count += 1
                elif s == -colour:
                    c = chain[r]
                    if c == dead[0] or c == dead[1] or c == dead[2] or c == dead[3]:
                        mark[r] = 1
                        count += 1
            if i == n_own:
                break
            q = nxt[q]
            if q == start:
                break
    # clear marks along the same walk
    mark[p] = 0
    for i in range(n_own + 1):
        start = p if i == n_own else own[i]
        q = start
        while True:
            for k in range(4):
                r = nbr[q, k]
                if r >= 0:
                    mark[r] = 0
            if i == n_own:
                break
            q = nxt[q]
            if q == start:
                break
    return OK, captured, own_size, count


@njit(cache=True)
def rebuild(buf, nbr):
    """Recompute chains and liberties of `buf` from its stones, in place.

    Returns (stone_key, p) where p is a stone of a chain with no liberty, or -1.
    """
    n = nbr.shape[0]
    placed, chain, nxt, libs, size, stones = views(buf, n)
    chain[:] = -1
    nxt[:] = -1
    libs[:] = 0
    size[:] = 0
    mark = np.zeros(n, np.int8)
    stack = np.empty(n, np.int32)
    skey = np.int64(0)
    dead = -1
    for p in range(n):
        if stones[p] == 0:
            continue
        skey ^= zobrist(p, stones[p])
        if chain[p] >= 0:
            continue
        colour = stones[p]
        chain[p] = p
        nxt[p] = p
        size[p] = 1
        top = 0
        stack[0] = p
        top = 1
        while top > 0:
            top -= 1
            q = stack[top]
            for k in range(4):
                r = nbr[q, k]
                if r >= 0 and stones[r] == colour and chain[r] < 0:
                    chain[r] = p
                    nxt[r] = nxt[p]
                    nxt[p] = r
                    size[p] += 1
                    stack[top] = r
                    top += 1
        libs[p] = count_liberties(stones, nxt, nbr, p, mark)
        if libs[p] == 0 and dead < 0:
            dead = p
    return skey, dead


@njit(cache=True)
def area(stones, nbr):
    """Return (black_area, white_area) under Tromp-Taylor: stones plus empty regions reaching one colour only."""
    n = stones.shape[0]
    seen = np.zeros(n, np.bool_)
    stack = np.empty(n, np.int32)
    black = 0
    white = 0
    for p in range(n):
        s = stones[p]
        if s > 0:
            black += 1
        elif s < 0:
            white += 1
        elif not seen[p]:
            seen[p] = True
            stack[0] = p
            top = 1
            region = 0
            reach_b = False
            reach_w = False
            while top > 0:
                top -= 1
                q = stack[top]
                region += 1
                for k in range(4):
                    r = nbr[q, k]
                    if r < 0:
                        continue
                    t = stones[r]
                    if t > 0:
                        reach_b = True
                    elif t < 0:
                        reach_w = True
                    elif not seen[r]:
                        seen[r] = True
                        stack[top] = r
                        top += 1
            if reach_b and not reach_w:
                black += region
            elif reach_w and not reach_b:
                white += region
    return black, white
