"""A grid's stackable candidates trained in stacks for every epoch, their fit records filled ahead of the search."""
import logging

from ..cores import SERIAL
from ..words import counted
from . import fit_records, loop
from .grouping import fold_rows, stack_candidates, stack_key

log = logging.getLogger(__name__)


def fill_records(net, param_grid, X, y, train_indices, record_dir, cores=SERIAL, fingerprints=None, inits=None):
    """Train every stackable candidate of a grid in stacks and write its fit records.

    Candidates whose fold records all exist are skipped; the others are grouped by
    `src.training.grouping.stack_key` and each group is trained as one stack
    (`src.training.loop.train_and_record`), as many at a time as the plan ``cores``
    (`src.cores.CorePlan`) gives. ``fingerprints`` are the folds' `src.training.fit_records.data_fingerprint` values
    when the caller has them (else computed here); ``inits`` each fold's init (`src.training.loop.train_and_record`).

    Returns
    -------
    int
        How many candidates could not be stacked (GridSearchCV trains those fold by fold).
    """
    from joblib import Parallel, delayed

    if fingerprints is None:
        fingerprints = [fit_records.data_fingerprint(X, y, idx) for idx in train_indices]
    rows = fold_rows(net, y, train_indices)
    stacked, plain = stack_candidates(net, param_grid, y, train_indices, rows)
    groups = {}
    for cand, label in stacked:
        members = loop.member_nets([cand], inits, len(fingerprints))
        if not all(fit_records.load(record_dir, fit_records.fit_key(member, None, None, fingerprint))
                   for member, fingerprint in zip(members, fingerprints)):
            groups.setdefault(stack_key(cand), []).append((cand, label))
    for group in groups.values():  # the same activations side by side: they share their calls
        group.sort(key=lambda item: str(item[0].module__activation))
    if groups:
        workers, threads = cores.split(len(groups))
        n = sum(len(group) for group in groups.values())
        log.info(f"grid: training {counted(n, 'candidate')} x {counted(len(train_indices), 'fold')} in "
                 f"{counted(len(groups), 'stack')}, {workers} at a time with {counted(threads, 'thread')} each")
        Parallel(n_jobs=workers)(
            delayed(loop.train_and_record)([cand.set_params(threads=threads) for cand, _ in group], X, y,
                                           train_indices, record_dir, [label for _, label in group], fingerprints,
                                           rows, inits=inits)
            for group in groups.values())
    return plain
