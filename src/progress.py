"""Training progress as tqdm bars (tqdm.auto: a widget in Jupyter, a text bar on a terminal).

Training logs one line per epoch (`src.training.stacks`: ``  3 candidates: epoch 2/8, train loss ...``).
`bars` turns those records into bar updates, one bar per stack, while the console handlers leave
them out; every other line, and the job's ``.log``, stay as they are. Where there is neither a
notebook nor a terminal (a pipe, a test), `bars` changes nothing.
"""
import contextlib
import logging
import re
import sys

from tqdm.auto import tqdm

from .logs import Console

# the per-epoch progress line of src.training.stacks
EPOCH = re.compile(r"^\s*(?P<name>[^:]+): epoch (?P<epoch>\d+)/(?P<epochs>\d+), (?P<rest>.*)$")
# GridSearchCV's lines (verbose): how many fits, then one line as each ends (trained, or loaded from its record)
FITS = re.compile(r"^Fitting \d+ folds for each of \d+ candidates, totalling (?P<fits>\d+) fits$")
FIT_END = re.compile(r"^\[CV [^\]]*\] END ")


def epoch_of(record):
    """The ``re.Match`` of a progress record (its name, epoch, epochs and the rest), or None."""
    return EPOCH.match(record.getMessage())


class Bars(logging.Handler):
    """One tqdm bar per training stack, moved on by its progress records."""

    def __init__(self, bar=tqdm):
        super().__init__(logging.INFO)
        self.bar, self.bars = bar, {}

    def emit(self, record):
        """Move the bar of ``record``'s stack to its epoch; a new pass (a rung, the refit) starts a new bar.
        GridSearchCV's fits (`FITS`, `FIT_END`) move a bar of their own."""
        message = record.getMessage()
        if FITS.match(message):
            self.bars["fits"] = self.bar(total=int(FITS.match(message)["fits"]), desc="fits", unit="fit")
            return
        if FIT_END.match(message) and "fits" in self.bars:
            bar = self.bars["fits"]
            bar.update(1)
            if bar.n >= bar.total:
                self.bars.pop("fits").close()
            return
        found = epoch_of(record)
        if found is None:
            return
        name, epoch, epochs = found["name"], int(found["epoch"]), int(found["epochs"])
        bar = self.bars.get(name)
        if bar is None or epoch <= bar.n:
            if bar is not None:
                bar.close()
            bar = self.bars[name] = self.bar(total=epochs, desc=name, unit="epoch")
        bar.update(epoch - bar.n)
        bar.set_postfix_str(found["rest"])
        if epoch >= epochs:
            self.bars.pop(name).close()

    def close(self):
        """Close every open bar."""
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()
        super().close()


def _quiet(record):
    return epoch_of(record) is None


def shown():
    """Whether bars show: in a notebook (tqdm.auto's widget) or on a terminal."""
    from tqdm.notebook import tqdm as notebook

    return issubclass(tqdm, notebook) or sys.stderr.isatty()


@contextlib.contextmanager
def bars():
    """While inside, progress records show as bars (`Bars`) instead of console lines, where `shown`."""
    if not shown():
        yield None
        return
    root, handler = logging.getLogger(), Bars()
    consoles = [h for h in root.handlers if isinstance(h, Console)]
    root.addHandler(handler)
    for console in consoles:
        console.addFilter(_quiet)
    try:
        yield handler
    finally:
        for console in consoles:
            console.removeFilter(_quiet)
        root.removeHandler(handler)
        handler.close()
