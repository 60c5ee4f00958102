"""A comparison of studies on disk: its table, statistics, diagrams and page (``python -m src.compare``)."""
from pathlib import Path

from ... import layout
from ...files import save_figure, write_csv, write_json, write_text
from ...defaults import ALPHA
from ..compute.across import collect, compare
from ..compute.depth import depth_frame
from ..present.across_page import cd_figure, compare_page, markdown
from ..present.depth_plot import depth_figure


def write_compare(folders, out_dir, alpha=ALPHA, studies=None):
    """Compare the studies of ``folders`` and write the comparison into ``out_dir``.

    Writes ``compare.csv``, ``compare.md``, ``compare.json``, ``cd_diagram.png``, ``depth.png``
    (when the studies differ in depth) and ``compare.html``.

    Parameters
    ----------
    folders : list of Path
        Grid or sweep dirs (see `src.reporting.compute.across.studies_of`).
    out_dir : Path
    alpha : float (default=`src.defaults.ALPHA`)
    studies : list of src.reporting.compute.across.ComparedStudy, optional
        The studies of ``folders``, when the caller has read them already.

    Returns
    -------
    (dict, dict)
        Name -> path of every file written, and the `src.reporting.compute.across.compare` result.
    """
    out_dir = Path(out_dir)  # made by the first file written (`src.files.atomic_path`): none for bad input
    studies = collect(folders, studies)
    result = compare(studies, alpha)
    written = {"table": write_csv(out_dir / layout.COMPARE_TABLE, result["table"]),
               "markdown": write_text(out_dir / layout.COMPARE_MD, markdown(result)),
               "stats": write_json(out_dir / layout.COMPARE_STATS, {
                   "studies": result["studies"], "alpha": alpha, "friedman": result["friedman"],
                   "critical_difference": result["cd"], "studies_needed": result["studies_needed"],
                   "post_hoc": "Nemenyi (scikit-posthocs posthoc_nemenyi_friedman)", "pairs": result["pairs"],
                   "ranks": result["ranks"].to_dict(orient="index"), "left_out": result["left_out"],
                   "transfer": result["transfer"], "verdict": result["verdict"]})}
    if len(result["table"]) >= 2:
        written["cd_diagram"] = save_figure(out_dir / layout.CD_DIAGRAM, cd_figure(result))
    depth = depth_frame(studies)
    if not depth.empty:
        written["depth"] = save_figure(out_dir / layout.DEPTH_PLOT, depth_figure(depth))
    images = {name: Path(written[name]).read_bytes() for name in ("cd_diagram", "depth") if name in written}
    written["page"] = write_text(out_dir / layout.COMPARE_PAGE, compare_page(result, studies, out_dir, images))
    return written, result
