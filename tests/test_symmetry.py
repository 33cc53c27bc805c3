"""The 8 board symmetries: inverses, composition, points agree with planes."""

import itertools

import numpy as np
import pytest

from gopolicy import symmetry
from gopolicy.symmetry import (
    NUM_SYMMETRIES,
    apply,
    compose,
    index_permutation,
    inverse,
    transform_index,
    transform_point,
)

SYMS = range(NUM_SYMMETRIES)
PAIRS = list(itertools.product(SYMS, SYMS))

# Where the corners and one asymmetric point of a 19x19 board go, written out by hand
# from the docstring table: (A1, T1, A19, C4 = (3, 2)).
CORNERS = {
    0: [(0, 0), (0, 18), (18, 0), (3, 2)],
    1: [(18, 0), (18, 18), (0, 0), (15, 2)],
    2: [(0, 18), (0, 0), (18, 18), (3, 16)],
    3: [(18, 18), (18, 0), (0, 18), (15, 16)],
    4: [(0, 0), (18, 0), (0, 18), (2, 3)],
    5: [(18, 0), (0, 0), (18, 18), (16, 3)],
    6: [(0, 18), (18, 18), (0, 0), (2, 15)],
    7: [(18, 18), (0, 18), (18, 0), (16, 15)],
}


def random_planes(seed=0, shape=(3, 19, 19)):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


@pytest.mark.parametrize("sym", SYMS)
def test_hand_written_images(sym):
    points = [(0, 0), (0, 18), (18, 0), (3, 2)]
    assert [transform_point(p, sym) for p in points] == CORNERS[sym]


def test_eight_distinct_transforms_and_identity():
    planes = random_planes()
    images = [apply(planes, s) for s in SYMS]
    assert np.array_equal(images[0], planes)
    for a, b in itertools.combinations(SYMS, 2):
        assert not np.array_equal(images[a], images[b]), (a, b)


@pytest.mark.parametrize("sym", SYMS)
def test_inverse_undoes(sym):
    planes = random_planes(sym)
    assert np.array_equal(apply(apply(planes, sym), inverse(sym)), planes)
    assert compose(inverse(sym), sym) == 0 == compose(sym, inverse(sym))
    for index in (0, 5, 180, 360):
        assert transform_index(transform_index(index, sym), inverse(sym)) == index


@pytest.mark.parametrize("a,b", PAIRS)
def test_compose_is_b_then_a(a, b):
    planes = random_planes(a * 8 + b)
    assert np.array_equal(apply(planes, compose(a, b)), apply(apply(planes, b), a))
    point = (3, 2)
    assert transform_point(point, compose(a, b)) == transform_point(transform_point(point, b), a)


@pytest.mark.parametrize("sym", SYMS)
@pytest.mark.parametrize("size", [9, 19])
def test_one_hot_plane_follows_the_point(sym, size):
    for index in range(size * size):
        point = divmod(index, size)
        plane = np.zeros((size, size), np.uint8)
        plane[point] = 1
        expected = np.zeros((size, size), np.uint8)
        expected[transform_point(point, sym, size)] = 1
        assert np.array_equal(apply(plane, sym), expected)
        assert transform_index(index, sym, size) == np.flatnonzero(expected)[0]


@pytest.mark.parametrize("sym", SYMS)
def test_index_permutation_matches_planes(sym):
    values = np.arange(361, dtype=np.int32) * 7
    perm = index_permutation(sym)
    out = np.empty_like(values)
    out[perm] = values
    assert np.array_equal(out.reshape(19, 19), apply(values.reshape(19, 19), sym))
    assert [int(perm[i]) for i in (0, 20, 360)] == [transform_index(i, sym) for i in (0, 20, 360)]
    assert sorted(perm.tolist()) == list(range(361))


@pytest.mark.parametrize("sym", SYMS)
def test_pass_is_fixed(sym):
    assert transform_point(None, sym) is None
    assert transform_index(361, sym) == 361
    assert transform_index(81, sym, size=9) == 81


def test_batch_axes_are_untouched():
    planes = random_planes(shape=(2, 4, 19, 19))
    out = apply(planes, 5)
    assert out.shape == planes.shape
    assert out.flags.c_contiguous
    assert np.array_equal(out[1, 2], apply(planes[1, 2], 5))


@pytest.mark.parametrize("bad", [-1, 8])
def test_bad_symmetry_refused(bad):
    with pytest.raises(ValueError):
        apply(random_planes(), bad)
    with pytest.raises(ValueError):
        inverse(bad)
    with pytest.raises(ValueError):
        transform_point((0, 0), bad)


def test_off_board_and_non_square_refused():
    with pytest.raises(ValueError):
        transform_point((19, 0), 1)
    with pytest.raises(ValueError):
        transform_index(362, 1)
    with pytest.raises(ValueError):
        apply(np.zeros((19, 18)), 1)


def test_docstring_has_a_row_per_symmetry():
    rows = [line for line in symmetry.__doc__.splitlines() if line.strip().startswith("|  ")]
    assert [int(line.split("|")[1]) for line in rows] == list(SYMS)


class TestTorch:
    torch = pytest.importorskip("torch")

    @pytest.mark.parametrize("sym", SYMS)
    def test_torch_matches_numpy(self, sym):
        planes = random_planes(sym, shape=(2, 3, 19, 19))
        out = apply(self.torch.from_numpy(planes), sym)
        assert isinstance(out, self.torch.Tensor)
        assert out.is_contiguous()
        assert np.array_equal(out.numpy(), apply(planes, sym))

    @pytest.mark.parametrize("a,b", PAIRS)
    def test_torch_inverse_and_compose(self, a, b):
        planes = self.torch.randn(2, 19, 19, generator=self.torch.Generator().manual_seed(a * 8 + b))
        assert self.torch.equal(apply(apply(planes, a), inverse(a)), planes)
        assert self.torch.equal(apply(planes, compose(a, b)), apply(apply(planes, b), a))

    @pytest.mark.parametrize("sym", SYMS)
    def test_torch_one_hot(self, sym):
        for index in (0, 18, 40, 200, 360):
            plane = self.torch.zeros(19, 19)
            plane.view(-1)[index] = 1
            out = apply(plane, sym)
            assert int(out.view(-1).argmax()) == transform_index(index, sym)
            assert float(out.sum()) == 1.0
