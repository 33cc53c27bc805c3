"""What the GUIs draw: pure formatters from a PolicyMap to text, and their GTP commands.

Every display says it is the raw policy of one forward pass, not a search result:
GoGui gets a `TEXT` status line saying so; the Leela Zero / KataGo analysis lines use
the policy as `prior`, pseudo-visits proportional to it (`visits` = round(prior x
1000), so Sabaki, which labels moves with at least 10 visits, labels the moves of at
least 1%), and a FIXED winrate of 50% (`winrate 5000` in lz format, `0.5` in kata
format) with score fields fixed at 0: there is no value head, so these numbers carry
no information and are constant on purpose.

Formats checked against the clients' sources: Sabaki `src/modules/analysis.js`
(`info` split, `winrate` float if it contains a dot, else /100) and @sabaki/gtp's
StreamController (a reply ends at an empty line); Lizzie's MoveData (integers parsed
with Integer.parseInt in lz mode); Leela Zero `GTP.cpp` (`=id` on its own line, then
`info move ... order K pv ...`, `play <vertex>` ends genmove_analyze) and
`Network::show_heatmap` (policy x 1000 as `%3d`, top row first, then `pass:`);
KataGo `docs/GTP_Extensions.md` (kata-analyze fields, kata-raw-nn `policy` floats
from A19 row by row, NAN on illegal points, `policyPass`).
"""

import itertools

import numpy as np

from gopolicy.engine.gtp.protocol import GtpError, Stream, gtp_command
from gopolicy.coords import COLUMNS, format_vertex

PSEUDO_VISITS = 1000  # visits = round(prior * PSEUDO_VISITS)
MAX_INFO_MOVES = 30
RAW_NOTE = "raw policy, one forward pass, no search"
# perceptual ramp (viridis, 9 anchors from dark to bright)
_RAMP = ["#440154", "#472c7a", "#3b518b", "#2c718e", "#21908d",
         "#27ad81", "#5cc863", "#aadc32", "#fde725"]
_LEVELS = 16
_MAX_CENTIS = 10**7  # the longest analysis interval accepted, in centiseconds (about 28 hours)
_DECADES = 3.0  # the colour scale spans p/pmax from 10^-3 to 1, logarithmically
# key-value pairs of lz-analyze / kata-analyze accepted and checked (only `interval` changes
# anything): counts are whole numbers, flags true or false
_ANALYZE_COUNTS = {"minmoves", "maxmoves", "pvVisits", "pvEdgeVisits"}
_ANALYZE_FLAGS = {"ownership", "ownershipStdev", "movesOwnership", "rootInfo"}
_MAX_COUNT = 10**9


def _ramp_colour(x: float) -> str:
    """Return the #rrggbb colour at x in [0, 1] on the ramp (linear between anchors)."""
    x = min(max(x, 0.0), 1.0) * (len(_RAMP) - 1)
    i = min(int(x), len(_RAMP) - 2)
    t = x - i
    a = [int(_RAMP[i][k:k + 2], 16) for k in (1, 3, 5)]
    b = [int(_RAMP[i + 1][k:k + 2], 16) for k in (1, 3, 5)]
    return "#" + "".join(f"{round(u + (v - u) * t):02x}" for u, v in zip(a, b))


def _colour_name(colour: int) -> str:
    return "black" if colour > 0 else "white"


def _ranked(pmap, n: int) -> list[tuple[tuple[int, int], float]]:
    return [(point, p) for point, p in pmap.top(n) if p > 0]


def top_summary(pmap, n: int = 5) -> str:
    """Return "D4 31%, Q16 12%, ..." for the n most probable moves."""
    return ", ".join(f"{format_vertex(pt, pmap.size)} {p:.0%}" for pt, p in _ranked(pmap, n))


def gfx_heatmap(pmap, labels: int = 5) -> str:
    """Return GoGui gfx: COLOR lines shading each legal point by probability (log scale,
    viridis), LABEL with percentages on the top moves, and a TEXT status line."""
    probs = pmap.probs
    pmax = float(probs.max())
    lines = []
    if pmax > 0:
        rel = np.where(probs > 0, probs / pmax, 0.0)
        level = np.where(rel > 0, 1.0 + np.log10(np.maximum(rel, 1e-12)) / _DECADES, -1.0)
        bins = np.where(level >= 0, np.minimum((level * _LEVELS).astype(int), _LEVELS - 1), -1)
        bins = np.where((probs > 0) & (bins < 0), 0, bins)
        for b in range(_LEVELS):
            points = np.argwhere(bins == b)
            if len(points):
                vertices = " ".join(format_vertex((int(r), int(c)), pmap.size) for r, c in points)
                lines.append(f"COLOR {_ramp_colour(b / (_LEVELS - 1))} {vertices}")
    top = _ranked(pmap, labels)
    if top:
        lines.append("LABEL " + " ".join(
            f"{format_vertex(pt, pmap.size)} {round(p * 100)}%" for pt, p in top))
    lines.append(f"TEXT {_colour_name(pmap.to_play)}: {RAW_NOTE}: {top_summary(pmap) or 'no legal move'}")
    return "\n".join(lines)


def gfx_influence(pmap) -> str:
    """Return GoGui gfx INFLUENCE values p/pmax in [0, 1] on legal points, and a TEXT line."""
    pmax = float(pmap.probs.max())
    parts = []
    if pmax > 0:
        for r, c in np.argwhere(pmap.probs > 0):
            parts.append(f"{format_vertex((int(r), int(c)), pmap.size)} {pmap.probs[r, c] / pmax:.3f}")
    lines = ["INFLUENCE " + " ".join(parts)] if parts else []
    lines.append(f"TEXT {_colour_name(pmap.to_play)}: {RAW_NOTE} (relative to the best move)")
    return "\n".join(lines)


def dboard(pmap) -> str:
    """Return a GoGui dboard of the policy on a log scale, rows top first: 1 on the most
    probable move, 1 + log10(p / pmax) / 3 elsewhere (0.667 at a tenth of the best, 0.333 at a
    hundredth), 0 below a thousandth of the best and on illegal points.

    GoGui draws a square of side proportional to the value and nothing below 0.01, so raw
    probabilities (mostly under 0.01) drew an empty board; this view shows the moves the
    linear influence view leaves too small to see.
    """
    probs = pmap.probs
    pmax = float(probs.max())
    values = np.zeros_like(probs, dtype=np.float64)
    if pmax > 0:
        rel = np.where(probs > 0, probs / pmax, 0.0)
        values = np.clip(1.0 + np.log10(np.maximum(rel, 1e-12)) / _DECADES, 0.0, 1.0)
    return "\n".join(" ".join(f"{v:.3f}" for v in row) for row in values[::-1])


def top_moves_text(pmap, n: int = 10) -> str:
    """Return one line per top move ("1. D4 31.2%") under a line naming the raw policy."""
    lines = [f"{RAW_NOTE}, {_colour_name(pmap.to_play)} to play"]
    lines += [f"{i}. {format_vertex(pt, pmap.size)} {p:.1%}"
              for i, (pt, p) in enumerate(_ranked(pmap, n), 1)]
    return "\n".join(lines)


def lz_heatmap(pmap) -> str:
    """Return Leela Zero's heatmap: policy x 1000 as `%3d ` integers, top row first, then
    `pass: 0` (the network has no pass output) and a note line."""
    values = (pmap.probs * 1000).astype(int)[::-1]
    lines = ["".join(f"{v:3d} " for v in row).rstrip() for row in values]
    lines += ["pass: 0", f"note: {RAW_NOTE}"]
    return "\n".join(lines)


def raw_nn(pmap, legal: np.ndarray | None = None) -> str:
    """Return a kata-raw-nn style dump: `symmetry 0`, `policy` then floats from A19 row by
    row (NAN on illegal points), `policyPass 0`."""
    legal = pmap.probs > 0 if legal is None else legal
    rows = []
    for row in range(pmap.size - 1, -1, -1):
        rows.append(" ".join(f"{pmap.probs[row, c]:.6f}" if legal[row, c] else "NAN"
                             for c in range(pmap.size)))
    return "\n".join(["symmetry 0", "policy", *rows, "policyPass 0.000000"])


def info_line(pmap, kata: bool = False, max_moves: int = MAX_INFO_MOVES) -> str:
    """Return one analysis line `info move D4 visits N winrate W prior P ... order K pv D4 ...`.

    lz format: integers 0-10000 (winrate fixed 5000); kata format: floats 0-1 (winrate
    fixed 0.5, scores 0). Moves most probable first, at least 1 pseudo-visit each.
    """
    parts = []
    for order, (pt, p) in enumerate(_ranked(pmap, max_moves)):
        visits = round(p * PSEUDO_VISITS)
        if visits < 1 and order > 0:
            break
        vertex = format_vertex(pt, pmap.size)
        visits = max(visits, 1)
        if kata:
            parts.append(f"info move {vertex} visits {visits} utility 0 winrate 0.5 scoreMean 0 "
                         f"scoreStdev 0 scoreLead 0 prior {p:.6f} lcb 0.5 utilityLcb 0 "
                         f"order {order} pv {vertex}")
        else:
            parts.append(f"info move {vertex} visits {visits} winrate 5000 "
                         f"prior {min(10000, round(p * 10000))} lcb 5000 order {order} pv {vertex}")
    return " ".join(parts)


def _is_number(text: str) -> bool:
    """True for an optionally negative run of ASCII digits (an interval, valid or not)."""
    digits = text[1:] if text.startswith("-") else text
    return digits.isascii() and digits.isdigit()


def _natural(text: str, high: int) -> int:
    """Return a whole number 0..high written in ASCII digits; GtpError("syntax error")
    otherwise (negative, too large, anything else: never a Python int of 10^6 digits)."""
    if not (text.isascii() and text.isdigit()) or len(text.lstrip("0")) > len(str(high)):
        raise GtpError("syntax error")
    value = int(text)
    if value > high:
        raise GtpError("syntax error")
    return value


def parse_analyze_args(args, parse_colour) -> tuple[int | None, float]:
    """Return (colour or None, interval in seconds) from `[colour] [interval] [key value]...`.

    Raises GtpError("syntax error") for anything else.
    """
    args = list(args)
    colour, centis = None, 0
    if args and args[0].lower() in ("b", "w", "black", "white"):
        colour = parse_colour(args.pop(0))
    if args and _is_number(args[0]):
        centis = _natural(args.pop(0), _MAX_CENTIS)
    if len(args) % 2:
        raise GtpError("syntax error")
    for key, value in zip(args[::2], args[1::2]):
        if key == "interval":
            centis = _natural(value, _MAX_CENTIS)
        elif key in _ANALYZE_FLAGS:
            if value not in ("true", "false"):
                raise GtpError("syntax error")
        elif key in _ANALYZE_COUNTS:
            _natural(value, _MAX_COUNT)
        else:
            raise GtpError("syntax error")
    return colour, centis / 100.0


class AnalysisCommands:
    """GoGui analyze commands, Sabaki/Lizzie streaming analysis, raw policy dumps."""

    ANALYZE_COMMANDS = [
        "gfx/Policy heatmap/gopolicy-policy_gfx",
        "gfx/Policy heatmap Black/gopolicy-policy_gfx b",
        "gfx/Policy heatmap White/gopolicy-policy_gfx w",
        "gfx/Policy heatmap %c/gopolicy-policy_gfx %c",
        "gfx/Policy influence %c/gopolicy-policy_influence %c",
        "dboard/Policy log scale (best = 1) %c/gopolicy-policy_dboard %c",
        "string/Policy top moves %c/gopolicy-policy_top %c",
    ]

    def __init__(self, context, parse_colour):
        self.ctx = context
        self.parse_colour = parse_colour

    def _position(self, colour: str | int | None = None):
        position = self.ctx.session.position
        if isinstance(colour, str):
            colour = self.parse_colour(colour)
        if colour is not None and colour != position.to_play:
            position = position.with_to_play(colour)
        return position

    def _map(self, colour=None):
        return self.ctx.policy.evaluate(self._position(colour))

    @gtp_command("gogui-analyze_commands")
    def cmd_gogui_analyze_commands(self) -> str:
        return "\n".join(self.ANALYZE_COMMANDS)

    @gtp_command("gopolicy-policy_gfx")
    def cmd_policy_gfx(self, colour: str | None = None) -> str:
        return gfx_heatmap(self._map(colour))

    @gtp_command("gopolicy-policy_influence")
    def cmd_policy_influence(self, colour: str | None = None) -> str:
        return gfx_influence(self._map(colour))

    @gtp_command("gopolicy-policy_dboard")
    def cmd_policy_dboard(self, colour: str | None = None) -> str:
        return "\n" + dboard(self._map(colour))

    @gtp_command("gopolicy-policy_top")
    def cmd_policy_top(self, colour: str | None = None) -> str:
        return top_moves_text(self._map(colour))

    def cmd_heatmap(self, symmetry: str = "0") -> str:
        if symmetry not in ("0", "average", "avg"):
            raise GtpError("only the identity symmetry is available")
        return "\n" + lz_heatmap(self._map())

    @gtp_command("kata-raw-nn")
    def cmd_kata_raw_nn(self, symmetry: str = "0") -> str:
        if symmetry != "0":
            raise GtpError("only symmetry 0 is available")
        position = self._position()
        return raw_nn(self.ctx.policy.evaluate(position), position.legal_mask(position.to_play))

    # ---- streamed analysis (Sabaki, Lizzie, KaTrain) -----------------------------------
    def _analyze(self, args, kata: bool) -> Stream:
        colour, interval = parse_analyze_args(args, self.parse_colour)
        line = info_line(self._map(colour), kata=kata)
        if interval <= 0:  # Leela Zero prints nothing then; one line helps every client
            return Stream([line], 0.0, until_input=True)
        return Stream(itertools.repeat(line), max(interval, 0.01), until_input=True)

    def cmd_analyze(self, *args: str) -> Stream:
        return self._analyze(args, kata=False)

    @gtp_command("lz-analyze")
    def cmd_lz_analyze(self, *args: str) -> Stream:
        return self._analyze(args, kata=False)

    @gtp_command("kata-analyze")
    def cmd_kata_analyze(self, *args: str) -> Stream:
        return self._analyze(args, kata=True)

    def _genmove_analyze(self, args, kata: bool) -> Stream:
        colour, _ = parse_analyze_args(args, self.parse_colour)
        colour = self.ctx.session.position.to_play if colour is None else colour
        decision = self.ctx.genmove(colour)
        lines = []
        if decision.policy is not None:
            lines.append(info_line(decision.policy, kata=kata))
        lines.append(f"play {self.ctx.move_text(decision.move)}")
        return Stream(lines, 0.0, until_input=False)

    def cmd_genmove_analyze(self, *args: str) -> Stream:
        return self._genmove_analyze(args, kata=False)

    @gtp_command("lz-genmove_analyze")
    def cmd_lz_genmove_analyze(self, *args: str) -> Stream:
        return self._genmove_analyze(args, kata=False)

    @gtp_command("kata-genmove_analyze")
    def cmd_kata_genmove_analyze(self, *args: str) -> Stream:
        return self._genmove_analyze(args, kata=True)


__all__ = ["COLUMNS", "gfx_heatmap", "gfx_influence", "dboard", "top_moves_text",
           "lz_heatmap", "raw_nn", "info_line", "parse_analyze_args", "AnalysisCommands"]
