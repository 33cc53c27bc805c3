"""The policy network's shape: Silver et al. 2016, Methods, "Neural network architecture"."""

import pytest

torch = pytest.importorskip("torch")

from gopolicy.model import (  # noqa: E402
    PolicyConfig,
    PolicyNet,
    expected_shapes,
    forward_flops,
    multiply_adds,
    training_flops,
)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("k", [8, 128, 192, 256, 384])
def test_every_filter_count_gives_361_logits(k):
    net = PolicyNet(PolicyConfig(filters=k)).eval()
    with torch.inference_mode():
        logits = net(torch.rand(2, 48, 19, 19))
    assert logits.shape == (2, 361)
    assert logits.dtype == torch.float32
    assert torch.isfinite(logits).all()


def test_layers_are_the_papers():
    # one 5x5, eleven 3x3 (zero padding keeps 19x19), one 1x1 to a single plane without bias
    net = PolicyNet(PolicyConfig(filters=16))
    kernels = [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in net.convs]
    assert kernels == [(48, 16, (5, 5), (2, 2))] + [(16, 16, (3, 3), (1, 1))] * 11
    assert (net.head.in_channels, net.head.out_channels, net.head.kernel_size) == (16, 1, (1, 1))
    assert net.head.bias is None


def test_each_point_has_its_own_bias():
    net = PolicyNet(PolicyConfig(filters=8)).eval()
    assert net.point_bias.shape == (361,)
    x = torch.rand(1, 48, 19, 19)
    with torch.no_grad():
        before = net(x)
        net.point_bias[72] += 3.0
        after = net(x)
    change = after - before
    assert change[0, 72] == pytest.approx(3.0)
    assert torch.count_nonzero(change) == 1


def test_padding_keeps_the_board_size():
    net = PolicyNet(PolicyConfig(filters=8))
    shapes = []
    for conv in net.convs:
        conv.register_forward_hook(lambda module, args, out: shapes.append(tuple(out.shape[-2:])))
    net(torch.rand(1, 48, 19, 19))
    assert shapes == [(19, 19)] * 12


def test_other_board_sizes():
    net = PolicyNet(PolicyConfig(filters=8, board_size=9))
    assert net(torch.rand(3, 48, 9, 9)).shape == (3, 81)


@pytest.mark.parametrize("kwargs, message", [
    ({"filters": 0}, "filters must be >= 1"),
    ({"filters": -8}, "filters must be >= 1"),
    ({"layers": 1}, "layers must be >= 2"),
    ({"board_size": 1}, "board_size must be in 2..25"),
    ({"board_size": 26}, "board_size must be in 2..25"),
    ({"input_planes": 0}, "input_planes must be >= 1"),
    ({"filters": 1.5}, "filters must be an int"),
    ({"filters": True}, "filters must be an int"),
    ({"layers": "13"}, "layers must be an int"),
])
def test_config_refuses_nonsense(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PolicyConfig(**kwargs)


def test_config_is_frozen_and_round_trips_through_a_dict():
    config = PolicyConfig(filters=128)
    assert PolicyConfig() == PolicyConfig(filters=192, layers=13, board_size=19, input_planes=48)
    with pytest.raises(AttributeError):
        config.filters = 3
    assert PolicyConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown network config keys"):
        PolicyConfig.from_dict({"filters": 8, "dropout": 0.5})


@pytest.mark.parametrize("k", [8, 192, 384])
def test_expected_shapes_match_the_module(k):
    config = PolicyConfig(filters=k)
    actual = {name: tuple(t.shape) for name, t in PolicyNet(config).state_dict().items()}
    assert expected_shapes(config) == actual


def _counted_multiply_adds(net, size=19):
    """Oracle: multiply-adds of every conv as each output value's kernel volume."""
    total = 0
    for conv in [*net.convs, net.head]:
        out_channels, in_channels, kh, kw = conv.weight.shape
        total += size * size * out_channels * in_channels * kh * kw
    return total


@pytest.mark.parametrize("k", [8, 128, 192, 256, 384])
def test_flop_count(k):
    config = PolicyConfig(filters=k)
    assert multiply_adds(config) == _counted_multiply_adds(PolicyNet(config))
    assert forward_flops(config) == 2 * multiply_adds(config)
    first_layer = 2 * 361 * 48 * k * 25
    assert training_flops(config) == 3 * forward_flops(config) - first_layer  # no input gradient


def test_k192_costs_1_4_billion_multiply_adds():
    # 361 * (48*192*25 + 11*192*192*9 + 192*1)
    assert multiply_adds(PolicyConfig()) == 1_400_726_208
