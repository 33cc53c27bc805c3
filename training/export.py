"""`gopolicy export RUN --out W.safetensors`: a run's network as a self-describing weights file.

Takes RUN/best.pt (lowest validation NLL) when it exists, else RUN/last.pt (or the one
named by --checkpoint: "average" is last.pt's averaged weights, with their batch-norm
statistics as recomputed at its last validation, refused if the weights have moved on
since); RUN may also be a run state file (RUN/run-state.safetensors). Writes it with
gopolicy.weights.save_weights; the metadata carries provenance (run, step, samples,
training options, data manifest summary) and the validation metrics of that checkpoint.
--fp16 stores float16 tensors (half the size). A run trained with batch norm is folded
into the plain network, and the per-channel batch-norm state goes into the metadata, so
`gopolicy train --init` can unfold it. Future-move heads (training.future_heads) are kept
apart from the network and not written.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from gopolicy.training import checkpoint as ck
from gopolicy.training import shards as sh
from gopolicy.training.config import portable


def read_checkpoint(run, which: str = "auto") -> tuple[dict, str, dict]:
    """Return (checkpoint dict, which, network state dict) of a run folder or run state file.

    Raises CheckpointError if there is no such checkpoint, or no averaged weights for "average",
    or averaged weights newer than their batch-norm statistics.
    """
    from gopolicy.training import run_state

    run = Path(run)
    if run.is_file():
        if which == "best":
            raise ck.CheckpointError(f"{run}: a run state holds the last and the averaged weights; "
                                     "for the best give the run folder")
        state, which = run_state.load(run), "last" if which == "auto" else which
    else:
        if which == "auto":
            which = "best" if (run / ck.BEST).exists() else "last"
        state = ck.load(run / (ck.BEST if which == "best" else ck.LAST))
    if which != "average":
        return state, which, state["model"]
    if "average" not in state:
        raise ck.CheckpointError(f"{run}: the run keeps no averaged weights (train with --ema-decay)")
    # states that predate the record lack the key; None: not recomputed since the run (or leg) began
    norms = state.get("average_norms_step", state["step"])
    if state["config"].get("batch_norm") and norms != state["step"]:
        # statistics of older averaged weights cost an exported network about half a point of top-1
        since = "not yet recomputed" if norms is None else f"from step {norms}"
        raise ck.CheckpointError(
            f"{run}: the averaged weights are from step {state['step']}, their batch-norm statistics {since} "
            "(recomputed at each validation); export a state saved at a validation, or resume "
            "the run for a step or more (`gopolicy train --out RUN --resume --steps N`): its last step validates")
    prefix = "module."  # torch's AveragedModel holds the network as .module
    return state, which, {k[len(prefix):]: v for k, v in state["average"].items() if k.startswith(prefix)}


def export(run, out, fp16: bool = False, which: str = "auto") -> dict:
    """Write the run's network to `out`; return the metadata written.

    Raises CheckpointError if the run has no usable checkpoint.
    """
    from gopolicy.model import PolicyConfig, PolicyNet
    from gopolicy.weights import save_weights

    run = Path(run)
    state, which, weights = read_checkpoint(run, which)
    config = PolicyConfig.from_dict(dict(state["net_config"]))
    train = dict(state["config"])
    norms = None
    if train.get("batch_norm"):
        from gopolicy.training.batchnorm import BatchNormPolicyNet, fold, norm_state

        trained = BatchNormPolicyNet(config)
        trained.load_state_dict(weights)
        model, norms = fold(trained), norm_state(trained)
    else:
        model = PolicyNet(config)
        model.load_state_dict(weights)
    data = state.get("data_summary")  # states written before the trainer kept it name only the folder
    if data is None:
        manifest = Path(train["data"]) / sh.MANIFEST
        data = sh.manifest_summary(json.loads(manifest.read_text())) if manifest.exists() else {}
    val = dict(state.get("val", {}))
    average_val = val.pop("average", {})  # the averaged weights' own validation; none in older states
    metadata = {
        "provenance": {"run": (run if run.is_dir() else run.parent).resolve().name, "checkpoint": which, "step": int(state["step"]),
                       "samples": int(state["samples"]), "training_hours": round(float(state["elapsed_s"]) / 3600, 4),
                       "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "training": portable(train),
                       "data": data},
        "metrics": {"val": average_val if which == "average" else val},
    }
    if norms is not None:
        metadata["batch_norm"] = norms
    save_weights(out, model, metadata, dtype="float16" if fp16 else "float32",
                 feature_version=int(state["feature_version"]))
    return metadata


def add_arguments(parser) -> None:
    """Add the `gopolicy export` options to `parser`."""
    parser.add_argument("run", help="training run folder (gopolicy train --out) or its run-state.safetensors")
    parser.add_argument("--out", required=True, help="weights file to write (.safetensors)")
    parser.add_argument("--fp16", action="store_true", help="store float16 tensors")
    parser.add_argument("--checkpoint", choices=["auto", "best", "last", "average"], default="auto",
                        help="best (lowest validation NLL), last, average (the averaged weights of "
                             "--ema-decay), or auto: best if there is one")


def run(args) -> int:
    """Run `gopolicy export`; return the exit status."""
    try:
        meta = export(args.run, args.out, args.fp16, args.checkpoint)
    except ck.CheckpointError as e:
        print(f"gopolicy export: {e}", file=sys.stderr)
        return 2
    p = meta["provenance"]
    print(f"wrote {args.out}: {p['checkpoint']} checkpoint, step {p['step']}, val {meta['metrics']['val']}",
          file=sys.stderr)
    return 0
