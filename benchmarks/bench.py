"""`gopolicy bench`: the contract's performance figures (ARCHITECTURE.md), measured here in one run.

Each area measures itself in `benchmarks/<area>_bench.py` (`measure() -> dict`);
this module runs them in order and prints one table or one JSON object.
"""

import json
import sys
import time
from importlib import import_module

# (module, keys it reports); keys of an area that fails to run are reported as null
AREAS = (
    ("gopolicy.benchmarks.rules_bench", ("replay_moves_per_s",)),
    ("gopolicy.benchmarks.features_bench", ("features_positions_per_s",)),
    ("gopolicy.benchmarks.network_bench", ("inference_ms_batch1", "inference_positions_per_s",
                                  "train_samples_per_s", "train_precision", "peak_gflops_fp32",
                                  "peak_gflops_bf16", "train_pct_of_peak", "conv_gflops", "device")),
    ("gopolicy.benchmarks.engine_bench", ("first_reply_s", "genmove_ms", "genmove_ms_symmetries8", "genmove_overhead_pct")),
    ("gopolicy.benchmarks.pipeline_bench", ("pipeline_samples_per_s", "prepare_positions_per_s")),
)


def area_name(module_name: str) -> str:
    """Return the name `--only` knows an area by: "gopolicy.benchmarks.rules_bench" -> "rules"."""
    return module_name.rsplit(".", 1)[1].removesuffix("_bench")


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--only", nargs="+", metavar="AREA",
                        help="measure only these areas (rules, features, network, engine, pipeline)")


def run(args) -> int:
    """Measure every area; return 1 if any area failed, else 0."""
    results, failed = {}, False
    for module_name, keys in AREAS:
        area = area_name(module_name)
        if args.only and area not in args.only:
            continue
        start = time.perf_counter()
        try:
            figures = import_module(module_name).measure()
        except Exception as error:  # one broken area must not hide the others' figures
            print(f"bench: {area} failed: {error!r}", file=sys.stderr)
            figures, failed = {}, True
        results.update({key: figures.get(key) for key in keys})
        results.update({k: v for k, v in figures.items() if k not in keys})
        print(f"bench: {area} took {time.perf_counter() - start:.1f} s", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            shown = f"{value:,.1f}" if isinstance(value, float) else str(value)
            print(f"{key:>28}  {shown}")
    return 1 if failed else 0
