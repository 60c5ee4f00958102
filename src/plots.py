"""``python -m src.plots [--out DIR] [--list] [NAME ...]``: draw activations with their derivatives."""
import argparse
import sys
from pathlib import Path

from .errors import UserError, refuse
from .model import activations
from .reporting.present.plots import DEFAULT_OUT, GALLERY_NAME, gallery_specs, listing
from .reporting.write.figures import plot_gallery, save_activation_plots


def main(argv=None):
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for bad input (one ``error:`` line on stderr).
    """
    parser = argparse.ArgumentParser(
        prog="python -m src.plots",
        description="Plot activation functions with their derivatives: a gallery and one PNG each.")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help='activation specs, e.g. selu "leaky_relu(negative_slope=0.2)" (default: all)')
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help=f"output folder (default: {DEFAULT_OUT})")
    parser.add_argument("--list", action="store_true", help="print the registered activations and exit")
    args = parser.parse_args(argv)
    if args.list:
        print(listing())
        return 0
    specs = args.names or gallery_specs()
    try:
        for spec in specs:
            activations.build(spec)
        titles = plot_gallery(args.out / GALLERY_NAME, specs)
        written = [args.out / GALLERY_NAME] + save_activation_plots(specs, args.out)
    except UserError as exc:
        return refuse(exc)
    for path in written:
        print(path)
    print(f"{len(titles)} activations drawn into {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
