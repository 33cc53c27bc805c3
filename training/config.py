"""The options of a training run: TrainConfig, and how `gopolicy train`'s command line becomes one.

Explicit options win over a --preset, which wins over the run's saved options (on --resume
the run folder's config.json, on --continue the run state's), which win over the defaults.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path

from gopolicy.model import PRECISIONS
from gopolicy.training import run_state

# options that may differ on --resume: they do not change what is computed
# (precision too: a run may resume on a host of another CPU kind; init only seeds step 0)
RESUME_FREE = {"steps", "samples", "hours", "device", "resume", "log_every", "progress", "tensorboard",
               "data", "out", "precision", "init", "continue_from", "decay"}
# options of one leg of a long run: `--continue` takes every other option from the run's state
LEG_OPTIONS = RESUME_FREE | {"val_every", "val_samples", "checkpoint_every"}
RUN_STATE = "run-state.safetensors"


@dataclass
class TrainConfig:
    """Everything that decides a training run (saved to RUN/config.json)."""

    data: str
    out: str
    filters: int = 192
    layers: int = 13
    batch_size: int = 256       # global: split over the ranks
    lr: float = 0.003
    optimizer: str = "sgd"      # sgd (with momentum, as the paper) | adam (far faster at the start)
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    batch_norm: bool = False    # train with batch norm; export folds it into the convolutions
    init: str | None = None     # weights file to start from (a warm restart)
    precision: str = "auto"     # auto | fp32 | bf16 (autocast; weights and optimizer stay fp32)
    schedule: str = "step"      # step | cosine | constant
    warmup: int = 0             # steps of linear learning-rate warm-up
    lr_step: int = 80_000_000   # step schedule: multiply by lr_gamma every lr_step steps
    lr_gamma: float = 0.5
    lr_drops: list[int] = field(default_factory=list)  # steps from which the rate is multiplied by lr_gamma once more
    ema_decay: float = 0.0      # per-step decay of the averaged weights (0: none), e.g. 0.9998
    future_moves: int = 0       # extra heads for the moves 2..N+1 ahead (training.future_heads); 0: none
    steps: int | None = None    # stop when the run has made this many steps in all (legs included)
    samples: int | None = None
    hours: float | None = None  # stop after this many hours of this leg
    decay: bool = False         # a decay branch: the rate falls to 0 over this leg (cosine)
    continue_from: str | None = None  # run state file (RUN/run-state.safetensors) to continue
    val_every: int = 1000
    val_samples: int = 20_000
    checkpoint_every: int = 1000
    log_every: int = 100
    seed: int = 0
    augment: bool = True
    device: str = "auto"
    resume: bool = False
    progress: bool = True
    tensorboard: bool = True

    def total_steps(self) -> int | None:
        """Return the step count to stop at, or None when only --hours bounds the run."""
        limits = [s for s in (self.steps, self.samples and math.ceil(self.samples / self.batch_size)) if s]
        return min(limits) if limits else None


def add_arguments(parser) -> None:
    """Add the `gopolicy train` options to `parser`."""
    defaults = {f.name: f.default for f in fields(TrainConfig)}
    parser.add_argument("--data", required=True, help="folder made by `gopolicy prepare`")
    parser.add_argument("--out", required=True, help="run folder: config, metrics, checkpoints")
    parser.add_argument("--filters", type=int, default=None, help="filters per layer (default 192)")
    parser.add_argument("--layers", type=int, default=None, help="convolution layers (default 13)")
    parser.add_argument("--preset", choices=["alphago"],
                        help="alphago: lr 0.003 halved every 80M steps, no momentum, batch 16 (Silver et al. 2016)")
    for name, kind, text in [("batch-size", int, "global minibatch, split over ranks"),
                             ("lr", float, "initial learning rate"), ("momentum", float, "SGD momentum"),
                             ("weight-decay", float, "L2 weight decay"),
                             ("lr-step", int, "step schedule: steps between decays"),
                             ("lr-gamma", float, "step schedule: decay factor"),
                             ("val-every", int, "steps between validations"),
                             ("val-samples", int, "validation positions"),
                             ("checkpoint-every", int, "steps between checkpoints"),
                             ("log-every", int, "steps between metrics rows"), ("seed", int, "random seed")]:
        key = name.replace("-", "_")
        parser.add_argument(f"--{name}", type=kind, default=None, help=f"{text} (default {defaults[key]})")
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default=None,
                        help="sgd: SGD with --momentum, as the paper (default); adam: AdamW, which "
                             "leaves the flat start of a deep plain network far sooner")
    parser.add_argument("--nesterov", action="store_true", default=None, help="Nesterov momentum (sgd)")
    parser.add_argument("--batch-norm", action="store_true", default=None,
                        help="train with batch normalisation after each convolution; export folds it away")
    parser.add_argument("--init", help="start from this weights file (a warm restart: new optimizer and lr cycle)")
    parser.add_argument("--precision", choices=PRECISIONS, default=None,
                        help="auto (default): bf16 autocast where the CPU or GPU has native bf16, else fp32")
    parser.add_argument("--schedule", choices=["step", "cosine", "constant"], default=None,
                        help="learning-rate schedule (default step); cosine ends at --steps/--samples or --hours")
    parser.add_argument("--lr-drop", type=int, action="append", metavar="STEP",
                        help="from this step on, multiply the rate by --lr-gamma once more (repeatable); a new "
                             "leg of a long run adds drops at or after the step it starts from, keeping the run's")
    parser.add_argument("--warmup", type=int, default=None, help="steps of linear lr warm-up (default 0)")
    parser.add_argument("--steps", type=int, help="stop after this many optimizer steps")
    parser.add_argument("--samples", type=int, help="stop after this many training samples")
    parser.add_argument("--hours", type=float, help="stop after this many hours of training")
    parser.add_argument("--no-augment", action="store_true", help="no random symmetries")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out exactly")
    parser.add_argument("--continue", dest="continue_from", metavar="STATE",
                        help=f"begin a new leg of a long run from its state file (RUN/{RUN_STATE}), "
                             "with the run's own options, step, data position and optimizer state")
    parser.add_argument("--ema-decay", type=float, default=None,
                        help="keep an exponential moving average of the weights with this per-step decay "
                             "(e.g. 0.9998; validated as 'val-average'; export --checkpoint average)")
    parser.add_argument("--future-moves", type=int, default=None, metavar="N",
                        help="train N extra heads that predict the 2nd .. (N+1)th moves ahead, dropped at "
                             "export (darkforest: 2); may be added when continuing a run without them (default 0)")
    parser.add_argument("--decay", action="store_true", default=None,
                        help="a decay branch: the learning rate falls to 0 along a cosine over this leg")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--no-tensorboard", action="store_true", help="no TensorBoard event files")


PRESETS = {"alphago": {"optimizer": "sgd", "lr": 0.003, "momentum": 0.0, "batch_size": 16, "schedule": "step",
                       "lr_step": 80_000_000, "lr_gamma": 0.5}}


def config_from_args(args) -> TrainConfig:
    """Return the TrainConfig of parsed arguments: explicit options > preset > saved run > defaults."""
    values = {}
    saved = Path(args.out) / "config.json"
    if args.resume and saved.exists():  # the run's own options, unless given again explicitly
        values.update({k: v for k, v in json.loads(saved.read_text()).get("train", {}).items()
                       if k not in ("resume", "progress", "tensorboard")})
    elif getattr(args, "continue_from", None):  # a new leg: the long run's options, not its last leg's
        values.update({k: v for k, v in run_state.load_config(args.continue_from).items()
                       if k not in LEG_OPTIONS})
    values.update(PRESETS.get(args.preset or "", {}))
    values["lr_drops"] = list(values.get("lr_drops", [])) + list(getattr(args, "lr_drop", None) or [])
    for f in fields(TrainConfig):
        value = getattr(args, f.name, None)
        if value is not None and f.name not in ("augment", "progress", "tensorboard"):
            values[f.name] = value
    values.update(augment=not args.no_augment and values.get("augment", True),
                  progress=not args.quiet, tensorboard=not args.no_tensorboard, resume=args.resume)
    cfg = TrainConfig(**values)
    if cfg.future_moves < 0:
        raise ValueError(f"--future-moves {cfg.future_moves}: a number of extra heads, 0 or more")
    return cfg


def leg_options(saved: dict, future_moves: int) -> set:
    """Return the options a new leg may change on --continue of the run whose options are `saved`:
    LEG_OPTIONS, and future_moves when the run has no future-move heads (a branch that adds fresh
    heads, training.future_heads). A run with heads keeps them: raises ValueError if the leg would
    drop them or change their number (export drops them; a run state without heads is the run before)."""
    heads = saved.get("future_moves") or 0
    if heads and future_moves != heads:
        raise ValueError(f"the run trains {heads} future-move heads, this leg asks for {future_moves}: continue "
                         f"it with --future-moves {heads} or leave the option out (export drops the heads)")
    return LEG_OPTIONS | ({"future_moves"} if not heads else set())


def portable(train: dict) -> dict:
    """Return a run's options as worth publishing: folders by name only, since weights and run
    state files travel to other machines and should not carry this one's paths."""
    options = {k: v for k, v in train.items() if k not in ("progress", "tensorboard", "resume")}
    for key in ("data", "out", "init", "continue_from"):
        if options.get(key):
            options[key] = Path(options[key]).name
    return options
