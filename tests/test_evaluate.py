"""`gopolicy evaluate`, and prepare -> train -> export -> evaluate on real KGS games."""

import json

import numpy as np
import pytest
from conftest import KGS_DIR

from gopolicy.cli import main
from gopolicy.training.evaluate import BUCKETS, Scores, bucket_name

GAME = b"(;GM[1]FF[4]SZ[19]KM[6.5];B[pd];W[dp];B[pq];W[];B[dd];W[qk];B[jj])"


def test_move_number_buckets():
    move_numbers = np.array([0, 19, 20, 49, 50, 99, 100, 199, 200, 350])
    scores = Scores()
    scores.add(np.ones(10), np.arange(10) % 2 == 0, np.ones(10, bool), move_numbers)
    result = scores.result()
    assert [bucket_name(*b) for b in BUCKETS] == ["0-19", "20-49", "50-99", "100-199", "200+"]
    assert all(row["positions"] == 2 and row["top1"] == 0.5 for row in result["by_move"].values())
    assert result["positions"] == 10 and result["top5"] == 1.0 and result["nll"] == 1.0


def test_json_contract_on_a_small_game(tmp_path, tiny_weights, capsys):
    (tmp_path / "g.sgf").write_bytes(GAME)
    assert main(["evaluate", "--weights", str(tiny_weights), "--json", "--workers", "1", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"games", "positions", "top1", "top5", "nll", "by_move"} <= set(result)
    assert result["games"] == 1 and result["positions"] == 6 and result["passes"] == 1
    assert 0 <= result["top1"] <= result["top5"] <= 1 and 0 < result["nll"] < 50  # finite: played moves are legal
    assert result["by_move"]["0-19"]["positions"] == 6 and result["by_move"]["200+"]["positions"] == 0


def test_split_scores_only_the_games_prepare_puts_there(tmp_path, tiny_weights, capsys):
    """Each game lands in exactly one split, by the same rule as `gopolicy prepare`."""
    from gopolicy.training.prepare import split_of

    games = [GAME.replace(b"KM[6.5]", b"KM[%d.5]" % k) for k in range(12)]
    for k, data in enumerate(games):
        (tmp_path / f"g{k}.sgf").write_bytes(data)
    fractions = "0.5,0.25,0.25"
    counts = {}
    for split in ("train", "val", "test"):
        assert main(["evaluate", "--weights", str(tiny_weights), "--json", "--workers", "1",
                     "--split", split, "--split-fractions", fractions, str(tmp_path)]) == 0
        counts[split] = json.loads(capsys.readouterr().out)["games"]
    expected = {s: sum(split_of(d, (0.5, 0.25, 0.25)) == s for d in games) for s in counts}
    assert counts == expected and sum(counts.values()) == len(games)


def test_the_shipped_network_is_the_default(tmp_path, capsys):
    """`gopolicy evaluate --json games/` with no --weights scores the shipped network."""
    from gopolicy.weights import default_weights_path

    if not default_weights_path().is_file():
        pytest.skip("no shipped network in weights/")
    (tmp_path / "g.sgf").write_bytes(GAME)
    assert main(["evaluate", "--json", "--workers", "1", str(tmp_path)]) == 0
    default = json.loads(capsys.readouterr().out)
    assert main(["evaluate", "--json", "--workers", "1", "--weights", str(default_weights_path()),
                 str(tmp_path)]) == 0
    assert default == json.loads(capsys.readouterr().out)
    assert default["games"] == 1 and default["positions"] == 6


def test_no_subcommand_requires_weights():
    """Every command that loads a network (gtp, match, evaluate, heatmap, review, annotate, ...)
    falls back to the shipped one: none has a required --weights."""
    import argparse
    from importlib import import_module

    from gopolicy.cli import SUBCOMMANDS

    with_weights = []
    for name, (module, _) in SUBCOMMANDS.items():
        parser = argparse.ArgumentParser()
        import_module(module).add_arguments(parser)
        for action in parser._actions:
            if "--weights" in action.option_strings:
                with_weights.append(name)
                assert not action.required and action.default is None, name
    assert {"gtp", "match", "evaluate", "heatmap", "review", "annotate"} <= set(with_weights)


def test_bad_weights_file_exits_2(tmp_path, capsys):
    (tmp_path / "w.safetensors").write_bytes(b"nonsense")
    (tmp_path / "g.sgf").write_bytes(GAME)
    assert main(["evaluate", "--weights", str(tmp_path / "w.safetensors"), str(tmp_path / "g.sgf")]) == 2
    assert "w.safetensors" in capsys.readouterr().err


@pytest.mark.slow
def test_prepare_train_export_evaluate_on_kgs_games(tmp_path, capsys):
    archives = sorted(KGS_DIR.glob("*.tar.gz")) if KGS_DIR.exists() else []
    if not archives:
        pytest.skip(f"no KGS archives in {KGS_DIR}")
    source, data, run = str(archives[-1]), tmp_path / "data", tmp_path / "run"
    assert main(["prepare", source, "--out", str(data), "--limit", "8", "--split", "0.5,0.5,0",
                 "--workers", "1", "--games-per-shard", "3", "--quiet"]) == 0
    manifest = json.loads((data / "manifest.json").read_text())
    assert manifest["positions"]["train"] > 100 and manifest["positions"]["val"] > 0
    assert main(["train", "--data", str(data), "--out", str(run), "--filters", "8", "--layers", "3",
                 "--batch-size", "32", "--steps", "8", "--val-every", "4", "--quiet", "--no-tensorboard"]) == 0
    weights = tmp_path / "w.safetensors"
    assert main(["export", str(run), "--out", str(weights)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--weights", str(weights), "--json", "--limit", "8", "--workers", "1", source]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["games"] == manifest["games"]["kept"]
    assert result["positions"] == manifest["positions"]["total"]  # every non-pass position, as prepared
    assert sum(row["positions"] for row in result["by_move"].values()) == result["positions"]
    assert 0 <= result["top1"] <= result["top5"] <= 1 and result["nll"] > 0


def test_symmetries_average_the_policy_as_the_engine_does(tmp_path, tiny_weights, capsys):
    """--symmetries 8 scores the move distribution of Policy(symmetries=8): same top-1 hits and NLL."""
    from gopolicy.policy import Policy
    from gopolicy.sgf_io import load_game

    (tmp_path / "g.sgf").write_bytes(GAME)
    policy = Policy(tiny_weights, device="cpu", symmetries=8, precision="fp32")
    pairs = [(p, m) for p, m in load_game(GAME).positions() if m is not None]
    maps = policy.evaluate_batch([p for p, _ in pairs])
    top1 = np.mean([np.unravel_index(np.argmax(pm.probs), pm.probs.shape) == m for pm, (_, m) in zip(maps, pairs)])
    nll = np.mean([-np.log(pm.probs[m]) for pm, (_, m) in zip(maps, pairs)])
    for symmetries in (1, 8):
        assert main(["evaluate", "--weights", str(tiny_weights), "--json", "--workers", "1", "--precision", "fp32",
                     "--symmetries", str(symmetries), str(tmp_path)]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["symmetries"] == symmetries
        if symmetries == 1:
            one = result
    assert result["top1"] == pytest.approx(top1) and result["nll"] == pytest.approx(nll, rel=1e-4)
    assert result["nll"] != pytest.approx(one["nll"], rel=1e-4)  # the average is another distribution
    with pytest.raises(SystemExit):
        main(["evaluate", "--symmetries", "9", str(tmp_path)])
