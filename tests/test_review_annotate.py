"""`gopolicy annotate`: the SGF it writes parses with sgfmill and its labels name the top moves."""

import pytest

pytest.importorskip("torch")

from sgfmill import sgf  # noqa: E402

from gopolicy.cli import main  # noqa: E402
from gopolicy.network_options import DEFAULT_SYMMETRIES  # noqa: E402  (the commands' default)
from gopolicy.review.annotate import node_per_step  # noqa: E402

# Move 3 carries a comment and a label of its own, which must survive.
GAME = (b"(;GM[1]FF[4]SZ[19]KM[6.5]PB[B]PW[W];B[pd];W[dp];B[pp]C[nice move]LB[aa:x]"
        b";W[dd];B[qk](;W[])(;W[ab]))")
MOVES = 6  # main line: the pass variation


def annotated(tmp_path, tiny_weights, capsys, *extra):
    sgf_path = tmp_path / "game.sgf"
    sgf_path.write_bytes(GAME)
    out = tmp_path / "annotated.sgf"
    status = main(["annotate", str(sgf_path), "--weights", str(tiny_weights), "--device", "cpu",
                   "-o", str(out), *extra])
    assert status == 0, capsys.readouterr().err
    return sgf.Sgf_game.from_bytes(out.read_bytes())


def expected_policies(tiny_weights):
    """Return the PolicyMap of every position of GAME's main line, the final one included."""
    from gopolicy.policy import Policy
    from gopolicy.sgf_io import load_game

    game = load_game(GAME)
    policy = Policy(tiny_weights, device="cpu", symmetries=DEFAULT_SYMMETRIES)
    return [policy.evaluate(p) for p, _ in game.positions()] + [policy.evaluate(game.final_position())]


def test_labels_name_the_top_moves(tmp_path, tiny_weights, capsys):
    game = annotated(tmp_path, tiny_weights, capsys)
    nodes = node_per_step(game, MOVES)
    pmaps = expected_policies(tiny_weights)
    assert len(nodes) == len(pmaps) == MOVES + 1
    for node, pmap in zip(nodes, pmaps):
        labels = dict(node.get("LB"))
        top = pmap.top(5)
        for point, p in top:
            assert labels[point].endswith("%")
            assert float(labels[point][:-1]) == pytest.approx(p * 100, abs=0.51)
        comment = node.get("C")
        assert "Policy network" in comment and comment.count("%") >= 5


def test_comments_give_rank_of_played_move(tmp_path, tiny_weights, capsys):
    game = annotated(tmp_path, tiny_weights, capsys)
    nodes = node_per_step(game, MOVES)
    pmaps = expected_policies(tiny_weights)
    # after 4 moves Black played R9 = (8, 16)
    rank = 1 + int((pmaps[4].probs > pmaps[4].probs[8, 16]).sum())
    assert f"Played next: R9, rank {rank} of " in nodes[4].get("C")
    assert "Played next: pass." in nodes[5].get("C")
    assert "End of the game." in nodes[6].get("C")
    assert "Policy network review of 5 moves" in game.get_root().get("C")


def test_existing_comment_and_label_survive(tmp_path, tiny_weights, capsys):
    game = annotated(tmp_path, tiny_weights, capsys)
    node = node_per_step(game, MOVES)[3]
    assert node.get("C").startswith("nice move\n\n")
    assert ((18, 0), "x") in node.get("LB")
    # the variation is still there, unannotated
    variation = game.get_main_sequence()[-2][1]
    assert variation.get_move() == ("w", (17, 0)) and not variation.has_property("LB")


def test_letter_labels(tmp_path, tiny_weights, capsys):
    game = annotated(tmp_path, tiny_weights, capsys, "--labels", "letters")
    root = node_per_step(game, MOVES)[0]
    top = expected_policies(tiny_weights)[0].top(5)
    assert [dict(root.get("LB"))[point] for point, _ in top] == list("ABCDE")
    assert "A. " in root.get("C")


@pytest.mark.parametrize("data, output, words", [
    (b"(;GM[1]SZ[19];B[pd", "out.sgf", ""),
    (b"(;GM[1]FF[4]SZ[13];B[gg])", "out.sgf", "13"),
    (GAME, "missing/out.sgf", "does not exist"),
    (GAME, "out.png", ".sgf"),
])
def test_annotate_errors_are_one_line(tmp_path, tiny_weights, capsys, data, output, words):
    sgf_path = tmp_path / "game.sgf"
    sgf_path.write_bytes(data)
    status = main(["annotate", str(sgf_path), "--weights", str(tiny_weights), "-o", str(tmp_path / output)])
    err = capsys.readouterr().err
    assert status != 0
    assert err.startswith("gopolicy annotate: error:") and err.count("\n") == 1 and words in err, err
