"""`gopolicy match`: our engine against any GTP engine, as gogui-twogtp plays them.

Colours alternate (game 1: we take black), komi 7.5 by default, no handicap. Each
move is checked by our own rules (`Session`) before the other engine hears it; an
illegal move loses the game. A game ends on two passes in a row, a resignation, an
illegal move, or `--max-moves`. It is scored by the referee engine's `final_score`
when `--referee` is given (GNU Go removes dead stones), otherwise by Tromp-Taylor
area on the final position (every stone alive). One SGF per game goes to
`--sgf-dir`. The summary gives our win rate (a jigo counts half) with its 95% Wilson
interval. Our engine runs in-process (no pipe, one network load for all games).

If the opponent's process dies mid-game (GNU Go 3.8 crashes about once in 40 games),
that game is void: it is listed but not scored, the opponent is started again and the
game is replayed with the same colours. After `MAX_DEATHS_IN_A_ROW` deaths with no
finished game between them the match stops and reports the games it finished.
"""

import argparse
import json
import logging
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from gopolicy.coords import format_vertex, parse_vertex
from gopolicy.engine.gtp.game_commands import format_score
from gopolicy.engine.gtp.player import PlayerConfig
from gopolicy.engine.gtp.protocol import GtpError
from gopolicy.engine.match.client import GtpClient, GtpEngineDied
from gopolicy.lazy_policy import LazyPolicy
from gopolicy.network_options import add_network_arguments

log = logging.getLogger(__name__)
BLACK, WHITE = 1, -1
MAX_DEATHS_IN_A_ROW = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `gopolicy match`."""
    parser.add_argument("--opponent", required=True, help='GTP command line, e.g. "gnugo --mode gtp"')
    parser.add_argument("--games", type=int, default=2, help="number of games (default 2)")
    parser.add_argument("--referee", default=None, help="GTP engine whose final_score decides")
    parser.add_argument("--sgf-dir", type=Path, default=None, help="write one SGF per game here")
    add_network_arguments(parser, whose="our ")
    parser.add_argument("--size", type=int, default=19, help="board size (19 only)")
    parser.add_argument("--komi", type=float, default=7.5, help="komi (default 7.5)")
    parser.add_argument("--max-moves", type=int, default=600, help="stop and score after this many moves")
    parser.add_argument("--temperature", type=float, default=0.0, help="our sampling temperature")
    parser.add_argument("--seed", type=int, default=None, help="our random seed")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")


class InProcessEngine:
    """Our engine behind the GtpClient interface: `send(line) -> body`, GtpError on `?`."""

    def __init__(self, engine):
        self.engine = engine

    def send(self, line: str) -> str:
        reply = self.engine.execute(line).strip()
        status, body = reply[:1], reply[1:].lstrip("0123456789").strip()
        if status != "=":
            raise GtpError(f"{line!r}: {body}")
        return body

    def close(self) -> None:
        self.engine.execute("quit")


class GameAborted(Exception):
    """A player's process died mid-game; `session` holds the moves played until then."""

    def __init__(self, session, reason: str):
        super().__init__(reason)
        self.session = session


@dataclass
class GameRecord:
    """One finished game: who played black, the result ("B+7.5", "W+R", "0", "?"), why it ended."""

    number: int
    we_play: str
    result: str
    reason: str
    moves: int
    sgf: str | None = None
    void: bool = False

    @property
    def our_score(self) -> float:
        """1 for our win, 0.5 for a jigo, 0 for a loss or an unknown result (a void game's "?")."""
        if self.result == "0":
            return 0.5
        if self.result[:2] in ("B+", "W+"):
            return 1.0 if self.result[0] == self.we_play[0].upper() else 0.0
        return 0.0


def wilson_interval(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Return the Wilson score interval (low, high) of a binomial proportion; (0, 1) if n = 0."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _referee_score(referee_cmd: str, session) -> str:
    with GtpClient(referee_cmd) as referee:
        referee.send(f"boardsize {session.size}")
        referee.send("clear_board")
        referee.send(f"komi {session.komi:g}")
        for colour, point in session.moves:
            referee.send(f"play {'b' if colour == BLACK else 'w'} {format_vertex(point, session.size)}")
        return referee.send("final_score").strip()


def play_game(players: dict, size: int = 19, komi: float = 7.5, max_moves: int = 600,
              referee: str | None = None):
    """Play one game between players {BLACK: engine, WHITE: engine} (objects with send()).

    Returns (Session, result, reason); raises GameAborted if a player's process dies.
    """
    from gopolicy.engine.gtp.session import Session

    session = Session(size=size, komi=komi)
    try:
        return _play(players, session, max_moves, referee)
    except GtpEngineDied as error:
        raise GameAborted(session, str(error)) from error


def _play(players: dict, session, max_moves: int, referee: str | None):
    from gopolicy.board import IllegalMove

    size, komi = session.size, session.komi
    for engine in players.values():
        engine.send(f"boardsize {size}")
        engine.send("clear_board")
        engine.send(f"komi {komi:g}")
    colour, passes = BLACK, 0
    while len(session.moves) < max_moves:
        name = "b" if colour == BLACK else "w"
        reply = players[colour].send(f"genmove {name}").strip()
        if reply.lower() == "resign":
            return session, f"{'W' if colour == BLACK else 'B'}+R", f"{name} resigned"
        try:
            point = parse_vertex(reply, size)
            session.play(colour, point)
        except (ValueError, IllegalMove):
            return session, f"{'W' if colour == BLACK else 'B'}+F", f"{name} played illegal {reply!r}"
        players[-colour].send(f"play {name} {format_vertex(point, size)}")
        passes = passes + 1 if point is None else 0
        if passes >= 2:
            break
        colour = -colour
    reason = "two passes" if passes >= 2 else f"{max_moves} moves"
    if referee:
        try:
            return session, _referee_score(referee, session), reason + ", referee score"
        except GtpEngineDied as error:
            log.warning("the referee died (%s): area score instead", error)
    return session, format_score(session.position.area_score()), reason + ", area score"


def run_match(ours, opponent, games: int, size: int = 19, komi: float = 7.5,
              max_moves: int = 600, referee: str | None = None, sgf_dir: Path | None = None,
              opponent_name: str = "opponent") -> dict:
    """Play until `games` games are scored, alternating colours; return the summary dict.

    A game in which a process dies is void and replayed after `opponent.restart()`; the
    summary's "stopped" says why the match ended early, if it did.
    """
    records, scored, deaths, stopped = [], 0, 0, None
    if sgf_dir is not None:
        sgf_dir.mkdir(parents=True, exist_ok=True)
    while scored < games:
        number, we_black = len(records) + 1, scored % 2 == 0
        players = {BLACK: ours, WHITE: opponent} if we_black else {BLACK: opponent, WHITE: ours}
        try:
            session, result, reason = play_game(players, size, komi, max_moves, referee)
            void, deaths = False, 0
        except GameAborted as aborted:
            session, result, reason, void = aborted.session, "?", f"void: {aborted}", True
            deaths += 1
        names = ("gopolicy", opponent_name) if we_black else (opponent_name, "gopolicy")
        record = GameRecord(number, "black" if we_black else "white", result, reason,
                            len(session.moves), void=void)
        if sgf_dir is not None:
            path = sgf_dir / f"game-{number:03d}.sgf"
            path.write_text(session.to_sgf(result, *names) + "\n", encoding="utf-8")
            record.sgf = str(path)
        log.warning("game %d: we play %s, %s (%s, %d moves)", number, record.we_play, result,
                    reason, record.moves)
        records.append(record)
        if not void:
            scored += 1
            continue
        if deaths >= MAX_DEATHS_IN_A_ROW or not hasattr(opponent, "restart"):
            stopped = f"{deaths} void game(s) in a row, the last: {reason}"
            break
        opponent.restart()
    score = sum(r.our_score for r in records)
    low, high = wilson_interval(score, scored)
    return {"games": scored, "void": len(records) - scored, "wins": score,
            "win_rate": score / scored if scored else 0.0, "wilson95": [low, high],
            "stopped": stopped, "records": [asdict(r) for r in records]}


def run(args) -> int:
    """Run the match and print the summary; return 0 (1 if the opponent fails or it stopped early)."""
    from gopolicy.engine.gtp.command import build_engine

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="match: %(message)s")
    if args.size != 19:
        print("gopolicy match: only 19x19 is supported", file=sys.stderr)
        return 2
    policy = LazyPolicy(args.weights, args.device, args.symmetries)
    ours = InProcessEngine(build_engine(
        policy, PlayerConfig(temperature=args.temperature, seed=args.seed), komi=args.komi))
    try:
        with GtpClient(args.opponent) as opponent:
            try:
                name = opponent.send("name")
            except GtpEngineDied:
                raise
            except GtpError:
                name = "opponent"
            summary = run_match(ours, opponent, args.games, args.size, args.komi, args.max_moves,
                                args.referee, args.sgf_dir, name)
    except (GtpError, OSError) as error:
        print(f"gopolicy match: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary))
    else:
        low, high = summary["wilson95"]
        for r in summary["records"]:
            print(f"game {r['number']}: gopolicy {r['we_play']:5s} {r['result']:8s} "
                  f"{r['moves']} moves, {r['reason']}")
        void = f", {summary['void']} void" if summary["void"] else ""
        print(f"gopolicy won {summary['wins']:g} of {summary['games']}{void}: "
              f"{summary['win_rate']:.1%} (95% Wilson interval {low:.1%} - {high:.1%})")
    if summary["stopped"]:
        print(f"gopolicy match: stopped early: {summary['stopped']}", file=sys.stderr)
        return 1
    return 0
