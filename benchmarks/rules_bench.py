"""Rules speed: replaying real KGS games through Position.play (the path of Game.positions()).

`measure() -> {"replay_moves_per_s": float}`: move lists are parsed first (untimed),
every game is replayed once untimed (JIT warm-up, and games with an illegal move are
dropped), then only the replay is timed, on one core (this process). The games are
timed in chunks of about CHUNK_MOVES moves, each chunk ROUNDS times, and the best time
of each chunk counts: the machine is shared, and short chunks dodge other processes.
"""

import tarfile
import time
from pathlib import Path

from gopolicy.board import IllegalMove, Position

KGS_DIR = Path(__file__).resolve().parents[2] / "shared/data/kgs"
GAMES = 300
ROUNDS = 5
CHUNK_MOVES = 5000


def _games_from_sgfmill(limit):
    """Return up to `limit` (setup_black, setup_white, moves) of 19x19 games read with sgfmill."""
    from sgfmill import sgf

    games = []
    for archive in sorted(KGS_DIR.glob("*.tar.gz")):
        with tarfile.open(archive) as tar:
            for member in tar:
                if not member.isfile() or not member.name.endswith(".sgf"):
                    continue
                try:
                    game = sgf.Sgf_game.from_bytes(tar.extractfile(member).read())
                    if game.get_size() != 19:
                        continue
                    black, white, _ = game.get_root().get_setup_stones()
                    moves = []
                    for node in game.get_main_sequence():
                        colour, point = node.get_move()
                        if colour is not None:
                            moves.append((1 if colour == "b" else -1, point))
                except (ValueError, KeyError):
                    continue
                games.append((list(black), list(white), moves))
                if len(games) >= limit:
                    return games
    return games


def _games(limit):
    """Return up to `limit` (setup_black, setup_white, moves), through gopolicy.sgf_io if present."""
    try:
        from gopolicy.sgf_collections import read_collection
    except ImportError:
        return _games_from_sgfmill(limit)
    games = []
    for game in read_collection(sorted(KGS_DIR.glob("*.tar.gz"))):
        if game.size == 19:
            games.append((game.setup_black, game.setup_white, game.moves))
            if len(games) >= limit:
                break
    return games


def _replay(start, moves):
    """Play `moves` from `start` through Position.play; return the number of moves played."""
    position = start
    for colour, point in moves:
        position = position.play(point, colour)
    return len(moves)


def measure() -> dict:
    """Return {"replay_moves_per_s": moves replayed per second through Position.play}."""
    if not KGS_DIR.is_dir():
        return {"replay_moves_per_s": None}
    games = []
    for black, white, moves in _games(GAMES):
        start = Position(19).setup(black, white)
        try:
            _replay(start, moves)  # warm-up and filter
        except IllegalMove:
            continue
        games.append((start, moves))
    chunks, chunk, size = [], [], 0
    for start, moves in games:
        chunk.append((start, moves))
        size += len(moves)
        if size >= CHUNK_MOVES:
            chunks.append(chunk)
            chunk, size = [], 0
    if chunk:
        chunks.append(chunk)
    total_moves = 0
    total_time = 0.0
    for chunk in chunks:
        best = float("inf")
        for _ in range(ROUNDS):
            count = 0
            began = time.perf_counter()
            for start, moves in chunk:
                count += _replay(start, moves)
            best = min(best, time.perf_counter() - began)
        total_moves += count
        total_time += best
    return {"replay_moves_per_s": total_moves / total_time}


if __name__ == "__main__":
    print(measure())
