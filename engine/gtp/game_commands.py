"""The standard GTP commands over one game session (minigo's handler sets, by concern).

`Context` is what the handler sets share: the session (built on first use, so the
engine answers `name` before the rules module has even been imported), the player
and the policy. `GameCommands` holds the commands of GTP 2 section 6 plus the KGS and
GNU Go extensions controllers send. Error texts are those of the specification and
GNU Go: `syntax error`, `invalid color`, `invalid coordinate`, `illegal move`,
`unacceptable size`, `cannot undo`, `board not empty`, `invalid number of stones`,
`bad vertex list`, `cannot load file`.
"""

import logging
import math
from pathlib import Path

from gopolicy.coords import Point, format_vertex, parse_vertex
from gopolicy.engine.gtp.player import RESIGN, Player, PlayerConfig
from gopolicy.engine.gtp.protocol import GtpError, gtp_command
from gopolicy.lazy_policy import NetworkUnavailable

log = logging.getLogger(__name__)

BLACK, WHITE = 1, -1  # as gopolicy.board, without importing it at start-up
_COLOURS = {"b": BLACK, "black": BLACK, "w": WHITE, "white": WHITE}


def parse_colour(text: str) -> int:
    """Return BLACK or WHITE for b/w/black/white (any case); GtpError("invalid color")."""
    try:
        return _COLOURS[text.lower()]
    except KeyError:
        raise GtpError("invalid color") from None


def parse_point(text: str, size: int = 19) -> Point | None:
    """Return the point of a vertex (None for pass); GtpError("invalid coordinate")."""
    try:
        return parse_vertex(text, size)
    except ValueError:
        raise GtpError("invalid coordinate") from None


def parse_int(text: str, low: int = -2**31, high: int = 2**31 - 1) -> int:
    """Return an integer argument (ASCII digits, an optional leading '-') in [low, high];
    GtpError("syntax error") otherwise, however many digits it has."""
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()):
        raise GtpError("syntax error")
    if len(digits.lstrip("0")) > max(len(str(abs(low))), len(str(abs(high)))):
        raise GtpError("syntax error")  # out of range, and never a Python int of 10^6 digits
    value = int(text)
    if not low <= value <= high:
        raise GtpError("syntax error")
    return value


def parse_float(text: str) -> float:
    """Return a finite float argument; GtpError("syntax error") otherwise."""
    try:
        value = float(text)
    except ValueError:
        raise GtpError("syntax error") from None
    if not math.isfinite(value):
        raise GtpError("syntax error")
    return value


def _load_error(filename: str, error: Exception) -> str:
    """Return why an SGF file could not be loaded, in one line naming the file."""
    if isinstance(error, OSError):
        return f"{filename}: {error.strerror or type(error).__name__}"
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return text if filename in text else f"{filename}: {text}"


def format_score(score: float) -> str:
    """Return a GTP score from black's view: "B+7.5", "W+0.5" or "0"."""
    if abs(score) < 1e-9:
        return "0"
    return f"{'B' if score > 0 else 'W'}+{abs(score):.1f}"


class ReplyingPolicy:
    """A policy as the GTP commands use it: a network that cannot be loaded (NetworkUnavailable)
    becomes a GtpError, so the command replies `? cannot load the network: ...`."""

    def __init__(self, policy):
        self._policy = policy

    def evaluate(self, position):
        """Return the policy's PolicyMap of `position`; raises GtpError if there is no network."""
        try:
            return self._policy.evaluate(position)
        except NetworkUnavailable as error:
            raise GtpError(str(error)) from error


class Context:
    """Session, player and policy shared by the handler sets; the session is built lazily."""

    def __init__(self, policy, player_config: PlayerConfig = PlayerConfig(),
                 komi: float = 7.5, superko: bool = False):
        self.policy = ReplyingPolicy(policy)
        self.player = Player(self.policy, player_config)
        self._komi, self._superko = komi, superko
        self._session = None

    @property
    def session(self):
        if self._session is None:
            from gopolicy.engine.gtp.session import Session

            self._session = Session(komi=self._komi, superko=self._superko)
        return self._session

    def genmove(self, colour: int, cleanup: bool = False, play: bool = True):
        """Choose (and by default play) a move for `colour`; return the Decision."""
        session = self.session
        last = session.moves[-1] if session.moves else None
        opponent_passed = last is not None and last[0] == -colour and last[1] is None
        decision = self.player.decide(session.position, colour, opponent_passed, cleanup)
        log.info("genmove %s: %s (%s)", "BW"[colour < 0], decision.move, decision.reason)
        if play and decision.move != RESIGN:
            session.play(colour, decision.move)
        return decision

    def move_text(self, move) -> str:
        """Return the GTP text of a decision's move."""
        return RESIGN if move == RESIGN else format_vertex(move, self.session.size)


class GameCommands:
    """Board setup, moves, scoring, handicap, SGF and time commands."""

    def __init__(self, context: Context):
        self.ctx = context

    # ---- setup ---------------------------------------------------------------------
    def cmd_boardsize(self, size: str) -> str:
        if parse_int(size) != 19:
            raise GtpError("unacceptable size")
        self.ctx.session.clear()
        return ""

    def cmd_clear_board(self) -> str:
        self.ctx.session.clear()
        return ""

    def cmd_komi(self, komi: str) -> str:
        self.ctx.session.set_komi(parse_float(komi))
        return ""

    def cmd_get_komi(self) -> str:
        return f"{self.ctx.session.komi:g}"

    # ---- moves ---------------------------------------------------------------------
    def cmd_play(self, colour: str, vertex: str) -> str:
        from gopolicy.board import IllegalMove

        c = parse_colour(colour)
        point = parse_point(vertex, self.ctx.session.size)
        try:
            self.ctx.session.play(c, point)
        except IllegalMove:
            raise GtpError("illegal move") from None
        return ""

    def cmd_genmove(self, colour: str) -> str:
        return self.ctx.move_text(self.ctx.genmove(parse_colour(colour)).move)

    def cmd_reg_genmove(self, colour: str) -> str:
        return self.ctx.move_text(self.ctx.genmove(parse_colour(colour), play=False).move)

    @gtp_command("kgs-genmove_cleanup")
    def cmd_kgs_genmove_cleanup(self, colour: str) -> str:
        return self.ctx.move_text(self.ctx.genmove(parse_colour(colour), cleanup=True).move)

    def cmd_undo(self) -> str:
        try:
            self.ctx.session.undo()
        except ValueError:
            raise GtpError("cannot undo") from None
        return ""

    # ---- display and scoring -------------------------------------------------------
    def cmd_showboard(self) -> str:
        session = self.ctx.session
        position = session.position
        size, grid = session.size, position.grid
        letters = "ABCDEFGHJKLMNOPQRSTUVWXYZ"[:size]
        header = "   " + " ".join(letters)
        rows = [header]
        last = position.last_move
        for row in range(size - 1, -1, -1):
            cells = []
            for col in range(size):
                v = grid[row, col]
                cell = "X" if v > 0 else "O" if v < 0 else "."
                if (row, col) == last:
                    cell = cell.lower()
                cells.append(cell)
            rows.append(f"{row + 1:2d} " + " ".join(cells) + f" {row + 1:2d}")
        rows.append(header)
        black, white = position.prisoners
        rows.append(f"to play: {'black' if position.to_play > 0 else 'white'}  "
                    f"captures: black {black}, white {white}  komi {session.komi:g}  "
                    f"moves {len(session.moves)}")
        return "\n" + "\n".join(rows)

    def cmd_final_score(self) -> str:
        return format_score(self.ctx.session.position.area_score())

    def cmd_final_status_list(self, status: str) -> str:
        # No life-and-death reading: every stone counts as alive (area scoring as played).
        if status not in ("alive", "dead", "seki"):
            raise GtpError("syntax error")
        if status != "alive":
            return ""
        grid = self.ctx.session.position.grid
        size = self.ctx.session.size
        return " ".join(format_vertex((int(r), int(c)), size) for r, c in zip(*grid.nonzero()))

    # ---- handicap ------------------------------------------------------------------
    def _handicap(self, points) -> str:
        try:
            self.ctx.session.place_handicap(points)
        except ValueError as error:
            raise GtpError("board not empty" if "empty" in str(error) else "bad vertex list")
        return " ".join(format_vertex(p, self.ctx.session.size) for p in points)

    def cmd_fixed_handicap(self, stones: str) -> str:
        from gopolicy.engine.gtp.session import fixed_handicap_points

        count = parse_int(stones)
        if self.ctx.session.moves or self.ctx.session.handicap:
            raise GtpError("board not empty")
        try:
            points = fixed_handicap_points(count, self.ctx.session.size)
        except ValueError:
            raise GtpError("invalid number of stones") from None
        return self._handicap(points)

    def cmd_place_free_handicap(self, stones: str) -> str:
        # The standard placements, at most 9 stones: the spec lets an engine place fewer.
        from gopolicy.engine.gtp.session import fixed_handicap_points

        count = parse_int(stones)
        if not 2 <= count < self.ctx.session.size ** 2:
            raise GtpError("invalid number of stones")
        if self.ctx.session.moves or self.ctx.session.handicap:
            raise GtpError("board not empty")
        return self._handicap(fixed_handicap_points(min(count, 9), self.ctx.session.size))

    def cmd_set_free_handicap(self, *vertices: str) -> str:
        size = self.ctx.session.size
        points = [parse_point(v, size) for v in vertices]
        if len(points) < 2 or None in points or len(points) >= size * size:
            raise GtpError("bad vertex list")
        self._handicap(points)
        return ""

    # ---- SGF -----------------------------------------------------------------------
    def cmd_loadsgf(self, filename: str, move_number: str | None = None) -> str:
        from gopolicy.sgf_io import load_game

        number = None if move_number is None else parse_int(move_number, 1)
        try:
            game = load_game(Path(filename))
            self.ctx.session.load(game, number)
        except (OSError, ValueError) as error:  # BadGame is a ValueError
            log.info("loadsgf %s: %s", filename, error)
            raise GtpError(f"cannot load file: {_load_error(filename, error)}") from None
        return ""

    def cmd_printsgf(self, filename: str | None = None) -> str:
        text = self.ctx.session.to_sgf()
        if filename is None:
            return text
        try:
            Path(filename).write_text(text + "\n", encoding="utf-8")
        except OSError:
            raise GtpError("cannot write file") from None
        return ""

    # ---- time (accepted and remembered; a raw policy answers in one forward pass) ---
    def cmd_time_settings(self, main_time: str, byo_yomi_time: str, byo_yomi_stones: str) -> str:
        self.time_settings = (parse_int(main_time, 0), parse_int(byo_yomi_time, 0),
                              parse_int(byo_yomi_stones, 0))
        return ""

    def cmd_time_left(self, colour: str, time_left: str, stones: str) -> str:
        parse_colour(colour)
        parse_int(time_left)
        parse_int(stones, 0)
        return ""

    @gtp_command("kgs-time_settings")
    def cmd_kgs_time_settings(self, kind: str, *values: str) -> str:
        counts = {"none": 0, "absolute": 1, "byoyomi": 3, "canadian": 3}
        if kind not in counts or len(values) != counts[kind]:
            raise GtpError("syntax error")
        for value in values:
            parse_int(value, 0)
        return ""

    @gtp_command("kgs-game_over")
    def cmd_kgs_game_over(self) -> str:
        return ""
