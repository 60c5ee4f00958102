"""``python -m src.calibrate``: print every calibration table (`src.calibrate`)."""
import argparse
import sys

from . import ALPHA, MNIST_SPREAD, MNIST_TEST, N_TEST, SPREAD, error_rates, margin, power_rates, table
from .equivalence_cells import MARGIN, equivalence_error_rates, equivalence_power
from .halving_cells import HALVING, halving_error_rates, halving_schedule
from .tuned_cells import RATES, tuned_error_rates


def main(argv=None):
    """Command line entry point: print the simulated error rates."""
    parser = argparse.ArgumentParser(prog="python -m src.calibrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=None,
                        help="simulated data sets per setting (default 4000), or A/A studies with --real (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-rows", type=int, default=N_TEST,
                        help="test rows per split in the halving table (MNIST's 3 folds: 20000)")
    parser.add_argument("--real", action="store_true",
                        help="A/A studies on real training instead of the simulations (src.calibrate.real)")
    parser.add_argument("--data", default="digits,mnist", help="--real: the studies, comma-separated: digits, mnist")
    parser.add_argument("--data-root", default=None, help="--real: where MNIST is (data.root)")
    args = parser.parse_args(argv)
    args.reps = args.reps or (200 if args.real else 4000)
    if args.real:
        return real_main(args)
    print(f"Error rates (alpha = {ALPHA}; {args.reps} data sets per setting, Monte Carlo margin "
          f"+-{margin(args.reps):.1%}; k candidates, folds x repeats splits; global null except the last row):\n")
    print(table(error_rates(args.reps, args.seed)))
    print(f"\nPower: candidates {3 * SPREAD * 100:g} accuracy points apart (split-to-split spread "
          f"{SPREAD * 100:g} points), in the claimed order:\n")
    print(table(power_rates(args.reps, args.seed + 1)))
    print(f"\nEquivalence within a margin of {MARGIN * 100:g} points (split-to-split spread {SPREAD * 100:g} points): "
          f"where it is false, the first candidate {MARGIN * 100:g} points above the others (an error rate):\n")
    print(table(equivalence_error_rates(args.reps, args.seed + 4)))
    print(f"\nThe same where the splits spread {MNIST_SPREAD * 100:g} points on {MNIST_TEST} test rows a split (as on "
          f"MNIST; TOST's error rate is closest to alpha where the spread is small beside the margin):\n")
    print(table(equivalence_error_rates(args.reps, args.seed + 6, spread=MNIST_SPREAD, n_test=MNIST_TEST)))
    print("\nIts power: every candidate equally good, how often all are shown equivalent to the best "
          "(3, 6 and 9 splits):\n")
    print(table(equivalence_power(args.reps, args.seed + 5)))
    print(f"\nIts power where the splits spread {MNIST_SPREAD * 100:g} points on {MNIST_TEST} test rows a split:\n")
    print(table(equivalence_power(args.reps, args.seed + 7, margins=[MARGIN / 2, MARGIN], spread=MNIST_SPREAD,
                                  n_test=MNIST_TEST)))
    print(f"\nThe tuned protocol ({RATES} learning rates; every activation equally good at its own best rate, "
          f"the best rates differ; the fixed row trains every activation at the first rate):\n")
    print(table(tuned_error_rates(args.reps, args.seed + 2)))
    print(f"\nSuccessive halving in a plain grid (every candidate equally good; the top of one validation ranking "
          f"kept, as many as rungs {', '.join(map(str, halving_schedule()[1]))} keep at eta {HALVING['eta']}; each "
          f"candidate errs on the same rows in all its fits, the worst case for reusing rows; {args.test_rows} test "
          f"rows per split; simulated row by row, the slowest table):\n", flush=True)
    rates, bias = halving_error_rates(args.reps, args.seed + 3, n_test=args.test_rows)
    print(table(rates))
    print("\nThe survivors' mean accuracy above the true one, accuracy points (ranked inside / outside the splits): "
          + "; ".join(f"k={k}, {f}x{r}: {b['inside']:+.2f} / {b['outside']:+.2f}" for (k, f, r), b in bias.items()))
    return 0


def real_main(args):
    """``--real``: the A/A studies' table (`src.calibrate.real`)."""
    import pandas as pd

    from ..preflight import compose_config
    from .real import STUDIES, overrides, prepared, real_rates, rows

    studies = [name.strip() for name in args.data.split(",") if name.strip()]
    unknown = [name for name in studies if name not in STUDIES]
    if unknown:
        print(f"error: --data {unknown[0]!r} is not one of: {', '.join(STUDIES)}", file=sys.stderr)
        return 2
    extra = [f"data.root={args.data_root}"] if args.data_root else []
    results = {}
    for study in studies:
        print(f"{study}: {args.reps} A/A studies ({' '.join(STUDIES[study])}, relu at two seeds per split)",
              flush=True)
        results[study] = real_rates(prepared(compose_config(overrides(study, extra))), args.reps, args.seed,
                                    progress=lambda done: print(f"  {done}/{args.reps}", end="\r", flush=True))
    print(f"\nA/A studies: one activation as two candidates that differ only in their seeds (true difference 0; "
          f"95% Wilson intervals):\n")
    print(pd.DataFrame(rows(results)).to_markdown(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
