"""The GPU burst wing: `gopolicy burst`, everything a lent GPU's few minutes need and nothing else uses.

    command.py      the command: prepare, peak, train, export, evaluate, each under a deadline
    recipe.py       its options (BurstConfig) and the training recipe it derives from them
    deadlines.py    the time budget of the phases and the watchdog that enforces it
    gpu_batches.py  training batches unpacked and augmented on the device itself
"""
