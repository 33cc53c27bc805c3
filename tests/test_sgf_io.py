"""SGF records -> Game: metadata, setup, moves, bad records, files over the size limit."""

import os
from pathlib import Path

import pytest
from sgfmill import sgf, sgf_grammar, sgf_moves

from gopolicy.board import BLACK, WHITE
from gopolicy.sgf_collections import CollectionStats, iter_sgf_bytes
from gopolicy.sgf_io import (
    MAX_SGF_BYTES,
    NOT_A_FILE,
    TOO_LARGE,
    BadGame,
    Game,
    load_game,
    main_line,
    read_sgf_file,
)

DATA = Path(__file__).parent / "data"


def sgf_board_and_plays(game):
    """Oracle: sgfmill's board with the setup stones, and the main line's (colour, move)."""
    return sgf_moves.get_setup_and_moves(game)


def sgfmill_final_grid(data: bytes) -> list[list[int]]:
    """Oracle: the final board of a record replayed by sgfmill, as +1/-1/0 rows [row][col]."""
    board, plays = sgf_board_and_plays(sgf.Sgf_game.from_bytes(data))
    for colour, move in plays:
        if move is not None:
            board.play(move[0], move[1], colour)
    sign = {"b": 1, "w": -1, None: 0}
    return [[sign[board.get(r, c)] for c in range(board.side)] for r in range(board.side)]


# --- the files in tests/data --------------------------------------------------------------

FILES = [
    # file,          size, moves, first_player, komi, handicap, setup B, setup W
    ("plain.sgf",     19,  60,    BLACK,        7.5,  0,        0,       0),
    ("handicap.sgf",  19,  7,     WHITE,        0.5,  3,        3,       0),
    ("passes.sgf",    19,  8,     BLACK,        6.5,  0,        0,       0),
    ("ko.sgf",        19,  10,    BLACK,        6.5,  0,        0,       0),
]


@pytest.mark.parametrize("name,size,moves,first,komi,handicap,black,white", FILES)
def test_files_load(name, size, moves, first, komi, handicap, black, white):
    game = load_game(DATA / name)
    assert (game.size, len(game.moves), game.first_player, game.komi, game.handicap) == (
        size, moves, first, komi, handicap)
    assert (len(game.setup_black), len(game.setup_white)) == (black, white)
    assert game.source.endswith(name)


@pytest.mark.parametrize("name", ["plain.sgf", "handicap.sgf", "passes.sgf"])
def test_final_board_agrees_with_sgfmill(name):
    data = (DATA / name).read_bytes()
    final = load_game(data).final_position()
    assert final.grid.tolist() == sgfmill_final_grid(data)


def test_plain_metadata_and_unicode_names():
    game = load_game(DATA / "plain.sgf")
    assert game.black_player == "Hon'inbō Shūsaku"
    assert (game.white_player, game.black_rank, game.white_rank) == ("Zen19X", "7d", "9d")
    assert (game.rules, game.result) == ("Chinese", "W+70.5")
    assert game.moves[0] == (BLACK, (3, 2))  # B[cp] = C4
    assert game.final_position().prisoners != (0, 0)  # the sample holds captures


def test_positions_have_the_mover_to_play_and_the_next_move():
    game = load_game(DATA / "passes.sgf")
    seen = [(pos.to_play, move, pos.move_number) for pos, move in game.positions()]
    #        B[pd]             W[tt]        B[dp]            B[pp]             W[]
    assert seen == [(BLACK, (15, 15), 0), (WHITE, None, 1), (BLACK, (3, 3), 2), (BLACK, (3, 15), 3),
                    (WHITE, None, 4), (BLACK, (15, 3), 5), (WHITE, None, 6), (BLACK, None, 7)]
    assert game.final_position().move_number == 8


def test_handicap_white_moves_first_on_the_setup_stones():
    game = load_game(DATA / "handicap.sgf")
    first, move = next(game.positions())
    assert (first.to_play, move, first.move_number) == (WHITE, (15, 3), 0)
    assert sorted(zip(*(first.grid == BLACK).nonzero())) == [(3, 3), (3, 15), (15, 15)]
    assert game.initial_position().to_play == WHITE


def test_ko_retake_is_an_illegal_move():
    game = load_game(DATA / "ko.sgf")
    positions = []
    with pytest.raises(BadGame) as info:
        for position, move in game.positions():
            positions.append(move)
    assert info.value.reason == "illegal move"
    assert "move 10" in str(info.value) and "E5" in str(info.value) and "ko" in str(info.value)
    assert len(positions) == 10  # every position up to the bad move was handed out
    with pytest.raises(BadGame, match="move 10"):
        game.final_position()


def test_ko_oracle_sgfmill_agrees_the_ko_is_on():
    """sgfmill's Board reports the simple-ko point after black's capture (move 9)."""
    data = (DATA / "ko.sgf").read_bytes()
    board, plays = sgf_board_and_plays(sgf.Sgf_game.from_bytes(data))
    ko = None
    for colour, (row, col) in plays[:9]:
        ko = board.play(row, col, colour)
    assert ko == (4, 4)


@pytest.mark.parametrize("name,reason", [
    ("garbled.sgf", "parse error"),
    ("nine.sgf", "board size"),
    ("empty.sgf", "empty"),
])
def test_bad_files(name, reason):
    with pytest.raises(BadGame) as info:
        load_game(DATA / name)
    assert info.value.reason == reason
    assert name in str(info.value)


def test_other_sizes_when_allowed():
    game = load_game(DATA / "nine.sgf", sizes=(9, 19))
    assert (game.size, game.komi, game.moves[0]) == (9, 7.0, (BLACK, (4, 4)))
    assert game.final_position().grid.shape == (9, 9)


# --- tiny records as a table ----------------------------------------------------------------

GOOD = [
    # record                                                      attribute       expected
    (b"(;SZ[19]KM[6.5];B[aa])",                                   "komi",         6.5),
    (b"(;SZ[19];B[aa])",                                          "komi",         0.0),
    (b"(;SZ[19]KM[abc];B[aa])",                                   "komi",         0.0),
    (b"(;KM[0.50];B[aa])",                                        "size",         19),
    (b"(;SZ[19]HA[4]AB[dd][pd][dp][pp];W[qq])",                   "handicap",     4),
    (b"(;SZ[19]AB[dd][pp]AW[pd];B[aa])",                          "setup_white",  [(15, 15)]),
    (b"(;SZ[19]AB[aa:bb];B[cc])",                                 "setup_black",  [(17, 0), (17, 1), (18, 0), (18, 1)]),
    (b"(;SZ[19]AB[dd][pp]AE[aa];B[bb])",                          "setup_black",  [(3, 15), (15, 3)]),
    (b"(;SZ[19]AB[dd][pp];AE[dd];W[aa])",                         "setup_black",  [(3, 15)]),
    (b"(;SZ[19]PL[W];B[aa])",                                     "first_player", WHITE),
    (b"(;SZ[19]PL[b];W[aa])",                                     "first_player", BLACK),
    (b"(;SZ[19];W[aa])",                                          "first_player", WHITE),
    (b"(;SZ[19]BR[3k]WR[2d*];B[aa])",                             "white_rank",   "2d*"),
    (b"(;SZ[19]RE[B+3.5];B[aa])",                                 "result",       "B+3.5"),
    (b"(;SZ[19]RE[];B[aa])",                                      "result",       None),
    (b"(;SZ[19]RU[Japanese];B[aa])",                              "rules",        "Japanese"),
    (b"(;SZ[19]CA[ISO-8859-1]PB[Jos\xe9];B[aa])",                 "black_player", "Jos\u00e9"),
    (b"(;SZ[19]CA[UTF-8]PB[Jos\xe9];B[aa])",                      "black_player", "Jos\u00e9"),
    (b"(;SZ[19]CA[klingon]PB[Ana];B[aa])",                        "black_player", "Ana"),
    (b"(;SZ[19]PB[a\\]b];B[aa])",                                 "black_player", "a]b"),
    (b"(;SZ[19];B[pd];W[tt];W[dp])",                              "moves",        [(BLACK, (15, 15)), (WHITE, None), (WHITE, (3, 3))]),
    (b"(;SZ[19]B[pd];W[dd])",                                     "moves",        [(BLACK, (15, 15)), (WHITE, (15, 3))]),
    (b"(;SZ[19];B[pd](;W[dd])(;W[dp]))",                          "moves",        [(BLACK, (15, 15)), (WHITE, (15, 3))]),
    (b"junk before (;SZ[19];B[pd]) junk after",                   "moves",        [(BLACK, (15, 15))]),
]


@pytest.mark.parametrize("record,attribute,expected", GOOD)
def test_good_records(record, attribute, expected):
    assert getattr(load_game(record), attribute) == expected


BAD = [
    # record                                      reason           message contains
    (b"",                                         "parse error",   "no SGF data"),
    (b"(;SZ[19];B[pd]",                           "parse error",   "end of SGF"),
    (b"(;SZ[19];B[pd]W)",                         "parse error",   "no values"),
    (b"(;SZ[9];B[ee])",                           "board size",    "9"),
    (b"(;SZ[13];B[ee])",                          "board size",    "13"),
    (b"(;SZ[x];B[ee])",                           "bad property",  "SZ"),
    (b"(;SZ[19]KM[6.5])",                         "empty",         "no moves"),
    (b"(;SZ[19]AB[dd][pp])",                      "empty",         "no moves"),
    (b"(;SZ[19];B[zz])",                          "bad property",  "not a move"),
    (b"(;SZ[19];B[pd][dd])",                      "bad property",  "not a move"),
    (b"(;SZ[19];B[pd]W[dd])",                     "bad property",  "both B and W"),
    (b"(;SZ[19];B[pd];AB[dd];W[pp])",             "bad property",  "after move 1"),
    (b"(;SZ[19]AB[zz];B[pd])",                    "bad property",  "AB"),
    (b"(;SZ[19]AB[dd]AW[dd];B[pd])",              "bad property",  "both AB and AW"),
    (b"(;SZ[19]PL[X];B[pd])",                     "bad property",  "PL"),
]


@pytest.mark.parametrize("record,reason,text", BAD)
def test_bad_records(record, reason, text):
    with pytest.raises(BadGame) as info:
        load_game(record, source="case.sgf")
    assert info.value.reason == reason
    assert isinstance(info.value, ValueError)
    assert text in str(info.value) and "case.sgf" in str(info.value)


ILLEGAL = [
    # record                                                      move   why
    (b"(;SZ[19];B[pd];W[pd])",                                    2,     "occupied"),
    (b"(;SZ[19]AB[dd];W[dd])",                                    1,     "occupied"),
    # white plays into a black eye at A19 with no capture: suicide
    (b"(;SZ[19];B[ba];W[pp];B[ab];W[aa])",                        4,     "suicide"),
]


@pytest.mark.parametrize("record,number,why", ILLEGAL)
def test_illegal_moves_are_found_on_replay(record, number, why):
    game = load_game(record)  # parsing alone does not check the rules
    with pytest.raises(BadGame) as info:
        game.final_position()
    assert info.value.reason == "illegal move"
    assert f"move {number}" in str(info.value) and why in str(info.value)


def test_setup_without_liberties_is_a_bad_property():
    game = load_game(b"(;SZ[19]AB[aa]AW[ba][ab];B[pd])")
    with pytest.raises(BadGame) as info:
        game.initial_position()
    assert info.value.reason == "bad property"


def test_game_can_be_built_by_hand():
    game = Game(moves=[(BLACK, (3, 3)), (WHITE, (15, 15))], komi=7.5)
    assert [move for _, move in game.positions()] == [(3, 3), (15, 15)]
    assert game.final_position().komi == 7.5


# --- collections ----------------------------------------------------------------------------


def sparse_file(tmp_path, size: int) -> Path:
    """Return a file of `size` bytes that takes no disk space (a hole)."""
    path = tmp_path / "huge.sgf"
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def fifo(tmp_path) -> Path:
    os.mkfifo(tmp_path / "pipe.sgf")
    return tmp_path / "pipe.sgf"


REFUSED = [  # the file named, its reason, words of the message (besides the file's name)
    (lambda tmp: sparse_file(tmp, 3 * 2**30), TOO_LARGE, [str(3 * 2**30), str(MAX_SGF_BYTES)]),
    (lambda tmp: sparse_file(tmp, MAX_SGF_BYTES + 1), TOO_LARGE, [str(MAX_SGF_BYTES + 1)]),
    (lambda tmp: Path("/dev/zero"), NOT_A_FILE, ["character device"]),
    (fifo, NOT_A_FILE, ["FIFO"]),  # no writer: opening it would block for ever
    (lambda tmp: tmp, NOT_A_FILE, ["folder"]),
]


@pytest.mark.parametrize("make, reason, words", REFUSED)
def test_sgf_files_over_the_limit_devices_and_fifos_are_refused_unread(tmp_path, make, reason, words):
    path = make(tmp_path)
    for read in (read_sgf_file, load_game):
        with pytest.raises(BadGame) as info:
            read(path)
        assert info.value.reason == reason
        assert all(word in str(info.value) for word in [str(path), *words]), str(info.value)
    if path.is_dir():
        return  # to a collection reader a folder is a collection
    stats = CollectionStats()
    assert list(iter_sgf_bytes([path, DATA / "plain.sgf"], stats)) == [
        (str(DATA / "plain.sgf"), (DATA / "plain.sgf").read_bytes())]
    assert stats.skipped == {reason: 1}


def test_an_sgf_file_at_the_limit_is_read(tmp_path):
    path = tmp_path / "padded.sgf"
    data = (DATA / "plain.sgf").read_bytes()
    path.write_bytes(data + b" " * (1000 - len(data)))
    assert read_sgf_file(path, max_bytes=1000) == path.read_bytes()
    with pytest.raises(BadGame, match="1000 bytes, over the limit of 999 bytes"):
        read_sgf_file(path, max_bytes=999)



TRICKY = [
    b"(;SZ[19]C[a \\] ( ; b]PB[x\\\\];B[aa]C[]  ;W[bb])",  # brackets, parens, ; in values
    b"(;SZ[19];B[aa](;W[bb];B[cc])(;W[dd]))",            # variations: the first is the main line
    b"(;SZ[19];B[aa]",                                   # truncated
    b"(;SZ[19];[aa];B[bb])",                             # value without a property
]


@pytest.mark.parametrize("data", TRICKY)
def test_main_line_is_sgfmills(data):
    try:
        ref = list(sgf_grammar.main_sequence_iter(sgf_grammar.parse_sgf_game(data)))
    except ValueError:
        with pytest.raises(BadGame) as info:
            main_line(data)
        assert info.value.reason == "parse error"
    else:
        assert main_line(data) == ref
