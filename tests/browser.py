"""Drive Debian's headless Chromium through selenium and read what a HiPlot page rendered.

The tests that use it carry ``@pytest.mark.needs("chromium")``: without ``chromium`` and
``chromedriver`` on the PATH they are skipped (`tests.tools`).
"""
import shutil
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-dev-shm-usage",
)
WINDOW = (1400, 1000)

# Everything HiPlot draws, read in one round trip: the axes (left to right), the coloured pixels of the
# lines (drawn on canvases, the axes are SVG), the "Selected: n/N" counter and the table below the plot.
_HIPLOT_STATE = r"""
const root = document.querySelector('.pplot-root');
if (!root) { return null; }
const axes = Array.from(root.querySelectorAll('g.dimension')).map(g => {
  const label = g.querySelector('.label-name');
  return {name: label ? label.textContent.trim() : '',
          left: label ? label.getBoundingClientRect().left : NaN,
          ticks: Array.from(g.querySelectorAll('.tick text')).map(t => t.textContent.trim())};
}).filter(a => a.name).sort((a, b) => a.left - b.left);
let drawn = 0, coloured = 0;
for (const canvas of root.querySelectorAll('canvas')) {
  const ctx = canvas.width && canvas.height ? canvas.getContext('2d') : null;
  if (!ctx) { continue; }
  const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 0; i < px.length; i += 4) {
    if (px[i + 3] === 0) { continue; }
    drawn++;
    if (Math.max(px[i], px[i + 1], px[i + 2]) - Math.min(px[i], px[i + 1], px[i + 2]) > 60) { coloured++; }
  }
}
const selected = /Selected:\s*(\d+)\s*\/\s*(\d+)/.exec(document.body.innerText);
const table = document.querySelector('table.sample-rows-table');
const info = document.querySelector('.dataTables_info');
const entries = info ? /of\s+([\d,]+)\s+entries/.exec(info.textContent) : null;
return {
  title: document.title,
  axes: axes,
  drawn: drawn,
  coloured: coloured,
  selected: selected ? [Number(selected[1]), Number(selected[2])] : null,
  columns: table ? Array.from(table.querySelectorAll('thead th')).map(th => th.textContent.trim()) : [],
  rows: table ? Array.from(table.querySelectorAll('tbody tr')).map(
    tr => Array.from(tr.querySelectorAll('td')).map(td => td.textContent.trim())) : [],
  entries: entries ? Number(entries[1].replace(/,/g, '')) : null,
};
"""


def start_chromium(profile_dir, window=WINDOW):
    """Start the ``chromium`` on the PATH, headless, through the ``chromedriver`` beside it on the PATH.

    The driver's path is always given, so selenium never looks for (or downloads) a browser or a driver.

    Parameters
    ----------
    profile_dir : str or Path
        A fresh, empty directory for the browser profile (``--user-data-dir``).
    window : tuple of int
        Width and height of the window in pixels.

    Returns
    -------
    selenium.webdriver.Chrome
        A driver whose ``get_log("browser")`` returns every console entry.
    """
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.add_argument(f"--window-size={window[0]},{window[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)


def is_ignored(entry):
    """Whether a console entry is noise: only a failed request for a favicon is.

    Parameters
    ----------
    entry : dict
        One entry of ``driver.get_log("browser")``.

    Returns
    -------
    bool
    """
    return entry.get("source") == "network" and "favicon" in entry.get("message", "")


def severe_errors(driver):
    """The SEVERE console entries logged since the last call, favicon requests left out.

    Parameters
    ----------
    driver : selenium.webdriver.Chrome

    Returns
    -------
    list of str
        Their messages, oldest first.
    """
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE" and not is_ignored(e)]


def open_page(driver, path, ready=None, timeout=30.0):
    """Open a local HTML file and return the JavaScript errors it logged while loading.

    Parameters
    ----------
    driver : selenium.webdriver.Chrome
        A driver from `start_chromium`.
    path : str or Path
        The HTML file, opened through a ``file://`` URL.
    ready : callable, optional
        Called with the driver until it returns something truthy (the page finished drawing); by default
        the page is ready once the document has loaded.
    timeout : float
        Seconds to wait for ``ready``.

    Returns
    -------
    list of str
        The SEVERE console messages (uncaught exceptions, ``console.error``, failed requests other than
        a favicon) logged by this page; empty when it loaded cleanly.

    Raises
    ------
    AssertionError
        When the page is not ready within ``timeout``; the message lists the errors it logged.
    """
    severe_errors(driver)  # drop what earlier pages logged
    driver.get(Path(path).resolve().as_uri())
    wait = WebDriverWait(driver, timeout, poll_frequency=0.1)
    try:
        wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
        if ready is not None:
            wait.until(ready)
    except TimeoutException:
        raise AssertionError(f"{Path(path).name} was not ready after {timeout} s; "
                             f"errors logged: {severe_errors(driver)}") from None
    return severe_errors(driver)


def hiplot_state(driver):
    """What the HiPlot page open in ``driver`` has rendered.

    Returns
    -------
    dict or None
        None before HiPlot has built its parallel plot, else: ``title`` (the page's), ``axes`` (left to
        right, each a dict of ``name``, ``left`` in pixels and tick ``ticks`` texts), ``drawn`` and
        ``coloured`` (pixels of the lines' canvases that are painted, and of those the clearly coloured,
        not grey), ``selected`` ((lines selected, lines in all) from the "Selected: n/N" counter),
        ``columns`` and ``rows`` (the table's header and the cell texts of its rows on the first page)
        and ``entries`` (how many rows the table has in all).
    """
    return driver.execute_script(_HIPLOT_STATE)


def hiplot_drawn(driver):
    """`open_page`'s ``ready`` for HiPlot: its axes, line counter, table and some drawn lines are there.

    Returns
    -------
    dict or bool
        `hiplot_state` once the plot is drawn, else False.
    """
    state = hiplot_state(driver)
    done = state and state["axes"] and state["selected"] and state["rows"] and state["drawn"] > 0
    return state if done else False


def column(state, name):
    """The texts of one table column in a `hiplot_state`, top to bottom.

    Parameters
    ----------
    state : dict
    name : str
        The column's header.

    Returns
    -------
    list of str
    """
    index = state["columns"].index(name)
    return [row[index] for row in state["rows"]]


def axis(state, name):
    """The axis called ``name`` in a `hiplot_state` (a dict of ``name``, ``left`` and ``ticks``)."""
    found = [a for a in state["axes"] if a["name"] == name]
    assert found, f"no axis {name!r} among {[a['name'] for a in state['axes']]}"
    return found[0]

