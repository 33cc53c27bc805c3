"""Network weight files: one safetensors file per network, describing itself.

A weights file is a plain safetensors file (no pickle, so loading runs no code) whose
string metadata holds, as JSON:

    format          "gopolicy-weights"
    format_version  "1"
    config          PolicyConfig as a JSON object
    feature_version features.FEATURE_VERSION the network was trained on
    dtype           storage dtype of every tensor: "float32", "float16" or "bfloat16"
    sha256          of the tensors' bytes, in sorted name order (catches flipped bits)
    info            the caller's metadata (training provenance, metrics, ...), a JSON object

load_weights checks all of it and raises WeightsError, naming the file and the problem,
rather than returning a network that would play nonsense.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from gopolicy.model import PolicyConfig, PolicyNet, expected_shapes

FORMAT = "gopolicy-weights"
FORMAT_VERSION = "1"
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
_ST_DTYPES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}
MAX_HEADER_BYTES = 1 << 24  # a header is a few KB; anything huge is not our file


class WeightsError(ValueError):
    """A weights file that cannot be used; str() names the file and what is wrong."""


def default_weights_path() -> Path:
    """Return the path of the default network: the package data of gopolicy.network
    (the repository's weights/ folder, or its copy in an installed wheel)."""
    from importlib.resources import files

    return Path(str(files("gopolicy.network") / "default.safetensors"))


def _current_feature_version() -> int:
    # imported late: features pulls in the rules code, which save/load do not otherwise need
    from gopolicy.features import FEATURE_VERSION

    return FEATURE_VERSION


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    """Return the sha256 hex digest of the tensors' raw bytes in sorted name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        # viewed as bytes: numpy has no bfloat16
        h.update(tensors[name].detach().cpu().contiguous().view(torch.uint8).numpy())
    return h.hexdigest()


def save_weights(path, model: PolicyNet, metadata: dict | None = None, dtype: str = "float32",
                 feature_version: int | None = None) -> Path:
    """Write `model` with `metadata` (JSON-able: provenance, metrics) to `path`; return the path.

    dtype "float16" halves the file; loading converts back to float32. The file is written
    under a temporary name and renamed, so a crash never leaves half a file at `path`.
    Raises ValueError for an unknown dtype or metadata that is not JSON-able.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    path = Path(path)
    tensors = {name: t.detach().to("cpu", DTYPES[dtype]).contiguous()
               for name, t in model.state_dict().items()}
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": json.dumps(model.config.to_dict()),
        "feature_version": str(_current_feature_version() if feature_version is None else feature_version),
        "dtype": dtype,
        "sha256": _digest(tensors),
        "info": json.dumps(metadata or {}, sort_keys=True),
    }
    data = st_save(tensors, metadata=header)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read_header(path: Path, data: bytes) -> dict:
    """Return the safetensors JSON header of `data`; WeightsError if it is not a whole safetensors file."""
    if len(data) < 8:
        raise WeightsError(f"{path}: not a safetensors file ({len(data)} bytes, too short for a header)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES or n < 2:
        raise WeightsError(f"{path}: not a safetensors file (header length {n} is implausible)")
    if 8 + n > len(data):
        raise WeightsError(f"{path}: truncated: header of {n} bytes but the file has {len(data)} bytes")
    try:
        header = json.loads(data[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WeightsError(f"{path}: not a safetensors file (header is not JSON: {e})") from None
    if not isinstance(header, dict):
        raise WeightsError(f"{path}: not a safetensors file (header is not a JSON object)")
    body = len(data) - 8 - n
    ends = [info.get("data_offsets", [0, 0])[1] for name, info in header.items()
            if name != "__metadata__" and isinstance(info, dict)]
    need = max(ends, default=0)
    if not isinstance(need, int):
        raise WeightsError(f"{path}: damaged: bad tensor offsets in the header")
    if need > body:
        raise WeightsError(f"{path}: truncated: tensors need {need} bytes of data but only {body} are present")
    if need < body:
        raise WeightsError(f"{path}: damaged: {body - need} unexpected bytes after the tensor data")
    return header


def _parse_metadata(path: Path, header: dict) -> tuple[PolicyConfig, dict]:
    """Return (config, metadata dict) from a header; WeightsError on anything missing or wrong."""
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise WeightsError(f"{path}: not a gopolicy weights file (safetensors metadata lacks format={FORMAT!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise WeightsError(f"{path}: weights format version {meta.get('format_version')!r}, "
                           f"this build reads version {FORMAT_VERSION}")
    for key in ("config", "feature_version", "dtype", "sha256", "info"):
        if key not in meta:
            raise WeightsError(f"{path}: metadata lacks {key!r}")
    try:
        config = PolicyConfig.from_dict(json.loads(meta["config"]))
    except (json.JSONDecodeError, TypeError, ValueError) as e:
        raise WeightsError(f"{path}: bad network config in metadata: {e}") from None
    try:
        feature_version = int(meta["feature_version"])
    except ValueError:
        raise WeightsError(f"{path}: bad feature_version {meta['feature_version']!r} in metadata") from None
    current = _current_feature_version()
    if feature_version != current:
        raise WeightsError(f"{path}: network was trained on feature version {feature_version}, "
                           f"but this build encodes feature version {current}")
    if meta["dtype"] not in DTYPES:
        raise WeightsError(f"{path}: unknown dtype {meta['dtype']!r} in metadata (expected one of {sorted(DTYPES)})")
    try:
        info = json.loads(meta["info"])
    except json.JSONDecodeError as e:
        raise WeightsError(f"{path}: metadata 'info' is not JSON: {e}") from None
    if not isinstance(info, dict):
        raise WeightsError(f"{path}: metadata 'info' must be a JSON object")
    metadata = dict(info)
    metadata.update(config=config.to_dict(), feature_version=feature_version, dtype=meta["dtype"])
    return config, metadata


def _check_tensors(path: Path, header: dict, config: PolicyConfig, dtype: str) -> None:
    """Raise WeightsError unless the header lists exactly the network's tensors, shapes and dtype."""
    expected = expected_shapes(config)
    found = {name: info for name, info in header.items() if name != "__metadata__"}
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing:
        raise WeightsError(f"{path}: missing tensors {missing} for a network with {config}")
    if extra:
        raise WeightsError(f"{path}: unexpected tensors {extra} for a network with {config}")
    for name, shape in expected.items():
        info = found[name]
        if not isinstance(info, dict) or tuple(info.get("shape", ())) != shape:
            got = info.get("shape") if isinstance(info, dict) else info
            raise WeightsError(f"{path}: tensor {name!r} has shape {got}, expected {list(shape)} for {config}")
        if info.get("dtype") != _ST_DTYPES[dtype]:
            raise WeightsError(f"{path}: tensor {name!r} is stored as {info.get('dtype')}, metadata says {dtype}")


def load_weights(path, device="cpu") -> tuple[PolicyNet, dict]:
    """Return (PolicyNet in eval mode on `device`, float32, and its metadata dict).

    metadata holds config, feature_version, dtype and the caller's info (provenance,
    metrics). Raises WeightsError naming the file for a missing, truncated, damaged or
    foreign file, a feature-version mismatch, or missing/extra/mis-shaped tensors.
    """
    path = Path(path)
    try:
        if path.exists() and not path.is_file():  # a device or FIFO would be read for ever
            raise WeightsError(f"{path}: not a regular file")
        data = path.read_bytes()
    except FileNotFoundError:
        raise WeightsError(f"{path}: no such weights file") from None
    except OSError as e:
        raise WeightsError(f"{path}: cannot read weights file: {e.strerror or e}") from None
    header = _read_header(path, data)
    config, metadata = _parse_metadata(path, header)
    _check_tensors(path, header, config, metadata["dtype"])
    try:
        tensors = st_load(data)
    except Exception as e:  # safetensors raises its own error type for malformed offsets
        raise WeightsError(f"{path}: damaged safetensors data: {e}") from None
    if _digest(tensors) != header["__metadata__"]["sha256"]:
        raise WeightsError(f"{path}: damaged: tensor data does not match its sha256 checksum")
    state = {name: t.to(dtype=torch.float32) for name, t in tensors.items()}
    for name, t in state.items():
        # numpy: torch's first isfinite call costs ~0.4 s of start-up on CPU
        if not np.isfinite(t.numpy()).all():
            raise WeightsError(f"{path}: tensor {name!r} contains NaN or infinite values")
    model = PolicyNet(config, initialise=False)
    state = {name: t.to(device) for name, t in state.items()}
    model.load_state_dict(state, strict=True, assign=True)
    return model.eval(), metadata
