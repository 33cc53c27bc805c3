"""What a `gopolicy burst` runs: its options (BurstConfig, with the defaults of its device) and the
training recipe they give (recipe), the one of the CPU runs with the batch and learning rate scaled.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from gopolicy.policy import resolve_device

LR_PER_32 = 0.02        # the CPU recipe's learning rate at batch 32, scaled linearly with the batch
SMOKE_SPLIT = (0.8, 0.1, 0.1)  # so that a slice of 60 games still has validation and test games


@dataclass
class BurstConfig:
    """What `gopolicy burst` was asked for; None picks the default of the device (or of --smoke)."""

    archives: list = field(default_factory=list)
    out: str = "burst"
    minutes: float | None = None       # training minutes (8; 0.5 with --smoke)
    max_minutes: float | None = None   # the whole command (minutes + 2; 2.5 with --smoke)
    filters: int | None = None         # 192 (16 with --smoke)
    layers: int | None = None          # 13 (5 with --smoke)
    batch_size: int | None = None      # 512 on CUDA, 32 on a CPU
    lr: float | None = None            # LR_PER_32 * batch_size / 32
    warmup: int | None = None          # steps: 500 on CUDA, 20 on a CPU
    limit: int | None = None           # games to prepare (all; 60 with --smoke)
    workers: int | None = None         # prepare processes (all cores)
    device: str = "auto"               # auto | cpu | cuda (--smoke: cpu unless given)
    seed: int = 0
    work: str | None = None            # prepare and train here, kept (default: a temporary folder, removed)
    smoke: bool = False

    def resolved(self) -> BurstConfig:
        """Return a copy with every default filled in for its device and mode."""
        c = BurstConfig(**asdict(self))
        if c.device == "auto":
            c.device = "cpu" if c.smoke else resolve_device("auto")
        cuda = c.device.startswith("cuda")
        c.minutes = c.minutes if c.minutes is not None else (0.5 if c.smoke else 8.0)
        c.max_minutes = c.max_minutes if c.max_minutes is not None else (2.5 if c.smoke else c.minutes + 2)
        c.filters = c.filters or (16 if c.smoke else 192)
        c.layers = c.layers or (5 if c.smoke else 13)
        c.batch_size = c.batch_size or (512 if cuda else 32)
        c.lr = c.lr or LR_PER_32 * c.batch_size / 32
        c.warmup = c.warmup if c.warmup is not None else (500 if cuda else 20)
        c.limit = c.limit if c.limit is not None or not c.smoke else 60
        return c


def recipe(c: BurstConfig, data, out):
    """Return the TrainConfig of a burst (c resolved): the CPU runs' recipe, batch and lr scaled,
    its hours a placeholder that Burst.train sets to the minutes left when training starts."""
    from gopolicy.training.trainer import TrainConfig

    cuda = c.device.startswith("cuda")
    every = 2000 if cuda else 100  # steps between validations: ~40 s on an H200, ~5 s in a CPU smoke run
    return TrainConfig(data=str(data), out=str(out), filters=c.filters, layers=c.layers, batch_size=c.batch_size,
                       lr=c.lr, optimizer="sgd", momentum=0.9, nesterov=True, weight_decay=1e-4, batch_norm=True,
                       precision="auto", schedule="cosine", warmup=c.warmup, hours=c.minutes / 60, val_every=every,
                       val_samples=16384 if cuda else 1024, checkpoint_every=every // 2, log_every=every // 10,
                       seed=c.seed, device=c.device, progress=False, tensorboard=False)
