"""`gopolicy heatmap`: the picture's pixels, the text board and the one-line errors.

The pixel checks read the PNG back and find board points with the same `Layout.pixel`
the drawing uses. Shading and stones are sampled a quarter point down-right of the
centre, where no grid line, label or ring is drawn.
"""

import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("torch")

from matplotlib import colormaps  # noqa: E402
from matplotlib.image import imread  # noqa: E402

from gopolicy.cli import main  # noqa: E402
from gopolicy.coords import parse_vertex  # noqa: E402
from gopolicy.network_options import DEFAULT_SYMMETRIES  # noqa: E402  (the commands' default)
from gopolicy.review.heatmap import PLAYED_COLOUR, Layout, format_text  # noqa: E402

# Four moves, then Black plays R9 (move 5).
GAME = b"(;GM[1]FF[4]SZ[19]KM[6.5]PB[Black]PW[White];B[pd];W[dp];B[pp];W[dd];B[qk];W[qf])"

# The position after 4 moves (--move 4):
#    D16 O . . . . . . . . . . . . X Q16
#     D4 O . . . . . . . . . . . . X Q4
STONES_AFTER_4 = [("Q16", "black"), ("D4", "white"), ("Q4", "black"), ("D16", "white")]
SAMPLE = (0.27, -0.27)  # board units off a point's centre: clear of grid lines, labels and rings


def write_game(tmp_path, data=GAME, name="game.sgf"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def cli(capsys, *argv):
    """Return (status, stdout, stderr) of `gopolicy ARGV`."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def pixel_rgb(image, layout, vertex, offset=SAMPLE):
    x, y = layout.pixel(parse_vertex(vertex), offset)
    return image[int(y), int(x), :3]


def policy_after(weights, sgf_path, moves, symmetries=DEFAULT_SYMMETRIES):
    """Return (PolicyMap, Position) of the position after `moves` moves, evaluated directly."""
    from gopolicy.policy import Policy
    from gopolicy.sgf_io import load_game

    game = load_game(sgf_path)
    position = list(game.positions())[moves][0]
    return Policy(weights, device="cpu", symmetries=symmetries).evaluate(position), position


@pytest.fixture
def picture(tmp_path, tiny_weights, capsys):
    """Return (image array, png path, sgf path) of the heatmap after 4 moves, one symmetry:
    averaged over 8, the tiny random network ties on its top points and no colour is hottest."""
    sgf = write_game(tmp_path)
    png = tmp_path / "after4.png"
    status, _, err = cli(capsys, "heatmap", sgf, "--move", 4, "--weights", tiny_weights,
                         "--device", "cpu", "--symmetries", 1, "-o", png)
    assert status == 0, err
    return imread(png), png, sgf


def test_png_has_the_layout_size(picture):
    image, _, _ = picture
    layout = Layout()
    assert image.shape[:2] == (layout.height_px, layout.width_px)


@pytest.mark.parametrize("vertex, colour", STONES_AFTER_4)
def test_stones_are_drawn_at_their_points(picture, vertex, colour):
    rgb = pixel_rgb(picture[0], Layout(), vertex)
    if colour == "black":
        assert rgb.max() < 0.15, rgb
    else:
        assert rgb.min() > 0.9, rgb


def test_last_move_is_marked_on_its_stone(picture):
    image, layout = picture[0], Layout()
    # D16 (white, the last move) carries a black ring of radius 0.2; Q16 (black) carries none
    assert pixel_rgb(image, layout, "D16", (0.2, 0.0)).max() < 0.3
    assert pixel_rgb(image, layout, "Q16", (0.2, 0.0)).max() < 0.15  # plain black stone


def test_hottest_colour_is_at_the_most_probable_point(picture, tiny_weights):
    image, _, sgf = picture
    layout = Layout()
    pmap, position = policy_after(tiny_weights, sgf, 4, symmetries=1)
    lut = colormaps["viridis"](np.linspace(0.0, 1.0, 256))[:, :3]
    legal = np.argwhere(position.legal_mask())
    level = {}
    for row, col in legal:
        rgb = pixel_rgb(image, layout, f"{'ABCDEFGHJKLMNOPQRST'[col]}{row + 1}")
        level[(int(row), int(col))] = int(np.argmin(((lut - rgb) ** 2).sum(axis=1)))
    hottest = max(level, key=level.get)
    assert hottest == pmap.best()
    assert level[hottest] >= 250  # the very top of the scale
    # and the scale is monotone in probability: a clearly less likely point is cooler
    coldest = min(level, key=level.get)
    assert pmap.prob(coldest) < pmap.prob(hottest)


def test_move_played_next_is_circled(picture):
    image, layout = picture[0], Layout()
    ring = np.array([int(PLAYED_COLOUR[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    # R9 was played next: its ring passes 0.46 from the centre, here up-left of it
    rgb = pixel_rgb(image, layout, "R9", (-0.46 * 0.7071, 0.46 * 0.7071))
    assert np.abs(rgb - ring).max() < 0.2, rgb
    assert np.abs(pixel_rgb(image, layout, "K10", (-0.46 * 0.7071, 0.46 * 0.7071)) - ring).max() > 0.2


def test_svg_output(tmp_path, tiny_weights, capsys):
    sgf = write_game(tmp_path)
    status, _, err = cli(capsys, "heatmap", sgf, "--move", 0, "--weights", tiny_weights,
                         "--device", "cpu", "-o", tmp_path / "empty.svg")
    assert status == 0, err
    text = (tmp_path / "empty.svg").read_text()
    assert "<svg" in text and "</svg>" in text


def test_text_board_without_output(tmp_path, tiny_weights, capsys):
    sgf = write_game(tmp_path)
    status, out, err = cli(capsys, "heatmap", sgf, "--move", 4, "--weights", tiny_weights, "--device", "cpu")
    assert status == 0, err
    assert "\x1b[" not in out  # captured stdout is not a terminal: plain text
    pmap, _ = policy_after(tiny_weights, sgf, 4)
    lines = out.splitlines()
    def cell(row, col):  # 3 characters per column after a 4-character row number
        line = next(line for line in lines if line.startswith(f"{row:>3} "))
        return line[4 + 3 * col: 7 + 3 * col]

    # D16 (white) was the last move, in parentheses; D = column 3, Q = column 15
    assert [cell(16, 3), cell(16, 15), cell(4, 3), cell(4, 15)] == ["(O)", " X ", " O ", " X "]
    best = "ABCDEFGHJKLMNOPQRST"[pmap.best()[1]] + str(pmap.best()[0] + 1)
    assert f"1. {best} " in out
    assert "Played next: R9, rank" in out


def test_text_board_colours(tmp_path, tiny_weights):
    from gopolicy.policy import Policy
    from gopolicy.review.game_policy import evaluate_step, load_review_game

    policy = Policy(tiny_weights, device="cpu", symmetries=DEFAULT_SYMMETRIES)
    step = evaluate_step(load_review_game(write_game(tmp_path)), policy, 4)
    coloured, plain = format_text(step, colour=True), format_text(step, colour=False)
    assert "\x1b[48;5;" in coloured and "\x1b[" not in plain
    assert plain.count("\n") == coloured.count("\n") - 1  # the colour scale line


# (name, SGF bytes or None for a missing file, extra arguments, words the error must contain)
ERROR_CASES = [
    ("malformed", b"(;GM[1]SZ[19];B[pd", ["--move", "0"], ""),
    ("9x9", b"(;GM[1]FF[4]SZ[9];B[ee];W[cc])", ["--move", "0"], "9"),
    ("past the end", GAME, ["--move", "7"], "past the end"),
    ("negative", GAME, ["--move", "-1"], "past the end"),
    ("missing file", None, ["--move", "0"], "no such file"),
]


@pytest.mark.parametrize("name, data, extra, words", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_user_errors_are_one_line(tmp_path, tiny_weights, capsys, name, data, extra, words):
    sgf = write_game(tmp_path, data) if data is not None else tmp_path / "absent.sgf"
    status, out, err = cli(capsys, "heatmap", sgf, *extra, "--weights", tiny_weights, "--device", "cpu",
                           "-o", tmp_path / "out.png")
    assert status != 0
    assert err.startswith("gopolicy heatmap: error:") and err.count("\n") == 1, err
    assert "Traceback" not in err and words in err
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("output", ["no_dir/out.png", "file.txt/out.png", "out.jpg", "."])
def test_unwritable_output_is_one_line(tmp_path, tiny_weights, capsys, output):
    (tmp_path / "file.txt").write_text("not a directory")
    sgf = write_game(tmp_path)
    status, _, err = cli(capsys, "heatmap", sgf, "--move", 1, "--weights", tiny_weights,
                         "-o", tmp_path / output)
    assert status != 0
    assert err.startswith("gopolicy heatmap: error:") and err.count("\n") == 1, err


def test_move_help_says_after_n_moves(capsys):
    with pytest.raises(SystemExit):
        main(["heatmap", "--help"])
    assert "after N moves" in " ".join(capsys.readouterr().out.split())
