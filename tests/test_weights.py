"""Weight files: safetensors + JSON metadata, refused on load when anything is off."""

import json
import struct

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from safetensors.torch import load as st_load  # noqa: E402
from safetensors.torch import save as st_save  # noqa: E402

from gopolicy.board import Position  # noqa: E402
from gopolicy.features import FEATURE_VERSION, encode_batch  # noqa: E402
from gopolicy.model import PolicyConfig, PolicyNet  # noqa: E402
from gopolicy.weights import (  # noqa: E402
    WeightsError,
    _digest,
    default_weights_path,
    load_weights,
    save_weights,
)

INFO = {"provenance": {"games": "KGS 2001-2017", "commit": "abc123", "steps": 1000},
        "metrics": {"val_top1": 0.412, "val_nll": 2.31}}


pytestmark = pytest.mark.usefixtures("one_thread")


def _net(k=8, seed=0):
    torch.manual_seed(seed)
    return PolicyNet(PolicyConfig(filters=k)).eval()


def _positions():
    """A few positions of a short opening, with captures possible later."""
    moves = [(3, 3), (15, 15), (15, 3), (3, 15), (2, 5), (16, 13), (9, 9)]
    out, position = [], Position()
    for move in moves:
        out.append(position)
        position = position.play(move)
    return out + [position]


def test_round_trip_float32_is_exact(tmp_path):
    net = _net()
    path = save_weights(tmp_path / "net.safetensors", net, INFO)
    loaded, meta = load_weights(path)
    assert loaded.config == net.config
    for name, tensor in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    assert meta["provenance"] == INFO["provenance"]
    assert meta["metrics"] == INFO["metrics"]
    assert meta["config"] == {"filters": 8, "layers": 13, "board_size": 19, "input_planes": 48}
    assert meta["feature_version"] == FEATURE_VERSION
    assert meta["dtype"] == "float32"
    assert not loaded.training  # ready for inference


@pytest.mark.parametrize("dtype, bytes_per_value", [("float16", 2), ("bfloat16", 2)])
def test_half_precision_storage_keeps_the_policy(tmp_path, dtype, bytes_per_value):
    net = _net(k=32, seed=1)
    full = save_weights(tmp_path / "full.safetensors", net, INFO)
    half = save_weights(tmp_path / "half.safetensors", net, INFO, dtype=dtype)
    assert half.stat().st_size < 0.55 * full.stat().st_size
    loaded, meta = load_weights(half)
    assert meta["dtype"] == dtype
    assert all(t.dtype == torch.float32 for t in loaded.state_dict().values())
    x = torch.from_numpy(encode_batch(_positions())).float()
    with torch.inference_mode():
        p_full = torch.softmax(net(x), dim=1)
        p_half = torch.softmax(loaded(x), dim=1)
    assert torch.equal(p_full.argmax(dim=1), p_half.argmax(dim=1))
    tolerance = 1e-3 if dtype == "float16" else 1e-2  # bfloat16 keeps 8 mantissa bits, float16 11
    assert torch.allclose(p_full, p_half, atol=tolerance * p_full.max().item(), rtol=0)


def test_save_replaces_atomically_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "sub" / "net.safetensors"
    save_weights(path, _net(seed=0), INFO)
    save_weights(path, _net(seed=1), INFO)
    assert [p.name for p in path.parent.iterdir()] == ["net.safetensors"]
    loaded, _ = load_weights(path)
    assert torch.equal(loaded.point_bias, _net(seed=1).point_bias)


def test_save_refuses_unknown_dtype(tmp_path):
    with pytest.raises(ValueError, match="dtype must be one of"):
        save_weights(tmp_path / "x.safetensors", _net(), INFO, dtype="int8")


def test_weights_error_is_a_value_error():
    assert issubclass(WeightsError, ValueError)


def test_default_path_is_in_the_repository():
    path = default_weights_path()
    assert path.name == "default.safetensors"
    assert path.parent.name == "weights"
    assert (path.parent.parent / "pyproject.toml").exists()


# --- damaged and foreign files -------------------------------------------------------------
# Each case builds a bad file from a good one; loading must raise WeightsError naming the file
# and saying what is wrong.


def _parts(good):
    """Return (tensors, metadata) of a good weights file, to be tampered with."""
    data = good.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    return st_load(data), dict(json.loads(data[8:8 + n])["__metadata__"])


def _rewrite(good, path, tensors=None, **meta_changes):
    """Write a file with altered tensors/metadata but a valid checksum: only the intended flaw."""
    old_tensors, meta = _parts(good)
    tensors = old_tensors if tensors is None else tensors
    meta.update(meta_changes)
    meta["sha256"] = _digest(tensors)
    path.write_bytes(st_save(tensors, metadata={k: v for k, v in meta.items() if v is not None}))


def _without(good, path, name):
    tensors, _ = _parts(good)
    del tensors[name]
    _rewrite(good, path, tensors)


def _with_extra(good, path):
    tensors, _ = _parts(good)
    tensors["value_head.weight"] = torch.zeros(1, 8, 1, 1)
    _rewrite(good, path, tensors)


def _misshaped(good, path):
    tensors, _ = _parts(good)
    tensors["convs.3.weight"] = torch.zeros(8, 8, 5, 5)
    _rewrite(good, path, tensors)


def _nan(good, path):
    tensors, _ = _parts(good)
    tensors["convs.5.bias"][2] = float("nan")
    _rewrite(good, path, tensors)


def _flip_a_byte(good, path):
    data = bytearray(good.read_bytes())
    data[-100] ^= 0x10
    path.write_bytes(bytes(data))


def _garble_header(good, path):
    data = bytearray(good.read_bytes())
    (n,) = struct.unpack("<Q", data[:8])
    data[8:8 + n] = b"\xff" * n
    path.write_bytes(bytes(data))


def _plain_safetensors(good, path):
    tensors, _ = _parts(good)
    path.write_bytes(st_save(tensors))


def _pickle(good, path):
    torch.save(_net().state_dict(), path)


CORRUPTIONS = [
    # (case, make(good, path), message fragment)
    ("missing", lambda good, path: None, "no such weights file"),
    ("empty", lambda good, path: path.write_bytes(b""), "too short for a header"),
    ("text", lambda good, path: path.write_text("hello, I am not a network\n"), "not a safetensors file"),
    ("pickle", lambda good, path: _pickle(good, path), "not a safetensors file"),
    ("garbled header", _garble_header, "not a safetensors file"),
    ("cut in the header", lambda good, path: path.write_bytes(good.read_bytes()[:60]), "truncated"),
    ("cut in the data", lambda good, path: path.write_bytes(good.read_bytes()[:-1000]), "truncated"),
    ("trailing bytes", lambda good, path: path.write_bytes(good.read_bytes() + b"\0" * 16),
     "16 unexpected bytes"),
    ("flipped bit", _flip_a_byte, "does not match its sha256 checksum"),
    ("no gopolicy metadata", _plain_safetensors, "not a gopolicy weights file"),
    ("newer format", lambda good, path: _rewrite(good, path, format_version="2"), "format version '2'"),
    ("wrong feature version", lambda good, path: _rewrite(good, path, feature_version="99"),
     f"trained on feature version 99, but this build encodes feature version {FEATURE_VERSION}"),
    ("config not JSON", lambda good, path: _rewrite(good, path, config="{filters: 8"), "bad network config"),
    ("config nonsense", lambda good, path: _rewrite(good, path, config='{"filters": 0}'),
     "bad network config.*filters must be >= 1"),
    ("config lacking", lambda good, path: _rewrite(good, path, config=None), "metadata lacks 'config'"),
    ("config for another size",
     lambda good, path: _rewrite(good, path, config='{"filters": 16}'),
     r"tensor 'convs.0.weight' has shape \[8, 48, 5, 5\], expected \[16, 48, 5, 5\]"),
    ("unknown dtype", lambda good, path: _rewrite(good, path, dtype="int4"), "unknown dtype 'int4'"),
    ("dtype disagrees", lambda good, path: _rewrite(good, path, dtype="float16"),
     "is stored as F32, metadata says float16"),
    ("missing tensor", lambda good, path: _without(good, path, "point_bias"), r"missing tensors \['point_bias'\]"),
    ("extra tensor", _with_extra, r"unexpected tensors \['value_head.weight'\]"),
    ("mis-shaped tensor", _misshaped, r"tensor 'convs.3.weight' has shape \[8, 8, 5, 5\], expected \[8, 8, 3, 3\]"),
    ("not a number", _nan, "tensor 'convs.5.bias' contains NaN"),
]


@pytest.mark.parametrize("case, make, message", CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_damaged_or_foreign_files_are_refused(tmp_path, case, make, message):
    good = save_weights(tmp_path / "good.safetensors", _net(), INFO)
    bad = tmp_path / "bad.safetensors"
    make(good, bad)
    with pytest.raises(WeightsError, match=message) as error:
        load_weights(bad)
    assert str(bad) in str(error.value)


def test_tampering_helper_alone_keeps_a_file_loadable(tmp_path):
    # the corruption cases above fail for their flaw, not for the way they were written
    good = save_weights(tmp_path / "good.safetensors", _net(), INFO)
    copy = tmp_path / "copy.safetensors"
    _rewrite(good, copy)
    loaded, meta = load_weights(copy)
    assert meta["metrics"] == INFO["metrics"]
    assert np.array_equal(loaded.point_bias.detach().numpy(), _net().point_bias.detach().numpy())
