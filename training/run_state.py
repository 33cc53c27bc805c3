"""The whole state of a training run as one safetensors file with JSON metadata: no pickle.

The trainer's checkpoint dict (weights, batch-norm state, momentum buffers, averaged
weights, step, samples, data position, RNG states, options) is written here so that one
long run can be carried from session to session in the repository, and read back by
`gopolicy train --continue FILE` without running any code from the file.

Layout: every tensor of the dict is a safetensors tensor named by its path in the dict
("model/convs.0.weight", "optimizer/state/3/momentum_buffer"); everything else is the
JSON metadata entry "gopolicy_run_state", where each tensor stands as {"$tensor": name}
and a dict with integer keys (an optimizer's state) as {"$int_keys": [[key, value], ...]}.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from gopolicy.training.checkpoint import FORMAT, CheckpointError

KEY = "gopolicy_run_state"


def _join(path: str, key) -> str:
    return f"{path}/{key}" if path else str(key)


def _flatten(value, path: str, tensors: dict):
    """Return `value` as JSON-able data, moving its tensors into `tensors` under their paths."""
    if isinstance(value, torch.Tensor):
        tensors[path] = value.detach().cpu().contiguous().clone()
        return {"$tensor": path}
    if isinstance(value, dict):
        if value and all(isinstance(k, int) for k in value):
            return {"$int_keys": [[k, _flatten(v, _join(path, k), tensors)] for k, v in value.items()]}
        return {str(k): _flatten(v, _join(path, k), tensors) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_flatten(v, _join(path, i), tensors) for i, v in enumerate(value)]
    return value


def _unflatten(value, tensors: dict):
    """Return the data _flatten() was given, its tensors taken from `tensors`."""
    if isinstance(value, dict):
        if set(value) == {"$tensor"}:
            return tensors[value["$tensor"]]
        if set(value) == {"$int_keys"}:
            return {int(k): _unflatten(v, tensors) for k, v in value["$int_keys"]}
        return {k: _unflatten(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [_unflatten(v, tensors) for v in value]
    return value


def save(path, state: dict) -> None:
    """Write the checkpoint dict `state` to `path` atomically (temporary file, fsync, rename)."""
    from safetensors.torch import save_file

    path = Path(path)
    tensors: dict = {}
    meta = _flatten(state, "", tensors)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        save_file(tensors, str(tmp), metadata={KEY: json.dumps(meta)})
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read(path, with_tensors: bool) -> tuple[dict, dict]:
    """Return (the parsed metadata, the tensors by name: none unless `with_tensors`) of a run state.

    Raises CheckpointError if the file is missing, damaged or has no run state metadata.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no run state file")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get(KEY)
            tensors = {name: f.get_tensor(name) for name in f.keys()} if with_tensors else {}
    except Exception as e:  # safetensors raises several types for damaged files
        raise CheckpointError(f"{path}: cannot read run state ({type(e).__name__}: {e})") from None
    if raw is None:
        raise CheckpointError(f"{path}: not a gopolicy run state (no '{KEY}' metadata)")
    try:
        return json.loads(raw), tensors
    except ValueError as e:
        raise CheckpointError(f"{path}: damaged run state metadata ({type(e).__name__}: {e})") from None


def load_config(path) -> dict:
    """Return the run's options saved at `path`, without reading its tensors; raises CheckpointError as load()."""
    meta, _ = _read(path, with_tensors=False)
    if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
        raise CheckpointError(f"{path}: not a gopolicy run state of format {FORMAT}")
    return meta["config"]


def load(path) -> dict:
    """Return the checkpoint dict saved at `path`.

    Raises CheckpointError if the file is missing, damaged, or not a gopolicy run state.
    """
    meta, tensors = _read(path, with_tensors=True)
    try:
        state = _unflatten(meta, tensors)
    except (KeyError, TypeError) as e:
        raise CheckpointError(f"{path}: damaged run state metadata ({type(e).__name__}: {e})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a gopolicy run state of format {FORMAT}")
    return state
