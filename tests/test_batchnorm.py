"""Batch-norm training: folding at export gives the paper's plain network, unfolding gives it back,
a warm start from a plain network keeps its function, and bf16 training matches fp32."""

import numpy as np
import pytest
import torch

from gopolicy.model import PolicyConfig, PolicyNet
from gopolicy.weights import load_weights
from tests.test_trainer import config, learnable
from gopolicy.training.batchnorm import BatchNormPolicyNet, fold, from_plain, norm_state, unfold
from gopolicy.training.export import export
from gopolicy.training.trainer import Trainer

CONFIG = PolicyConfig(filters=8, layers=4)


def planes(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return torch.from_numpy((rng.random((n, 48, 19, 19)) < 0.2).astype(np.float32))


def trained_bn_net(seed=0):
    """A BatchNormPolicyNet after a few SGD steps: non-trivial scales, shifts and running statistics."""
    torch.manual_seed(seed)
    net = BatchNormPolicyNet(CONFIG)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for step in range(5):
        x = planes(seed=step)
        loss = torch.nn.functional.cross_entropy(net(x), torch.randint(0, 361, (len(x),)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def test_folded_network_computes_what_the_batch_norm_network_computes_in_eval_mode(one_thread):
    net = trained_bn_net()
    plain = fold(net)
    assert type(plain) is PolicyNet and set(plain.state_dict()) == set(PolicyNet(CONFIG).state_dict())
    x = planes(seed=99)
    with torch.no_grad():
        torch.testing.assert_close(plain(x), net(x), rtol=1e-4, atol=1e-4)


def test_unfold_inverts_fold(one_thread):
    net = trained_bn_net()
    again = unfold(fold(net), norm_state(net))
    for name, tensor in net.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        torch.testing.assert_close(again.state_dict()[name], tensor, rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize("state,message", [
    ({"layers": []}, "layers"),
    ({"layers": [{"weight": [1.0] * 3, "bias": [0.0] * 8, "mean": [0.0] * 8, "var": [1.0] * 8}] * 3}, "shape"),
    ({"layers": [{"weight": [0.0] * 8, "bias": [0.0] * 8, "mean": [0.0] * 8, "var": [1.0] * 8}] * 3}, "zero scale"),
])
def test_unfold_refuses_state_of_another_network(state, message):
    with pytest.raises(ValueError, match=message):
        unfold(PolicyNet(CONFIG), state)


def test_warm_start_from_a_plain_network_keeps_its_function(one_thread):
    torch.manual_seed(3)
    plain = PolicyNet(CONFIG).eval()
    with torch.no_grad():
        for conv in plain.convs:
            conv.bias.normal_(0, 0.5)
    x = planes(64, seed=5)
    net = from_plain(plain, x)
    with torch.no_grad():
        expected = plain(x)
        torch.testing.assert_close(net.train()(x), expected, rtol=1e-4, atol=1e-4)  # batch statistics
        torch.testing.assert_close(net.eval()(x), expected, rtol=1e-4, atol=1e-4)   # running statistics


def test_batch_norm_run_exports_the_plain_network_and_a_warm_restart_continues_it(tmp_path, one_thread):
    learnable(tmp_path / "data")
    Trainer(config(tmp_path, batch_norm=True, optimizer="sgd", nesterov=True, steps=20)).run()
    exported = tmp_path / "bn.safetensors"
    meta = export(tmp_path / "run", exported, which="last")
    plain, loaded = load_weights(exported)
    assert len(loaded["batch_norm"]["layers"]) == 2 and meta["batch_norm"] == loaded["batch_norm"]

    trained = BatchNormPolicyNet(plain.config)
    trained.load_state_dict(torch.load(tmp_path / "run" / "last.pt", weights_only=True)["model"])
    x = planes(16, seed=7)
    with torch.no_grad():
        torch.testing.assert_close(plain(x), trained.eval()(x), rtol=1e-4, atol=1e-4)

    restart = Trainer(config(tmp_path, out="leg2", batch_norm=True, init=str(exported), steps=2))
    with torch.no_grad():
        torch.testing.assert_close(restart.model.eval()(x.contiguous(memory_format=torch.channels_last)),
                                   plain(x), rtol=1e-4, atol=1e-4)
    restart.model.train()
    restart.run()


def test_init_from_weights_of_another_shape_is_refused(tmp_path, tiny_weights):
    learnable(tmp_path / "data")
    with pytest.raises(ValueError, match="give the same --filters and --layers"):
        Trainer(config(tmp_path, init=str(tiny_weights), filters=16))


def test_bf16_and_fp32_runs_of_one_seed_agree_on_validation_loss(tmp_path, one_thread):
    learnable(tmp_path / "data")
    results = {p: Trainer(config(tmp_path, out=p, precision=p, batch_norm=True, steps=16, val_every=16,
                                 lr=0.01)).run() for p in ("fp32", "bf16")}
    assert 0.5 < results["fp32"]["loss"] < 5.6  # it learned something (uniform: 5.89), not everything
    assert abs(results["bf16"]["loss"] - results["fp32"]["loss"]) < 0.05 * results["fp32"]["loss"]
