"""KataGo analysis queries: one JSON line -> a validated Request of Positions to evaluate.

Follows the query format of KataGo's docs/Analysis_Engine.md and the checks of its
`analysis` command, in the same order and with the same error texts, so a client such
as KaTrain reads our errors as it reads KataGo's:

| field            | here                                                                 |
| ---------------- | -------------------------------------------------------------------- |
| id               | required string                                                      |
| boardXSize/YSize | required; only 19 (the network's size): anything else is an error    |
| initialStones    | [["B"|"W", vertex], ...] set up before move 0 (SGF AB/AW)            |
| moves            | required [[player, vertex or "pass"], ...]; an illegal one is an error |
| initialPlayer    | "B"/"W"; default: the first move's player, else W after handicap stones |
| analyzeTurns     | turns to answer (0 = before moves[0]); default: the last turn        |
| rules            | required KataGo rules name or object; only the suicide rule matters here (a warning: suicide stays illegal) |
| komi             | -150..150, integer or half-integer; kept on the Position              |
| maxVisits        | 1..2^50 (default 500): the visits shared out by prior                |
| includePolicy    | boolean: add the 362-float `policy`                                   |
| priority         | integer: higher is answered first                                    |
| avoidMoves/allowMoves | moves left out of (kept in) moveInfos for the given player       |
| includeOwnership, includeMovesOwnership | accepted; a warning says ownership is not estimated |
| overrideSettings | must be an object; ignored (they tune a search there is none of)      |

Vertices are GTP ("D4", "pass") or KataGo's "(x,y)" with x from the left and y from
the top, both from 0. Moves are played with the project's rules (simple ko, no
suicide); like KataGo, a move by the player not to move is allowed and lifts the ko.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from gopolicy.board import BLACK, WHITE, IllegalMove, Position
from gopolicy.coords import Point, format_vertex, parse_vertex

BOARD_SIZE = 19  # the only size the network plays
DEFAULT_MAX_VISITS = 500  # KataGo's analysis_example.cfg
MAX_VISITS = 1 << 50
MAX_PRIORITY = 0x3FFFFFFFFFFFFFFF
ACTIONS = ("query_version", "clear_cache", "terminate", "terminate_all")

PAIRS_ERROR = 'Must be an array of pairs of the form: ["b" or "w", GTP board vertex]'
KOMI_ERROR = "Must be a integer or half-integer from -150.0 to 150.0"
RULES_ERROR = ('Must specify rules string, such as "chinese" or "tromp-taylor", '
               "or a JSON object with detailed rules parameters.")
AVOID_ERROR = "Must be a list of dicts with subfields 'player', 'moves', 'untilDepth'"

# KataGo's rules presets (lower-case names); the second set allows multi-stone suicide
_SUICIDE_LEGAL = {"nz", "newzealand", "new zealand", "new-zealand", "new_zealand", "tromp-taylor",
                  "tromp_taylor", "tromp taylor", "tromptaylor", "goe", "ing"}
_PRESETS = {"japanese", "korean", "chinese", "aga", "bga", "french", *_SUICIDE_LEGAL,
            *(f"chinese{sep}{site}" for sep in ("", "_", "-") for site in ("ogs", "kgs")),
            *(f"{word}{sep}{kind}" for sep in ("", "-", "_", " ")
              for word, kind in (("ancient", "area"), ("ancient", "territory"),
                                 ("stone", "scoring"), ("aga", "button")))}
_RULE_OPTIONS = {
    "ko": ("SIMPLE", "POSITIONAL", "SITUATIONAL", "SPIGHT"),
    "scoring": ("AREA", "TERRITORY"), "score": ("AREA", "TERRITORY"),
    "tax": ("NONE", "SEKI", "ALL"), "whiteHandicapBonus": ("0", "N", "N-1"),
    "suicide": bool, "hasButton": bool, "friendlyPassOk": bool, "komi": float,
}


class QueryError(ValueError):
    """A query KataGo would refuse: `reply()` is the JSON object to write back."""

    def __init__(self, message: str, field: str | None = None, query_id: str | None = None):
        super().__init__(message)
        self.field = field
        self.query_id = query_id

    def reply(self) -> dict:
        """Return KataGo's error object: {"error"} or {"id", "field", "error"}."""
        if self.query_id is None:
            return {"error": str(self)}
        return {"id": self.query_id, "field": self.field, "error": str(self)}


@dataclass(frozen=True)
class Request:
    """One analysis query, checked: the positions of the turns to answer and how to answer."""

    id: str
    turns: list[tuple[int, Position]]  # (turnNumber, position with its side to move)
    max_visits: int = DEFAULT_MAX_VISITS
    include_policy: bool = False
    priority: int = 0
    avoid: dict[int, frozenset] = field(default_factory=dict)  # colour -> points left out
    allow: dict[int, frozenset] = field(default_factory=dict)  # colour -> the only points kept
    warnings: list[dict] = field(default_factory=list)  # KataGo warning objects to write first


def parse_line(line: str) -> dict:
    """Return the JSON object of one request line with a string "id".

    Raises QueryError (KataGo's general error texts) for bad JSON, a non-object or no id.
    """
    try:
        query = json.loads(line)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, Python's int digit limit
        shown = line if len(line) <= 200 else line[:200] + "..."
        raise QueryError(f"{error} - could not parse input line as json request: {shown}") from None
    if not isinstance(query, dict):
        shown = json.dumps(query)
        raise QueryError("Request line was valid json but was not an object, ignoring: "
                         + (shown if len(shown) <= 200 else shown[:200] + "..."))
    if not isinstance(query.get("id"), str):
        raise QueryError('Request must have a string "id" field')
    return query


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_player(text) -> int | None:
    """Return BLACK or WHITE for "b", "black", "w", "white" (any case), else None."""
    if not isinstance(text, str):
        return None
    return {"b": BLACK, "black": BLACK, "w": WHITE, "white": WHITE}.get(text.strip().lower())


def parse_location(text, size: int = BOARD_SIZE) -> Point | None:
    """Return the (row, col) of a GTP vertex or "(x,y)" (y from the top), None for "pass".

    Raises ValueError if the text is no location on the board.
    """
    if not isinstance(text, str):
        raise ValueError(f"not a location: {text!r}")
    word = text.strip()
    if word.startswith("(") and word.endswith(")"):
        x, y = (int(part) for part in word[1:-1].split(","))
        if not (0 <= x < size and 0 <= y < size):
            raise ValueError(f"{text!r} is off the board")
        return size - 1 - y, x
    return parse_vertex(word, size)


def _moves(query: dict, name: str, query_id: str, allow_pass: bool) -> list[tuple[int, Point | None]]:
    """Return the [(colour, point)] of a field of [player, vertex] pairs; QueryError if bad."""
    pairs = query[name]
    if not isinstance(pairs, list):
        raise QueryError(PAIRS_ERROR, name, query_id)
    moves = []
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(s, str) for s in pair)):
            raise QueryError(PAIRS_ERROR, name, query_id)
        colour = parse_player(pair[0])
        if colour is None:
            raise QueryError(f"Could not parse player: {pair[0]}", name, query_id)
        try:
            point = parse_location(pair[1])
            if point is None and not allow_pass:
                raise ValueError("pass")
        except ValueError:
            raise QueryError(f"Could not parse board location: {pair[1]}", name, query_id) from None
        moves.append((colour, point))
    return moves


def _integer(query: dict, name: str, query_id: str, low: int, high: int, message: str) -> int:
    value = query[name]
    if not _is_int(value) or not low <= value <= high:
        raise QueryError(message, name, query_id)
    return value


def _boolean(query: dict, name: str, query_id: str) -> bool:
    if not isinstance(query.get(name, False), bool):
        raise QueryError("Must be a boolean", name, query_id)
    return query.get(name, False)


def parse_rules(rules) -> bool:
    """Return whether KataGo rules (a preset name or an options object) allow multi-stone suicide.

    Raises ValueError if KataGo could not parse them either.
    """
    if isinstance(rules, str):
        name = rules.strip().lower()
        if name in _PRESETS:
            return name in _SUICIDE_LEGAL
        if not name.startswith("{"):
            raise ValueError(rules)
        rules = json.loads(rules)
    if not isinstance(rules, dict):
        raise ValueError(rules)
    for key, value in rules.items():
        kind = _RULE_OPTIONS.get(key)
        if kind is bool and isinstance(value, bool):
            continue
        if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool) \
                and -150 <= value <= 150 and float(value * 2).is_integer():
            continue
        if isinstance(kind, tuple) and isinstance(value, str) and value.strip().upper() in kind:
            continue
        raise ValueError(rules)
    return rules.get("suicide", True)  # KataGo's default for an object: Tromp-Taylor-ish


def _komi(query: dict, query_id: str, rules) -> float:
    """Return the komi of the query (or of its rules object, else 7.5); QueryError if bad."""
    if "komi" in query:
        komi = query["komi"]
        if not isinstance(komi, (int, float)) or isinstance(komi, bool) or not math.isfinite(komi) \
                or not -150 <= komi <= 150:
            raise QueryError(KOMI_ERROR, "komi", query_id)
        if not float(komi * 2).is_integer():
            raise QueryError(KOMI_ERROR, "rules", query_id)  # KataGo names this field
        return float(komi)
    if isinstance(rules, dict) and "komi" in rules:
        return float(rules["komi"])
    return 7.5


def _avoid(query: dict, query_id: str) -> tuple[str, dict[int, frozenset]]:
    """Return ("avoid"|"allow", {colour: points}) from avoidMoves/allowMoves; QueryError if bad."""
    if "allowMoves" in query and "avoidMoves" in query:
        raise QueryError("Cannot specify both allowMoves and avoidMoves", "allowMoves", query_id)
    name = "allowMoves" if "allowMoves" in query else "avoidMoves"
    entries = query.get(name, [])
    if not isinstance(entries, list):
        raise QueryError(AVOID_ERROR, name, query_id)
    if name == "allowMoves" and len(entries) > 1:
        raise QueryError("Currently allowMoves only allows one entry", name, query_id)
    chosen: dict[int, frozenset] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not {"moves", "untilDepth", "player"} <= entry.keys():
            raise QueryError(AVOID_ERROR, name, query_id)
        colour = parse_player(entry["player"])
        if colour is None:
            raise QueryError('Must be "b" or "w"', "player", query_id)
        if not isinstance(entry["moves"], list):
            raise QueryError("Must be an array of GTP board vertices", "moves", query_id)
        points = set()
        for text in entry["moves"]:
            try:
                points.add(parse_location(text))
            except ValueError:
                raise QueryError(f"Could not parse board location: {text}", "moves", query_id) from None
        _integer(entry, "untilDepth", query_id, 1, 1_000_000_000, "Must be a positive integer")
        chosen[colour] = chosen.get(colour, frozenset()) | points
    return ("allow" if name == "allowMoves" else "avoid"), chosen


def parse_query(query: dict) -> Request:
    """Return the Request of an analysis query (a parse_line object without "action").

    Raises QueryError with KataGo's field and text for the first bad field, or for an
    illegal move ("Illegal move N: D4", field "moves").
    """
    qid = query["id"]
    size_error = f"Must be {BOARD_SIZE}: this policy network plays only {BOARD_SIZE}x{BOARD_SIZE}"
    for name in ("boardXSize", "boardYSize"):
        if name not in query or query[name] != BOARD_SIZE or not _is_int(query[name]):
            raise QueryError(size_error, name, qid)
    stones = _moves(query, "initialStones", qid, allow_pass=False) if "initialStones" in query else []
    if "moves" not in query:
        raise QueryError("Must specify an array of [player,location] pairs", "moves", qid)
    moves = _moves(query, "moves", qid, allow_pass=True)
    initial = None
    if "initialPlayer" in query:
        initial = parse_player(query["initialPlayer"])
        if initial is None:
            raise QueryError('Must be "b" or "w"', "initialPlayer", qid)
    turns = query.get("analyzeTurns", [len(moves)])
    if not isinstance(turns, list) or not all(_is_int(t) for t in turns):
        raise QueryError("Must specify an array of integers indicating turns to analyze", "analyzeTurns", qid)
    for turn in turns:
        if not 0 <= turn <= len(moves):
            raise QueryError(f"Invalid turn number: {turn}", "analyzeTurns", qid)
    if "rules" not in query:
        raise QueryError(RULES_ERROR, "rules", qid)
    if not isinstance(query["rules"], (str, dict)):
        raise QueryError(RULES_ERROR, "rules", qid)
    try:
        suicide_legal = parse_rules(query["rules"])
    except (ValueError, RecursionError):
        shown = query["rules"] if isinstance(query["rules"], str) else json.dumps(query["rules"])
        raise QueryError(f"Could not parse rules: {shown}", "rules", qid) from None
    komi = _komi(query, qid, query["rules"])
    if not isinstance(query.get("overrideSettings", {}), dict):
        raise QueryError("Must be an object", "overrideSettings", qid)
    max_visits = DEFAULT_MAX_VISITS
    if "maxVisits" in query:
        max_visits = _integer(query, "maxVisits", qid, 1, MAX_VISITS, "Must be an integer from 1 to 2^50")
    warnings = []
    for name in ("includeMovesOwnership", "includeOwnership"):
        if _boolean(query, name, qid):
            warnings.append({"id": qid, "field": name, "warning":
                             "A policy network does not estimate ownership: no ownership is reported"})
    include_policy = _boolean(query, "includePolicy", qid)
    priority = 0
    if "priority" in query:
        priority = _integer(query, "priority", qid, -MAX_PRIORITY, MAX_PRIORITY,
                            "Must be a number between -2^62 and 2^62")
    kind, chosen = _avoid(query, qid)
    if suicide_legal:
        warnings.insert(0, {"id": qid, "field": "rules", "warning":
                            "These rules allow multi-stone suicide; this engine treats suicide as illegal"})
    positions = replay(qid, stones, moves, initial, komi)
    wanted = sorted(set(turns))
    return Request(qid, [(t, positions[t]) for t in wanted], max_visits, include_policy, priority,
                   avoid=chosen if kind == "avoid" else {}, allow=chosen if kind == "allow" else {},
                   warnings=warnings)


def replay(qid: str, stones, moves, initial: int | None, komi: float) -> list[Position]:
    """Return the position of every turn: [after the setup, after moves[0], ...].

    Raises QueryError (field "initialStones" or "moves") if the rules refuse a stone or a move.
    """
    black = [p for colour, p in stones if colour == BLACK]
    white = [p for colour, p in stones if colour == WHITE]
    try:
        position = Position(BOARD_SIZE, komi=komi).setup(black, white)
    except IllegalMove as error:
        raise QueryError(f"Illegal initial stones: {error}", "initialStones", qid) from None
    if initial is None:
        if moves:
            initial = moves[0][0]
        else:  # KataGo: two or more black stones and no white ones are handicap stones
            initial = WHITE if len(black) >= 2 and not white else BLACK
    positions = [position.with_to_play(initial)]
    for number, (colour, point) in enumerate(moves):
        try:
            positions.append(positions[-1].play(point, colour))
        except IllegalMove:
            raise QueryError(f"Illegal move {number}: {format_vertex(point, BOARD_SIZE)}",
                             "moves", qid) from None
    return positions
