"""One long run across sessions: the run state file, --continue, averaged weights, decay branches."""

import math

import pytest
import torch

from tests.test_trainer import config, learnable
from gopolicy.training import checkpoint as ck
from gopolicy.training import run_state
from gopolicy.training.export import export
from gopolicy.training.trainer import RUN_STATE, TrainConfig, Trainer, learning_rate


def run_config(tmp_path, out, **changes):
    values = dict(batch_norm=True, nesterov=True, schedule="constant", warmup=3, ema_decay=0.9, weight_decay=1e-4)
    values.update(changes)
    return config(tmp_path, out=out, **values)


def test_run_state_round_trips_every_tensor_and_number(tmp_path):
    state = {"format": ck.FORMAT, "step": 7, "best": math.inf, "name": "x", "none": None, "flag": True,
             "model": {"a.weight": torch.randn(3, 2), "n": torch.tensor(5)},
             "optimizer": {"state": {0: {"momentum_buffer": torch.ones(2)}, 3: {"momentum_buffer": None}},
                           "param_groups": [{"lr": 0.1, "params": [0, 3]}]},
             "rng": {"torch": torch.get_rng_state()}, "legs": [{"steps": 3}], "pair": [1, [2, 3]]}
    run_state.save(tmp_path / "s.safetensors", state)
    back = run_state.load(tmp_path / "s.safetensors")
    assert back["optimizer"]["state"].keys() == {0, 3}  # integer keys, as torch's optimizers need them
    assert torch.equal(back["optimizer"]["state"][0]["momentum_buffer"], torch.ones(2))
    assert back["optimizer"]["state"][3]["momentum_buffer"] is None
    assert torch.equal(back["model"]["a.weight"], state["model"]["a.weight"])
    assert torch.equal(back["rng"]["torch"], state["rng"]["torch"])
    assert {k: back[k] for k in ("step", "best", "name", "none", "flag", "legs", "pair")} == \
        {"step": 7, "best": math.inf, "name": "x", "none": None, "flag": True, "legs": [{"steps": 3}], "pair": [1, [2, 3]]}


@pytest.mark.parametrize("damage,message", [
    (lambda p: p.write_bytes(b""), "cannot read run state"),
    (lambda p: p.write_bytes(p.read_bytes()[:1000]), "cannot read run state"),
    (lambda p: p.unlink(), "no run state file"),
])
def test_a_damaged_run_state_is_refused_with_the_reason(tmp_path, damage, message):
    path = tmp_path / "s.safetensors"
    run_state.save(path, {"format": ck.FORMAT, "model": {"w": torch.zeros(100, 100)}})
    damage(path)
    with pytest.raises(ck.CheckpointError, match=message):
        run_state.load(path)


def test_a_weights_file_is_not_a_run_state(tmp_path):
    from gopolicy.model import PolicyConfig, PolicyNet
    from gopolicy.weights import save_weights

    save_weights(tmp_path / "w.safetensors", PolicyNet(PolicyConfig(filters=8, layers=3)), {})
    with pytest.raises(ck.CheckpointError, match="not a gopolicy run state"):
        run_state.load(tmp_path / "w.safetensors")


def test_two_continued_legs_equal_one_unbroken_run(tmp_path):
    """Weights, momentum, averaged weights and data position: exactly as if never stopped."""
    learnable(tmp_path / "data")
    Trainer(run_config(tmp_path, "straight", steps=12)).run()
    Trainer(run_config(tmp_path, "leg1", steps=5)).run()
    leg2 = TrainConfig(data=str(tmp_path / "data"), out=str(tmp_path / "leg2"), steps=12, val_every=5,
                       val_samples=64, checkpoint_every=2, log_every=2, progress=False, tensorboard=False,
                       device="cpu", precision="fp32", continue_from=str(tmp_path / "leg1" / RUN_STATE),
                       **{k: v for k, v in run_state.load(tmp_path / "leg1" / RUN_STATE)["config"].items()
                          if k in ("filters", "layers", "batch_size", "lr", "batch_norm", "nesterov", "schedule",
                                   "warmup", "ema_decay", "weight_decay")})
    Trainer(leg2).run()
    a, b = run_state.load(tmp_path / "straight" / RUN_STATE), run_state.load(tmp_path / "leg2" / RUN_STATE)
    assert a["step"] == b["step"] == 12 and a["samples"] == b["samples"] and a["data"] == b["data"]
    for part in ("model", "average"):
        for name in a[part]:
            assert torch.equal(a[part][name], b[part][name]), (part, name)
    for s, state in a["optimizer"]["state"].items():
        assert torch.equal(state["momentum_buffer"], b["optimizer"]["state"][s]["momentum_buffer"])
    assert [leg["steps"] for leg in b["legs"]] == [5] and b["leg"]["steps"] == 7
    assert b["leg"]["device"].startswith("cpu (")


def test_continue_keeps_the_runs_options_and_refuses_others(tmp_path):
    learnable(tmp_path / "data")
    Trainer(run_config(tmp_path, "leg1", steps=4)).run()
    state = tmp_path / "leg1" / RUN_STATE
    with pytest.raises(ValueError, match="options other than the run's: lr"):
        Trainer(run_config(tmp_path, "leg2", steps=8, lr=0.5, continue_from=str(state))).run()


def command_line(*argv) -> TrainConfig:
    """Return the TrainConfig that `gopolicy train ARGV` would run."""
    import argparse

    from gopolicy.training.trainer import add_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return config_from_args(parser.parse_args([str(a) for a in argv]))


def test_continue_from_the_command_line_takes_the_runs_options(tmp_path, capsys):
    learnable(tmp_path / "data")
    Trainer(run_config(tmp_path, "leg1", steps=4, lr=0.03)).run()
    cfg = command_line("--data", tmp_path / "data", "--out", tmp_path / "leg2", "--hours", "1",
                       "--continue", tmp_path / "leg1" / RUN_STATE, "--decay")
    assert (cfg.lr, cfg.filters, cfg.ema_decay, cfg.batch_norm, cfg.steps, cfg.hours, cfg.decay) == \
        (0.03, 8, 0.9, True, None, 1.0, True)


def test_a_decay_branch_falls_to_zero_over_its_own_leg():
    cfg = TrainConfig(data="d", out="o", lr=0.004, schedule="constant", warmup=100, hours=1.0, decay=True)
    assert math.isclose(learning_rate(cfg, 50_000, 0.0, leg_start=50_000), 0.004)
    assert math.isclose(learning_rate(cfg, 51_000, 1800.0, leg_start=50_000), 0.002)
    assert learning_rate(cfg, 52_000, 3600.0, leg_start=50_000) == 0.0
    cfg.decay = False  # the run itself never decays
    assert math.isclose(learning_rate(cfg, 52_000, 3600.0), 0.004)


@pytest.mark.parametrize("drops,step,expected", [
    ([], 10**6, 0.004), ([500], 499, 0.004), ([500], 500, 0.002), ([500, 900], 900, 0.001), ([500, 500], 600, 0.001)])
def test_each_lr_drop_halves_the_rate_from_its_step_on(drops, step, expected):
    cfg = TrainConfig(data="d", out="o", lr=0.004, schedule="constant", lr_gamma=0.5, lr_drops=drops)
    assert math.isclose(learning_rate(cfg, step), expected)


def test_a_leg_adds_an_lr_drop_that_later_legs_keep(tmp_path):
    """The rate of steps already made is history: a drop in the past is refused."""
    learnable(tmp_path / "data")
    Trainer(run_config(tmp_path, "leg1", steps=4, lr=0.04, warmup=0)).run()

    def leg(previous, out, *extra):
        return command_line("--data", tmp_path / "data", "--out", tmp_path / out, "--quiet", "--log-every", "1",
                            "--precision", "fp32", "--val-samples", "64",
                            "--continue", tmp_path / previous / RUN_STATE, *extra)

    with pytest.raises(ValueError, match="run is at step 4"):
        Trainer(leg("leg1", "early", "--steps", "8", "--lr-drop", "3")).run()
    Trainer(leg("leg1", "leg2", "--steps", "8", "--lr-drop", "6")).run()
    Trainer(leg("leg2", "leg3", "--steps", "10")).run()
    assert run_state.load(tmp_path / "leg3" / RUN_STATE)["config"]["lr_drops"] == [6]
    rates = {r.split(",")[0]: float(r.split(",")[6]) for leg in ("leg2", "leg3")
             for r in (tmp_path / leg / "metrics.csv").read_text().splitlines()[1:] if r.split(",")[2] == "train"}
    assert rates["6"] == 0.04 and rates["7"] == rates["10"] == 0.02  # row N: the Nth step, index N - 1


def test_an_average_newer_than_its_batch_norm_statistics_is_not_exported(tmp_path):
    """The average's statistics are recomputed at validations: a checkpoint between two (step 4,
    validated at 3) or before the first is refused with the reason; the run's last step validates,
    so its end exports, and so does a state from before the record."""
    learnable(tmp_path / "data")
    Trainer(run_config(tmp_path, "run", steps=5, val_every=3, checkpoint_every=4)).run()
    last = ck.load(tmp_path / "run" / ck.LAST)
    assert (last["step"], last["average_norms_step"]) == (5, 5)
    export(tmp_path / "run" / RUN_STATE, tmp_path / "end.safetensors", which="average")
    run_state.save(tmp_path / "mid.safetensors", dict(last, step=4, average_norms_step=3))
    with pytest.raises(ck.CheckpointError, match="from step 4, their batch-norm statistics from step 3"):
        export(tmp_path / "mid.safetensors", tmp_path / "mid.safetensors.out", which="average")
    # saved before the run's first validation: the average still holds its initial statistics
    run_state.save(tmp_path / "early.safetensors", dict(last, step=2, average_norms_step=None))
    with pytest.raises(ck.CheckpointError, match="from step 2, their batch-norm statistics not yet recomputed"):
        export(tmp_path / "early.safetensors", tmp_path / "early.safetensors.out", which="average")
    older = {k: v for k, v in last.items() if k != "average_norms_step"}  # a state from before the record
    run_state.save(tmp_path / "older.safetensors", older)
    assert export(tmp_path / "older.safetensors", tmp_path / "older.out.safetensors", which="average")


def test_the_average_is_validated_and_exported_folded(tmp_path):
    learnable(tmp_path / "data")
    Trainer(run_config(tmp_path, "run", steps=10, val_every=5)).run()
    splits = [r.split(",")[2] for r in (tmp_path / "run" / "metrics.csv").read_text().splitlines()[1:]]
    assert splits.count("val-average") == splits.count("val") == 2
    state = run_state.load(tmp_path / "run" / RUN_STATE)
    assert int(state["average"]["n_averaged"]) == 10
    assert (state["config"]["data"], state["config"]["out"]) == ("data", "run")  # no paths of this machine
    meta = export(tmp_path / "run" / RUN_STATE, tmp_path / "avg.safetensors", which="average")
    plain = export(tmp_path / "run" / RUN_STATE, tmp_path / "last.safetensors", which="last")
    assert meta["provenance"]["checkpoint"] == "average" and "batch_norm" in meta
    # the state names only the data folder, yet the file says what the data was, from any folder
    assert meta["provenance"]["data"]["positions"]["train"] == 512
    rows = {r.split(",")[2]: r.split(",") for r in (tmp_path / "run" / "metrics.csv").read_text().splitlines()[1:]}
    # each file carries its own weights' validation: the average's is not the run's
    assert math.isclose(meta["metrics"]["val"]["top1"], float(rows["val-average"][4]), abs_tol=1e-6)
    assert math.isclose(plain["metrics"]["val"]["top1"], float(rows["val"][4]), abs_tol=1e-6)
    assert "average" not in plain["metrics"]["val"]
    from gopolicy.weights import load_weights

    a, _ = load_weights(tmp_path / "avg.safetensors")
    b, _ = load_weights(tmp_path / "last.safetensors")
    assert plain["provenance"]["checkpoint"] == "last"
    assert not torch.equal(a.convs[1].weight, b.convs[1].weight)
