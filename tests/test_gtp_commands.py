"""Every standard GTP command of the engine, in-process, with ids, errors and undo.

Replies are compared with the texts of the GTP 2 specification and GNU Go.
"""

import re

import pytest

from gopolicy.engine.gtp.command import build_engine

VERTEX = re.compile(r"^[A-HJ-T](1[0-9]|[1-9])$")


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    import torch

    from gopolicy.model import PolicyConfig, PolicyNet
    from gopolicy.policy import Policy
    from gopolicy.weights import save_weights

    torch.manual_seed(7)
    path = save_weights(tmp_path_factory.mktemp("w") / "tiny.safetensors",
                        PolicyNet(PolicyConfig(filters=8)), {"provenance": {"trained": False}})
    return Policy(path, device="cpu")


def engine_sender(engine):
    """Return send(line) -> the engine's reply without its closing blank line."""

    def send(line: str) -> str:
        reply = engine.execute(line)
        assert reply.endswith("\n\n")
        return reply[:-2]

    send.engine = engine
    return send


@pytest.fixture
def gtp(policy):
    return engine_sender(build_engine(policy))


@pytest.fixture
def lizzie_gtp(policy):
    """The engine as `gopolicy gtp --lizzie` builds it."""
    return engine_sender(build_engine(policy, lizzie=True))


def play_all(gtp, moves: str):
    for move in moves.split(","):
        colour, vertex = move.split()
        assert gtp(f"play {colour} {vertex}") == "= ", move


# (command, reply) in one session, top to bottom
SCRIPT = [
    ("1 protocol_version", "=1 2"),
    ("2 name", "=2 gopolicy"),
    ("3 boardsize 19", "=3 "),
    ("4 boardsize 13", "?4 unacceptable size"),
    ("5 boardsize nineteen", "?5 syntax error"),
    ("6 clear_board", "=6 "),
    ("7 komi 6.5", "=7 "),
    ("get_komi", "= 6.5"),
    ("8 komi lots", "?8 syntax error"),
    ("komi nan", "? syntax error"),
    ("9 undo", "?9 cannot undo"),
    ("10 final_score", "=10 W+6.5"),
    ("11 play b d4", "=11 "),
    ("12 play B D4", "?12 illegal move"),          # occupied
    ("13 play white q16", "=13 "),
    ("14 play BLACK Q4", "=14 "),
    ("15 play w I5", "?15 invalid coordinate"),    # no letter I
    ("16 play w a20", "?16 invalid coordinate"),
    ("17 play red d5", "?17 invalid color"),
    ("18 play w", "?18 syntax error"),
    ("19 play w pass", "=19 "),
    ("20 undo", "=20 "),
    ("21 undo", "=21 "),
    ("22 play b q4", "=22 "),
    ("23 known_command kgs-genmove_cleanup", "=23 true"),
    ("24 known_command PLAY", "=24 false"),
    ("25 time_settings 300 30 5", "=25 "),
    ("26 time_settings 300 x 5", "?26 syntax error"),
    ("27 time_left b 100 0", "=27 "),
    ("28 time_left q 100 0", "?28 invalid color"),
    ("29 kgs-time_settings byoyomi 300 30 5", "=29 "),
    ("30 kgs-time_settings none", "=30 "),
    ("31 kgs-time_settings sometimes 1", "?31 syntax error"),
    ("32 final_status_list dead", "=32 "),
    ("33 fixed_handicap 2", "?33 board not empty"),
    ("34 clear_board", "=34 "),
    ("35 fixed_handicap 1", "?35 invalid number of stones"),
    ("36 fixed_handicap 10", "?36 invalid number of stones"),
    ("37 fixed_handicap 9", "=37 D4 Q16 D16 Q4 D10 Q10 K4 K16 K10"),
    ("38 undo", "?38 cannot undo"),                # handicap stones are not moves
    ("39 nonsense", "?39 unknown command"),
]


def test_scripted_session(gtp):
    for command, reply in SCRIPT:
        assert gtp(command) == reply, command


@pytest.mark.parametrize("stones, vertices", [
    (2, "D4 Q16"), (3, "D4 Q16 D16"), (4, "D4 Q16 D16 Q4"), (5, "D4 Q16 D16 Q4 K10"),
    (6, "D4 Q16 D16 Q4 D10 Q10"), (7, "D4 Q16 D16 Q4 D10 Q10 K10"),
    (8, "D4 Q16 D16 Q4 D10 Q10 K4 K16"),
])
def test_fixed_handicap_placements_of_the_spec(gtp, stones, vertices):
    assert gtp(f"fixed_handicap {stones}") == f"= {vertices}"
    for vertex in vertices.split():
        assert gtp(f"play w {vertex}") == "? illegal move"
    assert VERTEX.match(gtp("genmove w")[2:])  # white moves after a handicap


def test_free_handicap(gtp):
    placed = gtp("place_free_handicap 4")[2:].split()
    assert len(placed) == 4 and all(VERTEX.match(v) for v in placed)
    assert gtp("place_free_handicap 3") == "? board not empty"
    assert gtp("clear_board") == "= "
    assert gtp("set_free_handicap D4") == "? bad vertex list"
    assert gtp("set_free_handicap D4 D4") == "? bad vertex list"
    assert gtp("set_free_handicap D4 pass") == "? bad vertex list"
    assert gtp("set_free_handicap D4 Q16 K10") == "= "
    assert gtp("play b k10") == "? illegal move"
    assert "HA[3]" in gtp("printsgf")


def test_illegal_moves_suicide_and_ko(gtp):
    play_all(gtp, "w A2,w B1")
    assert gtp("play b A1") == "? illegal move"   # suicide
    #  4 . X O .
    #  3 X O . O     black D3 takes C3; white may not retake at once
    #  2 . X O .
    play_all(gtp, "b C4,w D4,b B3,w E3,b C2,w D2,w C3,b D3")
    assert gtp("play w C3") == "? illegal move"   # ko
    play_all(gtp, "w Q16,b Q4")
    assert gtp("play w C3") == "= "               # after a ko threat exchange


def test_genmove_plays_the_move_and_undo_takes_it_back(gtp):
    first = gtp("1 genmove b")
    assert re.fullmatch(r"=1 [A-HJ-T]\d{1,2}", first)
    vertex = first[3:]
    assert gtp(f"play w {vertex}") == "? illegal move"
    board = gtp("showboard")
    assert board.startswith("= \n") and "x" in board  # the last move in lower case
    assert gtp("undo") == "= "
    assert gtp(f"play w {vertex}") == "= "


def test_genmove_is_deterministic_and_reg_genmove_does_not_play(gtp):
    a = gtp("reg_genmove b")
    b = gtp("reg_genmove b")
    assert a == b and VERTEX.match(a[2:])
    assert gtp(f"play b {a[2:]}") == "= "
    cleanup = gtp("kgs-genmove_cleanup w")
    assert VERTEX.match(cleanup[2:]) or cleanup == "= pass"
    assert gtp("genmove purple") == "? invalid color"


def test_final_score_area(gtp):
    assert gtp("final_score") == "= W+7.5"
    play_all(gtp, "b D4")
    assert gtp("final_score") == "= B+353.5"   # 361 points of black area - 7.5
    play_all(gtp, "w Q16")
    assert gtp("final_score") == "= W+7.5"


def test_loadsgf_and_printsgf(gtp, tmp_path):
    sgf = tmp_path / "game.sgf"
    sgf.write_text("(;GM[1]FF[4]SZ[19]KM[6.5];B[pd];W[dp];B[pp];W[dd])")
    assert gtp(f"1 loadsgf {sgf}") == "=1 "
    assert gtp("get_komi") == "= 6.5"
    assert gtp("play b q16") == "? illegal move"   # pd = Q16 is on the board
    assert gtp(f"loadsgf {sgf} 3") == "= "          # position before move 3
    assert gtp("play b Q4") == "= "
    assert gtp("undo") == "= " and gtp("undo") == "= " and gtp("undo") == "= "
    assert gtp("undo") == "? cannot undo"
    missing = tmp_path / "missing.sgf"
    assert gtp(f"2 loadsgf {missing}") == f"?2 cannot load file: {missing}: No such file or directory"
    assert gtp("loadsgf") == "? syntax error"

    from sgfmill import sgf as sgfmill

    gtp(f"loadsgf {sgf}")
    text = gtp("printsgf")[2:]
    game = sgfmill.Sgf_game.from_string(text)
    moves = [node.get_move() for node in game.get_main_sequence()[1:]]
    assert moves == [("b", (15, 15)), ("w", (3, 3)), ("b", (3, 15)), ("w", (15, 3))]
    out = tmp_path / "out.sgf"
    assert gtp(f"printsgf {out}") == "= "
    assert sgfmill.Sgf_game.from_bytes(out.read_bytes()).get_size() == 19


def test_list_commands_has_what_guis_look_for(gtp):
    listed = gtp("list_commands")[2:].split("\n")
    for name in ["protocol_version", "name", "version", "known_command", "list_commands", "quit",
                 "boardsize", "clear_board", "komi", "play", "genmove", "undo", "showboard",
                 "final_score", "fixed_handicap", "place_free_handicap", "set_free_handicap",
                 "loadsgf", "printsgf", "time_settings", "time_left", "kgs-time_settings",
                 "kgs-genmove_cleanup", "reg_genmove", "gogui-analyze_commands", "analyze",
                 "lz-analyze", "kata-analyze", "genmove_analyze", "lz-genmove_analyze",
                 "kata-genmove_analyze", "heatmap", "kata-raw-nn"]:
        assert name in listed, name


def test_plain_version_is_the_projects_own(gtp):
    """Without --lizzie, `version` is what GUIs show and write into game records: ours alone."""
    import gopolicy

    assert gtp("1 version") == f"=1 {gopolicy.__version__}"
    assert gtp("2 name") == "=2 gopolicy"


def test_version_passes_lizzies_check_and_names_gopolicy(lizzie_gtp):
    """With --lizzie, for Lizzie 0.7.4 (Leelaz.java): the reply's first word split at dots, int
    of the second part must be >= 15, else a modal dialog and no analysis; `name` must not claim
    another engine."""
    import gopolicy

    gtp = lizzie_gtp
    version = gtp("2 version")[3:]
    minor = int(version.split(" ")[0].split(".")[1])
    assert minor >= 15
    assert f"gopolicy {gopolicy.__version__}" in version
    assert gtp("1 name") == "=1 gopolicy"


def test_every_gogui_analyze_command_shows_something(gtp):
    """Each `gogui-analyze_commands` entry, run as GoGui 1.6 runs it (%c -> the colour to
    move), gives output GoGui draws visibly: gfx COLOR/LABEL or INFLUENCE values of at least
    0.01, a dboard whose largest value is 1, a non-empty string."""
    play_all(gtp, "b D4,w Q16")
    entries = gtp("gogui-analyze_commands")[2:].split("\n")
    assert len(entries) >= 5
    for entry in entries:
        kind, label, command = entry.split("/")
        assert label and kind in ("gfx", "dboard", "string"), entry
        body = gtp(f"7 {command.replace('%c', 'b')}")
        assert body.startswith("=7 "), (entry, body)
        lines = [line for line in body[3:].split("\n") if line.strip()]
        if kind == "gfx":
            colours = [line for line in lines if line.startswith("COLOR ")]
            influence = [float(v) for line in lines if line.startswith("INFLUENCE ")
                         for v in line.split()[2::2]]
            assert any(len(line.split()) > 2 for line in colours) or max(influence) == 1.0, entry
            assert any(line.startswith("TEXT ") for line in lines), entry
        elif kind == "dboard":
            values = [[float(v) for v in line.split()] for line in lines]
            assert len(values) == 19 and all(len(row) == 19 for row in values), entry
            assert max(map(max, values)) == 1.0, entry
            assert sum(v >= 0.01 for row in values for v in row) >= 10, entry
            assert values[15][3] == 0.0 and values[3][15] == 0.0, "stones at D4 and Q16"
        else:
            assert re.search(r"\b[A-HJ-T]\d{1,2}\b", body), entry
