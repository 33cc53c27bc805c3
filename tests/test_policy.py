"""Policy: from Positions to move probabilities over the legal moves."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import KGS_DIR  # noqa: E402

from gopolicy import symmetry  # noqa: E402
from gopolicy.board import BLACK, WHITE, Position  # noqa: E402
from gopolicy.features import encode_batch  # noqa: E402
from gopolicy.model import PolicyConfig, PolicyNet  # noqa: E402
from gopolicy.policy import Policy, PolicyMap, masked_softmax, resolve_device  # noqa: E402
from gopolicy.weights import WeightsError, save_weights  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_thread")


def diagram(text, size=19):
    """Return (black, white) points of an ASCII diagram, top row first, placed in the lower-left
    corner: 'X' black, 'O' white, '.' empty."""
    rows = [line.split() for line in text.strip().splitlines()]
    black, white = [], []
    for r, line in enumerate(rows):
        row = len(rows) - 1 - r
        for col, c in enumerate(line):
            (black if c == "X" else white if c == "O" else []).append((row, col))
    return black, white


# Black is about to capture at C2 (row 1, col 2), opening a ko at B2 (row 1, col 1).
# A1, A3 and A5 are empty points inside black walls: suicide for White.
KO = """
X . . . . .
. X . . . .
X . . . . .
. X O . . .
X O . O . .
. X O . . .
"""
KO_CAPTURE = (1, 2)
KO_POINT = (1, 1)
EYES = [(0, 0), (2, 0), (4, 0)]


def ko_position():
    black, white = diagram(KO)
    position = Position().setup(black=black, white=white).play(KO_CAPTURE)  # Black captures B2
    assert position.to_play == WHITE and position.ko == KO_POINT[0] * 19 + KO_POINT[1]
    assert position.grid[KO_POINT] == 0
    return position


def test_probabilities_sum_to_one_with_zeros_on_illegal_points(tiny_weights):
    position = ko_position()
    pmap = Policy(tiny_weights, device="cpu").evaluate(position)
    assert pmap.probs.shape == (19, 19) and pmap.probs.dtype == np.float32
    assert pmap.probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert pmap.to_play == WHITE and pmap.size == 19
    occupied = position.grid != 0
    assert np.all(pmap.probs[occupied] == 0)
    assert pmap.prob(KO_POINT) == 0.0  # empty, but the ko forbids retaking now
    assert [pmap.prob(eye) for eye in EYES] == [0.0, 0.0, 0.0]  # empty, but suicide for White
    legal = position.legal_mask(WHITE)
    assert np.all(pmap.probs[legal] > 0)
    assert legal.sum() == 361 - occupied.sum() - 1 - len(EYES)


def test_the_ko_point_is_playable_for_the_other_colour(tiny_weights):
    # control for the test above: B2 is zero because of the ko, not by accident
    pmap = Policy(tiny_weights, device="cpu").evaluate(ko_position().with_to_play(BLACK))
    assert pmap.prob(KO_POINT) > 0
    assert pmap.to_play == BLACK


def test_a_real_game_position(tiny_weights):
    archives = sorted(KGS_DIR.glob("*.tar.gz"))
    if not archives:
        pytest.skip(f"no KGS archives in {KGS_DIR}")
    from gopolicy.sgf_collections import read_collection

    game = next(read_collection([archives[0]]))
    positions = [p for p, _ in game.positions()][:120:30]
    policy = Policy(tiny_weights, device="cpu", symmetries=8)
    for position, pmap in zip(positions, policy.evaluate_batch(positions)):
        assert pmap.probs.sum() == pytest.approx(1.0, abs=1e-5)
        assert np.array_equal(pmap.probs > 0, position.legal_mask())


def test_policy_map_queries():
    probs = np.zeros((19, 19), np.float32)
    probs[3, 3], probs[15, 15], probs[2, 16], probs[9, 9] = 0.5, 0.3, 0.15, 0.05
    pmap = PolicyMap(probs=probs, to_play=BLACK, size=19)
    assert pmap.top(2) == [((3, 3), 0.5), ((15, 15), pytest.approx(0.3))]
    assert [p for p, _ in pmap.top(10)] == [(3, 3), (15, 15), (2, 16), (9, 9)]  # only legal moves
    assert pmap.best() == (3, 3)
    assert pmap.prob((2, 16)) == pytest.approx(0.15)
    assert pmap.prob((0, 0)) == 0.0
    with pytest.raises(ValueError, match="off a 19x19 board"):
        pmap.prob((19, 0))
    empty = PolicyMap(probs=np.zeros((19, 19), np.float32), to_play=WHITE, size=19)
    assert empty.best() is None and empty.top() == []


def test_no_legal_move_gives_all_zeros():
    legal = np.zeros((2, 3, 3), bool)
    legal[1, 0, 0] = True
    probs = masked_softmax(np.random.default_rng(0).normal(size=(2, 3, 3)), legal)
    assert np.all(probs[0] == 0)
    assert probs[1, 0, 0] == 1.0 and probs[1].sum() == 1.0


def test_masked_softmax_matches_torch():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4, 19, 19)).astype(np.float32) * 5
    legal = rng.random((4, 19, 19)) < 0.7
    expected = torch.softmax(torch.from_numpy(np.where(legal, logits, -np.inf)).flatten(1), 1)
    assert np.allclose(masked_softmax(logits, legal).reshape(4, -1), expected.numpy(), atol=1e-6)


# An opening with a capture, played as is and under each board symmetry.
MOVES = [(3, 3), (15, 16), (16, 2), (2, 14), (4, 3), (3, 4), (2, 4), (4, 4), (5, 3), (3, 2),
         (2, 3), (3, 5), (9, 10)]


def _played(moves):
    position = Position()
    for move in moves:
        position = position.play(move)
    return position


def test_averaging_the_8_symmetries_makes_the_policy_equivariant(tiny_weights):
    original = _played(MOVES)
    averaged = Policy(tiny_weights, device="cpu", symmetries=8)
    single = Policy(tiny_weights, device="cpu", symmetries=1)
    base, base_single = averaged.evaluate(original).probs, single.evaluate(original).probs
    single_differs = []
    for s in range(1, 8):
        turned = _played([symmetry.transform_point(m, s) for m in MOVES])
        assert np.allclose(averaged.evaluate(turned).probs, symmetry.apply(base, s), atol=1e-6), s
        single_differs.append(not np.allclose(single.evaluate(turned).probs,
                                              symmetry.apply(base_single, s), atol=1e-6))
    assert all(single_differs)  # control: one random network alone is not symmetric


def test_batch_equals_one_by_one(tiny_weights):
    positions = [_played(MOVES[:n]) for n in (0, 1, 5, 13)]
    policy = Policy(tiny_weights, device="cpu", symmetries=2)
    batch = policy.evaluate_batch(positions)
    assert len(batch) == 4 and policy.evaluate_batch([]) == []
    for position, pmap in zip(positions, batch):
        assert np.allclose(pmap.probs, policy.evaluate(position).probs, atol=1e-6)
        assert pmap.to_play == position.to_play


def test_device_and_options(tiny_weights):
    policy = Policy(tiny_weights, device="auto")
    assert policy.device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert policy.config == PolicyConfig(filters=8)
    assert policy.metadata["provenance"]["trained"] is False
    policy.warm_up()  # runs the network once; must not disturb later results
    assert policy.evaluate(Position()).probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="device must be"):
        Policy(tiny_weights, device="tpu")
    with pytest.raises(ValueError, match="symmetries must be an int in 1..8"):
        Policy(tiny_weights, symmetries=9)
    with pytest.raises(ValueError, match="symmetries must be an int in 1..8"):
        Policy(tiny_weights, symmetries=0)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            Policy(tiny_weights, device="cuda")


def test_board_size_must_match_the_network(tiny_weights):
    with pytest.raises(ValueError, match="position is 9x9 but the network plays 19x19"):
        Policy(tiny_weights, device="cpu").evaluate(Position(size=9))


def test_default_weights(tmp_path, tiny_weights, monkeypatch):
    import gopolicy.policy

    missing = tmp_path / "weights" / "default.safetensors"
    monkeypatch.setattr(gopolicy.policy, "default_weights_path", lambda: missing)
    with pytest.raises(WeightsError, match="no such weights file") as error:
        Policy(device="cpu")
    assert str(missing) in str(error.value)
    missing.parent.mkdir()
    missing.write_bytes(tiny_weights.read_bytes())
    assert Policy(device="cpu").weights_path == missing


def test_a_tiny_network_learns_a_handful_of_moves(tmp_path):
    # Learning works end to end: fit 8 positions, save, reload through Policy, predict them all.
    rng = np.random.default_rng(7)
    positions, targets, position = [], [], Position()
    for n in range(60):
        legal = np.flatnonzero(position.legal_mask())
        move = divmod(int(rng.choice(legal)), 19)
        if n % 7 == 3:
            positions.append(position)
            targets.append(move)
        position = position.play(move)
    x = torch.from_numpy(encode_batch(positions)).float()
    y = torch.tensor([r * 19 + c for r, c in targets])
    torch.manual_seed(0)
    net = PolicyNet(PolicyConfig(filters=16))
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    for step in range(400):
        optimiser.zero_grad()
        logits = net(x)
        torch.nn.functional.cross_entropy(logits, y).backward()
        optimiser.step()
        if step % 10 == 0 and torch.equal(logits.argmax(1), y):
            break
    path = save_weights(tmp_path / "fit.safetensors", net, {"provenance": {"overfit": True}})
    maps = Policy(path, device="cpu").evaluate_batch(positions)
    assert [m.best() for m in maps] == targets
