"""`gopolicy heatmap`: a picture of the network's policy on one position of a game.

With `-o out.png` (or `.svg`) matplotlib (Agg, no pyplot) draws the board: grid,
coordinates, stones, the last move marked, every legal point shaded by probability
(viridis on a square-root scale, see review.colours) with a colourbar, the top moves
labelled with percentages and the move actually played next circled in crimson with
its rank. Without `-o` the same information is printed as a text board, coloured with
ANSI 256 colours when stdout is a terminal and NO_COLOR is unset.

`Layout` is the single source of the picture's geometry: the drawing places its axes
with it and the tests compute the pixel of a board point with `Layout.pixel`.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

import numpy as np

from gopolicy.review.colours import CMAP, GAMMA, ansi256, is_light, level_rgb, levels
from gopolicy.review.game_policy import (Step, add_common_arguments, check_output, load_policy,
                                         load_review_game, make_step, moves_text, percent, position_at,
                                         run_guarded)

PLAYED_COLOUR = "#e8175d"  # crimson: stands out against every viridis colour and the wood
WOOD = "#dcb35c"
STAR_POINTS = {19: (3, 9, 15), 13: (3, 6, 9), 9: (2, 4, 6)}


@dataclass(frozen=True)
class Layout:
    """Geometry of a heatmap picture, in pixels; board units are one grid spacing.

    The board axes are a square of `board_px` at the bottom left, a title band of
    `title_px` above it and a colourbar column of `bar_px` to its right. The axes show
    board units from -pad to size - 1 + pad, point (row, col) at x = col, y = row.
    """

    size: int = 19
    dpi: int = 100
    board_px: int = 760
    title_px: int = 60
    bar_px: int = 130
    pad: float = 1.2

    @property
    def width_px(self) -> int:
        """Return the image width in pixels."""
        return self.board_px + self.bar_px

    @property
    def height_px(self) -> int:
        """Return the image height in pixels."""
        return self.board_px + self.title_px

    @property
    def limits(self) -> tuple[float, float]:
        """Return the (low, high) board-unit limits of both board axes."""
        return -self.pad, self.size - 1 + self.pad

    @property
    def cell_px(self) -> float:
        """Return the pixels per grid spacing."""
        lo, hi = self.limits
        return self.board_px / (hi - lo)

    def board_rect(self) -> list[float]:
        """Return the board axes' [left, bottom, width, height] in figure fractions."""
        return [0.0, 0.0, self.board_px / self.width_px, self.board_px / self.height_px]

    def bar_rect(self) -> list[float]:
        """Return the colourbar axes' [left, bottom, width, height] in figure fractions."""
        w, h = self.width_px, self.height_px
        return [(self.board_px + 20) / w, 0.1 * self.board_px / h, 24 / w, 0.8 * self.board_px / h]

    def pixel(self, point: tuple[int, int], offset: tuple[float, float] = (0.0, 0.0)) -> tuple[float, float]:
        """Return the (x, y) image pixel of `point` + `offset` (board units, +y up), from the top left."""
        lo, hi = self.limits
        row, col = point
        x = (col + offset[0] - lo) * self.cell_px
        y = self.title_px + (hi - row - offset[1]) * self.cell_px
        return x, y


def describe(step: Step, top: int = 5) -> list[str]:
    """Return the caption lines of a step: who is to play, the top moves, the move played next."""
    from gopolicy.coords import format_vertex

    size = step.pmap.size
    colour = "Black" if step.position.to_play > 0 else "White"
    lines = [f"After {moves_text(step.number)}, {colour} to play",
             "Top: " + "  ".join(f"{i}. {format_vertex(p, size)} {percent(q)}"
                                 for i, (p, q) in enumerate(step.pmap.top(top), 1))]
    if not step.has_next:
        lines.append("End of the game: no move was played next")
    elif step.played is None:
        lines.append("Played next: pass")
    else:
        lines.append(f"Played next: {format_vertex(step.played, size)}, "
                     f"rank {step.rank}, {percent(step.prob)}")
    return lines


def draw_heatmap(step: Step, layout: Layout | None = None, top: int = 5):
    """Return a matplotlib Figure of the heatmap of `step`, laid out by `layout`."""
    from matplotlib.colors import PowerNorm
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, Rectangle
    from matplotlib.patheffects import withStroke
    from matplotlib.ticker import PercentFormatter

    from gopolicy.coords import COLUMNS

    layout = layout or Layout(size=step.pmap.size)
    size, position, probs = layout.size, step.position, np.asarray(step.pmap.probs)
    fig = Figure(figsize=(layout.width_px / layout.dpi, layout.height_px / layout.dpi),
                 dpi=layout.dpi, facecolor="white")
    ax = fig.add_axes(layout.board_rect())
    lo, hi = layout.limits
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_axis_off()
    font_pt = layout.cell_px * 0.32 * 72 / layout.dpi

    ax.add_patch(Rectangle((-0.6, -0.6), size + 0.2, size + 0.2, color=WOOD, zorder=0))
    legal = np.asarray(position.legal_mask(), dtype=bool)
    p_max = max(float(probs.max()), 1e-9)
    norm = PowerNorm(gamma=GAMMA, vmin=0.0, vmax=p_max)
    image = ax.imshow(np.ma.masked_where(~legal, probs), cmap=CMAP, norm=norm, origin="lower",
                      extent=(-0.5, size - 0.5, -0.5, size - 0.5), interpolation="nearest",
                      aspect="auto", zorder=1)
    for i in range(size):  # grid lines above the shading so the board still reads as a board
        ax.plot([0, size - 1], [i, i], color="black", lw=0.8, alpha=0.75, zorder=2)
        ax.plot([i, i], [0, size - 1], color="black", lw=0.8, alpha=0.75, zorder=2)
    stars = STAR_POINTS.get(size, ())
    ax.scatter([c for r in stars for c in stars], [r for r in stars for c in stars],
               s=(layout.cell_px * 0.12) ** 2, color="black", zorder=2)
    for i in range(size):
        for x, y, text in ((i, lo + 0.45, COLUMNS[i]), (i, hi - 0.45, COLUMNS[i]),
                           (lo + 0.45, i, str(i + 1)), (hi - 0.45, i, str(i + 1))):
            ax.text(x, y, text, ha="center", va="center", fontsize=font_pt, zorder=2)

    grid = np.asarray(position.grid)
    for row, col in zip(*np.nonzero(grid)):
        black = grid[row, col] > 0
        ax.add_patch(Circle((col, row), 0.47, facecolor="#111111" if black else "#f7f7f7",
                            edgecolor="black", lw=0.8, zorder=3))
    if position.last_move is not None:
        row, col = position.last_move
        ax.add_patch(Circle((col, row), 0.2, fill=False, lw=1.8, zorder=4,
                            edgecolor="white" if grid[row, col] > 0 else "black"))

    for point, p in step.pmap.top(top):
        rgb = level_rgb(float(levels(np.array([p]), p_max)[0]))
        halo = [withStroke(linewidth=2.5, foreground="#%02x%02x%02x" % rgb)]  # hides the grid line
        ax.text(point[1], point[0], percent(p), ha="center", va="center", zorder=5, path_effects=halo,
                fontsize=font_pt * 0.9, fontweight="bold", color="black" if is_light(rgb) else "white")
    if step.has_next and step.played is not None:
        row, col = step.played
        ax.add_patch(Circle((col, row), 0.46, fill=False, lw=2.2, edgecolor=PLAYED_COLOUR, zorder=6))
        ax.text(col + 0.42, row + 0.42, str(step.rank), ha="center", va="center", zorder=7,
                fontsize=font_pt * 0.75, color="white", fontweight="bold",
                bbox=dict(boxstyle="round,pad=0.15", fc=PLAYED_COLOUR, ec="none"))

    caption = describe(step, top)
    fig.text(0.01, 1 - 8 / layout.height_px, caption[0] + "    " + caption[2], ha="left", va="top",
             fontsize=11, fontweight="bold")
    fig.text(0.01, 1 - 34 / layout.height_px, caption[1], ha="left", va="top", fontsize=9)
    cbar = fig.colorbar(image, cax=fig.add_axes(layout.bar_rect()))
    cbar.ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=1))
    cbar.set_label("move probability (square-root scale)")
    return fig


def save_heatmap(step: Step, path, layout: Layout | None = None, top: int = 5) -> None:
    """Write the heatmap of `step` to `path` (.png or .svg, by its suffix); raises OSError."""
    fig = draw_heatmap(step, layout, top)
    # no bbox_inches="tight": the image must keep exactly the Layout's pixel geometry
    fig.savefig(path, dpi=fig.dpi, format=str(path).rsplit(".", 1)[-1].lower())


def format_text(step: Step, colour: bool = False, top: int = 5) -> str:
    """Return the text board of `step`: top moves as rank digits, played next in [ ], last move in ( )."""
    from gopolicy.coords import COLUMNS

    size, position, probs = step.pmap.size, step.position, np.asarray(step.pmap.probs)
    grid, legal = np.asarray(position.grid), np.asarray(position.legal_mask(), dtype=bool)
    ranks = {point: i for i, (point, _) in enumerate(step.pmap.top(top), 1)}
    lv = levels(probs)
    reset = "\x1b[0m" if colour else ""
    header = "    " + "".join(f" {c} " for c in COLUMNS[:size])
    lines = [header]
    for row in range(size - 1, -1, -1):
        cells = []
        for col in range(size):
            point, stone = (row, col), grid[row, col]
            if stone:
                mark = "X" if stone > 0 else "O"
                text = f"({mark})" if point == position.last_move else f" {mark} "
                style = f"\x1b[48;5;179;38;5;{16 if stone > 0 else 231};1m"
            else:
                inner = str(ranks[point]) if point in ranks else "."
                text = f"[{inner}]" if step.has_next and point == step.played else f" {inner} "
                rgb = level_rgb(float(lv[row, col]))
                fg = 16 if is_light(rgb) else 231
                style = f"\x1b[48;5;{ansi256(rgb)};38;5;{fg}m" if legal[row, col] else "\x1b[48;5;179;38;5;16m"
            cells.append(f"{style}{text}{reset}" if colour else text)
        lines.append(f"{row + 1:>3} " + "".join(cells) + f" {row + 1}")
    lines.append(header)
    lines.extend(describe(step, top))
    if colour:
        scale = "".join(f"\x1b[48;5;{ansi256(level_rgb(i / 8))}m  " for i in range(9))
        lines.append(f"Scale: 0% {scale}{reset} {percent(float(probs.max()))} (square-root)")
    return "\n".join(lines) + "\n"


def use_colour(stream) -> bool:
    """Return True if `stream` is a terminal and the NO_COLOR convention does not forbid colour."""
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the heatmap options to `parser`."""
    add_common_arguments(parser)
    parser.add_argument("--move", "-m", type=int, required=True, metavar="N",
                        help="show the position after N moves, i.e. before move N+1 is played "
                             "(0 = the initial position, before any move)")
    parser.add_argument("--top", type=int, default=5, metavar="K",
                        help="label the K most probable moves (default 5)")
    parser.add_argument("-o", "--output", metavar="OUT", default=None,
                        help="write a picture (.png or .svg); without it, print a text board")


def run(args) -> int:
    """Draw or print the heatmap; return the exit status (1 with a one-line error)."""
    def body() -> int:
        out = check_output(args.output, (".png", ".svg")) if args.output else None
        game = load_review_game(args.game)
        position, move, has_next = position_at(game, args.move)
        pmap = load_policy(args.weights, args.device, args.symmetries).evaluate(position)
        step = make_step(args.move, position, pmap, move, has_next)
        if out is None:
            sys.stdout.write(format_text(step, colour=use_colour(sys.stdout), top=args.top))
        else:
            save_heatmap(step, out, Layout(size=game.size), top=args.top)
            print(f"wrote {out}", file=sys.stderr)
        return 0

    return run_guarded("heatmap", body)
