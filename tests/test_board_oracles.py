"""The rules against oracles: sgfmill's board, a from-scratch rebuild of chains, and GNU Go.

Seeded random games (uniform over legal moves, a few passes) are replayed move by move
and every position is compared exactly.
"""

import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from sgfmill import boards, sgf

from gopolicy.board import BLACK, WHITE, IllegalMove, Position
from gopolicy.coords import format_vertex, parse_vertex

GNUGO = "/usr/games/gnugo"
KGS_DIR = Path(__file__).resolve().parents[2] / "shared/data/kgs"


def random_game(size, moves, seed, superko=False, pass_rate=0.02):
    """Yield (position before, move point or None, position after) of a seeded random game."""
    rng = np.random.default_rng(seed)
    pos = Position(size, superko=superko)
    for _ in range(moves):
        legal = np.flatnonzero(pos.legal_mask())
        if len(legal) == 0 or rng.random() < pass_rate:
            point = None
        else:
            point = divmod(int(legal[rng.integers(len(legal))]), size)
        try:
            after = pos.play(point)
        except IllegalMove as error:  # only superko, which the mask does not check
            assert superko and error.reason == "superko"
            after = pos.play(None)
            point = None
        yield pos, point, after
        pos = after


def rebuilt_chains(grid):
    """Return {frozenset(points of a chain): liberties} recomputed by flood fill, from scratch."""
    size = grid.shape[0]
    seen = set()
    chains = {}
    for start in zip(*np.nonzero(grid)):
        start = (int(start[0]), int(start[1]))
        if start in seen:
            continue
        colour = grid[start]
        members, liberties, todo = {start}, set(), [start]
        while todo:
            row, col = todo.pop()
            for r, c in ((row + 1, col), (row - 1, col), (row, col + 1), (row, col - 1)):
                if not (0 <= r < size and 0 <= c < size):
                    continue
                if grid[r, c] == 0:
                    liberties.add((r, c))
                elif grid[r, c] == colour and (r, c) not in members:
                    members.add((r, c))
                    todo.append((r, c))
        seen |= members
        chains[frozenset(members)] = len(liberties)
    return chains


def assert_incremental_matches_rebuilt(pos):
    """Check chain, next_stone, libs and chain_size of `pos` against a rebuild from its stones."""
    size = pos.size
    for members, liberties in rebuilt_chains(pos.grid).items():
        indices = [r * size + c for r, c in members]
        root = int(pos.chain[indices[0]])
        assert {int(pos.chain[i]) for i in indices} == {root}, "one id per chain"
        assert pos.stones[root] != 0 and pos.chain[root] == root, "the id is a stone of the chain"
        assert pos.libs[root] == liberties and pos.chain_size[root] == len(members)
        walk, q = [], root
        while True:
            walk.append(q)
            q = int(pos.next_stone[q])
            if q == root or len(walk) > len(members):
                break
        assert sorted(walk) == sorted(indices), "next_stone cycles through the chain once"
    assert (pos.chain[pos.stones == 0] == -1).all()


def sgfmill_grid(board):
    grid = np.zeros((board.side, board.side), np.int8)
    for colour, (row, col) in board.list_occupied_points():
        grid[row, col] = BLACK if colour == "b" else WHITE
    return grid


@pytest.mark.parametrize("size, moves, seed", [
    (9, 800, 1), (9, 800, 2), (9, 800, 3), (13, 800, 6), (19, 1500, 4),
    pytest.param(19, 1500, 5, marks=pytest.mark.slow),
])
def test_random_games_match_sgfmill_and_rebuild(size, moves, seed):
    board = boards.Board(size)
    played = np.zeros((size, size), np.int64)  # move number of the stone on each point
    counts = {"moves": 0, "captures": 0, "kos": 0}
    for number, (before, point, pos) in enumerate(random_game(size, moves, seed)):
        captured = captured_count(before, pos)
        if point is None:
            assert pos.ko == -1 and captured == 0
        else:
            mover = "b" if before.to_play == BLACK else "w"
            ko = board.play(point[0], point[1], mover)
            assert pos.ko == (-1 if ko is None else ko[0] * size + ko[1])
            removed = int((before.grid != 0).sum()) + 1 - int((sgfmill_grid(board) != 0).sum())
            assert captured == removed
            assert pos.prisoners[0 if mover == "b" else 1] - before.prisoners[0 if mover == "b" else 1] \
                == captured
            counts["moves"] += 1
            counts["captures"] += captured > 0
            counts["kos"] += ko is not None
            played[point] = number
        assert (pos.grid == sgfmill_grid(board)).all(), f"move {number}\n{pos}"
        assert_incremental_matches_rebuilt(pos)
        if number % 50 == 0:  # the incremental Zobrist key equals one computed from scratch
            rebuilt = Position(size).setup(*stone_lists(pos)).with_to_play(pos.to_play)
            assert rebuilt.key == pos.key
        assert (pos.ages() == np.where(pos.grid != 0, number - played, -1)).all()
    assert counts["captures"] > 20 and counts["kos"] > 0, counts


def captured_count(before, after):
    return sum(after.prisoners) - sum(before.prisoners)


@pytest.mark.parametrize("size, seed", [(9, 11), (19, 12)])
def test_legal_mask_is_legal_simulate_and_play_agree(size, seed):
    checked = 0
    for number, (_, _, pos) in enumerate(random_game(size, 400, seed)):
        if number % 20:
            continue
        mask = pos.legal_mask()
        for colour in (BLACK, WHITE):
            mask = pos.legal_mask(colour)
            for row in range(size):
                for col in range(size):
                    effect = pos.simulate_play((row, col), colour)
                    try:
                        after = pos.play((row, col), colour)
                    except IllegalMove:
                        after = None
                    assert mask[row, col] == (after is not None) == pos.is_legal((row, col), colour)
                    assert (effect is None) == (after is None)
                    if after is not None:
                        assert effect.captured == captured_count(pos, after)
                        assert effect.own_size == len(after.chain_points((row, col)))
                        assert effect.liberties == after.liberties((row, col))
                        checked += 1
    assert checked > 1000


def test_positional_superko_against_board_history():
    # 4x4 random games repeat boards often; the oracle is the set of boards seen so far
    checked = repeats = 0
    for seed in range(10):
        seen = set()
        for before, point, pos in random_game(4, 300, seed, superko=True, pass_rate=0.1):
            seen.add(before.grid.tobytes())
            for index in np.flatnonzero(before.legal_mask()):
                candidate = divmod(int(index), 4)
                board = boards.Board(4)
                board.apply_setup(*stone_lists(before), [])
                board.play(*candidate, "b" if before.to_play == BLACK else "w")
                expected = sgfmill_grid(board).tobytes() not in seen
                assert before.is_legal(candidate) == expected
                checked += 1
                repeats += not expected
    assert checked > 1000 and repeats > 10, (checked, repeats)


def stone_lists(pos):
    black = [tuple(map(int, p)) for p in zip(*np.nonzero(pos.grid == BLACK))]
    white = [tuple(map(int, p)) for p in zip(*np.nonzero(pos.grid == WHITE))]
    return black, white


@pytest.mark.skipif(not KGS_DIR.is_dir(), reason="no KGS games")
def test_real_games_replay_like_sgfmill():
    archive = sorted(KGS_DIR.glob("*.tar.gz"))[0]
    games = moves_checked = 0
    with tarfile.open(archive) as tar:
        for member in tar:
            if not member.isfile() or games >= 40:
                continue
            game = sgf.Sgf_game.from_bytes(tar.extractfile(member).read())
            if game.get_size() != 19:
                continue
            black, white, _ = game.get_root().get_setup_stones()
            pos = Position(19).setup(black, white)
            board = boards.Board(19)
            board.apply_setup(black, white, [])
            for node in game.get_main_sequence():
                colour, point = node.get_move()
                if colour is None:
                    continue
                pos = pos.play(point, BLACK if colour == "b" else WHITE)
                if point is not None:
                    board.play(point[0], point[1], colour)
                    moves_checked += 1
                if moves_checked % 50 == 0:
                    assert (pos.grid == sgfmill_grid(board)).all()
            assert (pos.grid == sgfmill_grid(board)).all()
            assert_incremental_matches_rebuilt(pos)
            games += 1
    assert games == 40 and moves_checked > 4000


# --- GNU Go ---------------------------------------------------------------------------

needs_gnugo = pytest.mark.skipif(not Path(GNUGO).exists() or shutil.which(GNUGO) is None,
                                 reason="GNU Go not installed")


def gtp_vertices(text, size):
    return {parse_vertex(v, size) for v in text.split()}


@pytest.mark.gnugo
@needs_gnugo
@pytest.mark.parametrize("size, moves, seed", [(5, 400, 20), (7, 500, 25), (9, 300, 21), (9, 300, 22),
                                               (13, 250, 23), (19, 300, 24)])
def test_random_games_match_gnugo(size, moves, seed, record_property):
    from gopolicy.engine.match.client import GtpClient

    counts = {"positions": 0, "legal_moves": 0, "strings": 0, "is_legal": 0, "kos": 0, "captures": 0}
    # defaults of GNU Go: suicide forbidden, simple ko, as here
    with GtpClient([GNUGO, "--mode", "gtp", "--level", "0"]) as gnugo:
        gnugo.send(f"boardsize {size}")
        gnugo.send("clear_board")
        gnugo.send("komi 7.5")
        rng = np.random.default_rng(seed)
        for before, point, pos in random_game(size, moves, seed):
            colour = "black" if before.to_play == BLACK else "white"
            gnugo.send(f"play {colour} {format_vertex(point, size)}")
            side = "black" if pos.to_play == BLACK else "white"
            legal = gtp_vertices(gnugo.send(f"all_legal {side}"), size)
            ours = {tuple(map(int, p)) for p in zip(*np.nonzero(pos.legal_mask()))}
            assert legal == ours, f"{format_vertex(point, size)}\n{pos}"
            for name, value in ((BLACK, "black"), (WHITE, "white")):
                stones = gtp_vertices(gnugo.send(f"list_stones {value}"), size)
                assert stones == {tuple(map(int, p)) for p in zip(*np.nonzero(pos.grid == name))}
            assert int(gnugo.send("captures black")) == pos.prisoners[0]
            assert int(gnugo.send("captures white")) == pos.prisoners[1]
            roots = np.unique(pos.chain[pos.chain >= 0])
            for root in roots:
                vertex = format_vertex(divmod(int(root), size), size)
                assert int(gnugo.send(f"countlib {vertex}")) == pos.libs[root]
                libs = gtp_vertices(gnugo.send(f"findlib {vertex}"), size)
                assert len(libs) == pos.libs[root]
                assert all(pos.grid[p] == 0 for p in libs)
                counts["strings"] += 1
            # a few occupied/ko/suicide points and random points through is_legal
            probes = list(rng.integers(0, size * size, 4)) + ([pos.ko] if pos.ko >= 0 else [])
            for index in probes:
                probe = divmod(int(index), size)
                answer = gnugo.send(f"is_legal {side} {format_vertex(probe, size)}")
                assert (answer == "1") == pos.is_legal(probe)
                counts["is_legal"] += 1
            counts["positions"] += 1
            counts["legal_moves"] += len(ours)
            counts["kos"] += pos.ko >= 0
            counts["captures"] += pos.prisoners != before.prisoners
    record_property("gnugo_agreement", counts)
    print(f"GNU Go agreement {size}x{size}: {counts}")
    assert counts["positions"] == moves and counts["strings"] > moves


GNUGO_SCRIPTS = [  # (diagram, moves): after each move both colours' legal points must agree
    ("""
. . . . .
. . . . .
. X O . .
X O . O .
. X O . .
""", ["B C2", "W pass", "B pass", "W B2", "B E5", "W C2"]),  # ko, ended by passes, retaken
    ("""
. . . . .
. . . . .
O O O O O
O X X X O
O X . . O
""", ["W C1", "B D1", "W C1", "B B1"]),  # snapback
    ("""
. X O . .
X O . . .
. . . . .
. O O X .
X X O X .
""", ["W A5", "B C4", "W A2", "B B5"]),  # capture instead of suicide, ko, two-stone capture
]


@pytest.mark.gnugo
@needs_gnugo
@pytest.mark.parametrize("diagram, moves", GNUGO_SCRIPTS)
def test_scripted_positions_match_gnugo(diagram, moves):
    from gopolicy.engine.match.client import GtpClient

    rows = [line.split() for line in diagram.strip().splitlines()]
    size = len(rows)
    black = [(size - 1 - i, j) for i, row in enumerate(rows) for j, c in enumerate(row) if c == "X"]
    white = [(size - 1 - i, j) for i, row in enumerate(rows) for j, c in enumerate(row) if c == "O"]
    pos = Position(size).setup(black, white)
    with GtpClient([GNUGO, "--mode", "gtp", "--level", "0"]) as gnugo:
        gnugo.send(f"boardsize {size}")
        gnugo.send("clear_board")
        for colour, points in (("black", black), ("white", white)):
            for point in points:
                gnugo.send(f"play {colour} {format_vertex(point, size)}")
        for move in moves:
            mover, vertex = move.split()
            colour = BLACK if mover == "B" else WHITE
            pos = pos.play(parse_vertex(vertex, size), colour)
            gnugo.send(f"play {'black' if colour == BLACK else 'white'} {vertex}")
            for side, name in ((BLACK, "black"), (WHITE, "white")):
                legal = gtp_vertices(gnugo.send(f"all_legal {name}"), size)
                assert legal == {tuple(map(int, p)) for p in zip(*np.nonzero(pos.legal_mask(side)))}, move
            assert int(gnugo.send("captures black")) == pos.prisoners[0]
            assert int(gnugo.send("captures white")) == pos.prisoners[1]
