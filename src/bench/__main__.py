"""``python -m src.bench``: the reference grid three ways, timed side by side in one invocation.

The command line (`main`): the options, the machine's limits and the title, then the parts in
turn (`src.bench.figures.run_bench`), their table written after every part.
"""
import argparse
import json
import os
import sys
from pathlib import Path

import psutil

from ..files import write_csv, write_text
from .baselines import WORKERS
from .figures import run_bench
from .limits import conv_rate, cpu_name, import_floor, products_rate, sgemm_peak, torch_device_name
from .notebook import Notebook, notebook
from .parts import CNN_PARTS, PARTS, STACKED_RATES

DEFAULT_PARTS = [part for part in PARTS if part not in CNN_PARTS]  # the CNN's are asked for: --parts cnn,cnn_b


def main(argv=None):
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m src.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=25, help="epochs per fit (25 in the notebook)")
    parser.add_argument("--parts", default=",".join(DEFAULT_PARTS),
                        help=f"comma-separated parts to run, from: {', '.join(PARTS)} (default: all but "
                             f"{', '.join(CNN_PARTS)})")
    parser.add_argument("--subset", type=int, default=None, help="use a stratified subset of N training images")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the parts this many times in turn and report each part's median wall time")
    parser.add_argument("--out", default="outputs/bench", help="where the CSV and Markdown tables go")
    parser.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda, for every part")
    parser.add_argument("--seed", type=int, default=None, help="the config's seed for every project part")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--setup", help=argparse.SUPPRESS)  # a worker's Notebook, as JSON (its parent composed it)
    args = parser.parse_args(argv)
    from ..errors import UserError, refuse
    from ..training.net import resolve_device

    try:
        device = resolve_device(args.device)
    except UserError as exc:
        return refuse(exc)
    if args.worker:
        setup = Notebook.from_json(json.loads(args.setup)) if args.setup else notebook()
        scores, n_train = WORKERS[args.worker](args.epochs, args.subset, setup, device)
        print(json.dumps({"scores": scores, "n_train": n_train}))
        return 0
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    problem = (f"unknown part {unknown[0]!r}; choose from: {', '.join(PARTS)}" if unknown else
               "no part to run" if not parts else
               f"--epochs must be > 0, got {args.epochs}" if args.epochs <= 0 else
               f"--subset must be > 0, got {args.subset}" if args.subset is not None and args.subset <= 0 else
               f"--repeat must be > 0, got {args.repeat}" if args.repeat <= 0 else None)
    if problem:
        return refuse(problem)
    setup = notebook()
    out_root = Path(args.out)
    machine = (f"{cpu_name()}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2 ** 30:.0f} GiB, "
               f"device {device}" + (f" ({torch_device_name(device)})" if device == "cuda" else ""))
    threads = len(os.sched_getaffinity(0))  # what a stacked grid with cv.n_jobs=auto trains with
    print("bench: measuring the machine's limits ...", flush=True)
    limits = {"peak": sgemm_peak(threads, device=device), "products": products_rate(threads, device=device),
              "floor": import_floor()}
    if set(parts) & set(CNN_PARTS):
        limits["convs"] = conv_rate(threads, setup, device=device)
    for part in [p for p in parts if p in STACKED_RATES]:  # a bigger stack's products run at another rate
        limits[f"products_{part}"] = products_rate(
            threads, candidates=len(setup.activations) * len(setup.tuned_rates), device=device)
    title = (f"Benchmark: {args.epochs} epochs, {'full MNIST' if not args.subset else f'{args.subset} images'}"
             f"{f', median of {args.repeat} runs in turn' if args.repeat > 1 else ''}; {machine}"
             + f"; float32 matrix-product peak{'' if device == 'cuda' else f' at {threads} threads'}: "
             f"{limits['peak']:.0f} GFLOP/s; the stacked step's products alone: {limits['products']:.0f} GFLOP/s "
             f"({limits['products'] / limits['peak']:.2f} of the peak); start-up floor (importing torch, skorch, "
             f"scikit-learn and Hydra, one torch optimizer): {limits['floor']:.1f} s"
             + "".join(f"; the products alone of part {p}'s bigger stack: {limits['products_' + p]:.0f} GFLOP/s"
                       for p in parts if f"products_{p}" in limits)
             + (f"; the CNN's convolutions and products alone: {limits['convs']:.0f} GFLOP/s" if "convs" in limits
                else ""))
    print(title, flush=True)

    def write(table):
        write_csv(out_root / "bench.csv", table)
        return write_text(out_root / "bench.md", f"{title}\n\n{table.to_markdown(index=False)}\n")

    table = run_bench(parts, args.epochs, args.subset, out_root, device, on_row=write, repeat=args.repeat,
                      limits=limits, seed=args.seed, setup=setup)
    write(table)
    print(f"{title}\n\n{table.to_markdown(index=False)}\n")
    print(f"written: {out_root / 'bench.csv'}, {out_root / 'bench.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
