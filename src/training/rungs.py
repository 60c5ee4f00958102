"""Successive halving inside the stacks: rungs, the cut, rung states and the stopped fits' records.

Every stackable candidate trains to the first rung; there each group's best `Halving.kept` go
on from their saved state, and the others' records are written at that rung (``halted_at``).
The policy and its reasons: docs/comparisons.md, "Successive halving".
"""
import logging
import math
from dataclasses import dataclass

import numpy as np

from .. import layout
from ..cores import SERIAL
from ..files import write_torch
from ..params import candidate_label
from ..ranking import best, rank_order
from ..outcomes import stopped
from ..words import counted
from . import checkpoints, fit_records, loop
from .grouping import fold_rows, stack_candidates, stack_key
from .member_state import MemberState, load_member

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Halving:
    """The settings of successive halving (``search.halving``, ``search.eta``, ``search.min_epochs``),
    given by the caller: their defaults live in the config alone.

    Attributes
    ----------
    eta : int
        The factor between rungs; ``1 / eta`` of a group goes on at each.
    min_epochs : int
        The first rung.
    tuned : tuple of str
        The skorch names of a tuned study's settings: the candidates that differ only in them
        form a group. Empty: the whole grid is one group.
    """

    eta: int
    min_epochs: int
    tuned: tuple

    def rungs(self, epochs):
        """The rungs' epoch counts, the full budget ``epochs`` last (e.g. 2, 6, 18, 25)."""
        found, at = [], self.min_epochs
        while at < epochs:
            found.append(at)
            at *= self.eta
        return found + [epochs]

    def kept(self, n, last_cut):
        """How many of a group of ``n`` go on: the top ``1 / eta`` (rounded up), at least 2 (1 at a
        tuned study's last cut), at most ``n``."""
        floor = 1 if self.tuned and last_cut else 2
        return min(n, max(floor, math.ceil(n / self.eta)))

    def group(self, params):
        """The group of a candidate (its parameters ``{skorch name: value}``): in a tuned study its label
        without the tuned settings; otherwise the whole grid (an empty string)."""
        return candidate_label({k: v for k, v in params.items() if k not in self.tuned}) if self.tuned else ""

    def units(self, n_folds):
        """The folds that are halved together: each split alone in a tuned study, else all of them."""
        return [[f] for f in range(n_folds)] if self.tuned else [list(range(n_folds))]


def rung_score(histories, epochs):
    """A candidate's ``(score, loss)`` at a rung: the mean over its folds of the validation accuracy and
    loss of epoch ``epochs``; NaN when a fold's history ends before it or is not finite there."""
    rows = [h[epochs - 1] if len(h) >= epochs else {} for h in histories]
    acc = np.array([row.get("valid_acc", np.nan) for row in rows], dtype=float)
    loss = np.array([row.get("valid_loss", np.nan) for row in rows], dtype=float)
    return float(acc.mean()), float(loss.mean())


def survivors(scores, groups, settings, last_cut):
    """The units that go on at a rung.

    Parameters
    ----------
    scores : list of (float, float)
        Each unit's `rung_score`, in grid order.
    groups : list
        Each unit's group: its `Halving.group` and, in a tuned study, its split.
    settings : Halving
    last_cut : bool
        Whether this is the last rung before the full budget.

    Returns
    -------
    list of bool
        Whether each unit goes on (`src.ranking.rank_order` within each group).
    """
    keep = [False] * len(scores)
    for group in dict.fromkeys(groups):
        members = [i for i, g in enumerate(groups) if g == group]
        order = rank_order([scores[i][0] for i in members], [scores[i][1] for i in members])
        for i in order[:settings.kept(len(members), last_cut)]:
            keep[members[i]] = True
    return keep


@dataclass
class Unit:
    """What halving ranks and stops: a stackable candidate on some folds (all of them, or one split
    in a tuned study), with its net, label, group and fit keys (one per fold of ``folds``)."""

    net: object
    label: str
    group: str
    keys: list
    folds: list

    @property
    def id(self):
        """The unit's name among the others: its label, and its split when it holds one of several."""
        return self.label if len(self.folds) != 1 else f"{self.label} | split {self.folds[0]}"

    @property
    def split(self):
        """The split of a one-split unit; None for a unit of every split."""
        return self.folds[0] if len(self.folds) == 1 else None


def grid_units(net, param_grid, y, train_indices, fingerprints, settings, rows=None):
    """The grid's halving units (`Unit`, in grid order, then split order) and how many
    candidates cannot be stacked."""
    rows = fold_rows(net, y, train_indices) if rows is None else rows
    stacked, plain = stack_candidates(net, param_grid, y, train_indices, rows)
    units = settings.units(len(train_indices))
    found = []
    for cand, label in stacked:
        params = cand.get_params()
        keys = [fit_records.fit_key(cand, None, None, fp) for fp in fingerprints]
        group = settings.group({k: params[k] for k in param_grid})
        found += [Unit(cand, label, group, [keys[f] for f in folds], folds) for folds in units]
    return found, plain


def _recorded(record_dir, unit):
    return all(fit_records.load(record_dir, key, halted=True) for key in unit.keys)


def _save_states(record_dir, unit, epochs, states):
    for key, state in zip(unit.keys, states):
        write_torch(layout.rung_path(record_dir, key, epochs), {"params": state.params, "optimizer": state.optimizer,
                                                                "history": state.history, "seconds": state.seconds,
                                                                "random": state.random})


def _load_states(record_dir, unit, epochs):
    """The unit's members' states saved at the rung of ``epochs``; None unless every fold's reads back whole."""
    states = []
    for key in unit.keys:
        try:
            saved = layout.read_whole(layout.rung_path(record_dir, key, epochs))
            states.append(MemberState(params=saved["params"], optimizer=saved["optimizer"],
                                      history=saved["history"], seconds=float(saved["seconds"]),
                                      random=saved.get("random")))
        except Exception:  # missing, or cut short by a kill: this rung is trained again
            return None
    return states


def _stacks(todo):
    """The stacks that train the units of ``todo``: ``(candidates, folds)``, each candidate a list of
    its units in fold order. A candidate's units join one stack with every other candidate whose
    units cover the same folds (in a tuned study, the settings still alive on every split share
    one stack of all the folds), within one `src.training.grouping.stack_key`."""
    by_candidate = {}
    for unit in todo:
        by_candidate.setdefault(unit.label, []).append(unit)
    groups = {}
    for units in by_candidate.values():  # a candidate's units share its net: its stack key is computed once
        units = sorted(units, key=lambda u: u.folds)
        key = (stack_key(units[0].net), tuple(f for u in units for f in u.folds))
        groups.setdefault(key, []).append(units)
    return [(cands, list(folds)) for (_, folds), cands in groups.items()]


def _train(todo, states, X, y, train_indices, record_dir, fingerprints, rows, until, cores):
    """Train the units of ``todo`` from their ``states`` (None: from the start) to epoch ``until``
    (None: to the end, writing their records), in the stacks of `_stacks`; return their new states."""
    from joblib import Parallel, delayed

    groups = _stacks(todo)
    if not groups:
        return {}
    workers, threads = cores.split(len(groups))

    def pick(values, folds):
        return [values[f] for f in folds]

    def call(cands, folds):
        nets = [units[0].net.set_params(threads=threads) for units in cands]
        labels = [units[0].label for units in cands]
        start = None if cands[0][0].id not in states else [m for units in cands for u in units for m in states[u.id]]
        shared = dict(labels=labels, rows=pick(rows, folds), start=start)
        if until is None:
            return delayed(loop.train_and_record)(nets, X, y, pick(train_indices, folds), record_dir,
                                                  fingerprints=pick(fingerprints, folds), **shared)
        return delayed(loop.train_to_rung)(nets, X, y, pick(train_indices, folds), until,
                                           fingerprints=pick(fingerprints, folds), **shared)

    results = Parallel(n_jobs=workers)(call(cands, folds) for cands, folds in groups)
    if until is None:
        return {}
    trained = {}
    for (cands, folds), result in zip(groups, results):
        members = iter(result)  # candidate by candidate, fold by fold: each unit's folds in turn
        for units in cands:
            for unit in units:
                trained[unit.id] = [next(members) for _ in unit.folds]
    return trained


def _halt(record_dir, unit, states, epochs, train_indices, fingerprints, batched):
    """Write the records of a unit stopped at the rung of ``epochs`` (those not written before a kill)."""
    module_args = unit.net.get_params_for("module")
    for key, state, f in zip(unit.keys, states, unit.folds):
        fold, fingerprint = train_indices[f], fingerprints[f]
        if (fit_records.outcome(record_dir, key) or {}).get("halted_at") == epochs:
            continue
        module = load_member(unit.net.module(**module_args), state.params)
        loop.write_record(record_dir, unit.net, module,
                          loop.MemberFit(fingerprint, len(fold), state.history, state.seconds, halted_at=epochs), batched)


def fill_records(net, param_grid, X, y, train_indices, record_dir, settings, cores=SERIAL, fingerprints=None):
    """Train every stackable candidate of a grid by successive halving and write its fit records.

    Parameters
    ----------
    net : src.training.net.Net
        The base net (``max_epochs`` is the full budget).
    param_grid : dict
        The scikit-learn ``param_grid``.
    X, y, train_indices, record_dir, cores, fingerprints
        As for `src.training.exhaustive.fill_records`.
    settings : Halving

    Returns
    -------
    int
        How many candidates could not be stacked (GridSearchCV trains those fold by fold, in full).
    """
    if fingerprints is None:
        fingerprints = [fit_records.data_fingerprint(X, y, idx) for idx in train_indices]
    rows = fold_rows(net, y, train_indices)
    live, plain = grid_units(net, param_grid, y, train_indices, fingerprints, settings, rows)
    everyone = list(live)
    if all(_recorded(record_dir, unit) for unit in live):
        return plain
    schedule = settings.rungs(net.max_epochs)
    log.info(f"halving: {counted(len({u.label for u in live}), 'candidate')} x {counted(len(train_indices), 'fold')}"
             f"{', each split halved on its own' if settings.tuned else ''}, rungs at epochs "
             f"{', '.join(map(str, schedule))}, eta {settings.eta}"
             + (f"; {plain} candidates cannot be stacked and train in full" if plain else ""))
    states = {}
    for r, epochs in enumerate(schedule):
        final = epochs == schedule[-1]
        todo = []
        for unit in live:
            found = None if final else _load_states(record_dir, unit, epochs)
            if found is not None:
                states[unit.id] = found
            elif not (final and _recorded(record_dir, unit)):
                todo.append(unit)
        trained = _train(todo, states, X, y, train_indices, record_dir, fingerprints, rows,
                         None if final else epochs, cores)
        if final:
            break
        for unit in todo:
            states[unit.id] = trained[unit.id]
            _save_states(record_dir, unit, epochs, trained[unit.id])
        if todo:  # the checkpoints are this rung's stacks': their states at the rung are saved
            checkpoints.clear(record_dir)
        scores = [rung_score([m.history for m in states[u.id]], epochs) for u in live]
        keep = survivors(scores, [(u.group, u.split) for u in live], settings, last_cut=r == len(schedule) - 2)
        for unit, kept in zip(live, keep):
            if not kept:
                _halt(record_dir, unit, states.pop(unit.id), epochs, train_indices, fingerprints,
                      sum(len(u.folds) for u in live))
        first = best(*zip(*scores)) or 0
        log.info(f"halving: rung {r + 1} (epoch {epochs}): {sum(keep)} of {len(live)} go on; best "
                 f"{live[first].id} {scores[first][0]:.4f}")
        live = [unit for unit, kept in zip(live, keep) if kept]
    _remove_rung_states(record_dir, everyone, schedule[:-1])
    return plain


def _remove_rung_states(record_dir, units, rungs):
    """Delete the units' states saved at ``rungs``, and ``fits/rungs/`` once it is empty."""
    for unit in units:
        for key in unit.keys:
            for epochs in rungs:
                layout.rung_path(record_dir, key, epochs).unlink(missing_ok=True)
    rungs_dir = layout.rung_path(record_dir, "", 0).parent
    if rungs_dir.is_dir() and not any(rungs_dir.iterdir()):
        rungs_dir.rmdir()


def table(net, param_grid, y, train_indices, record_dir, fingerprints, settings):
    """Every stackable candidate's score at every rung it reached, from the fit records.

    Returns
    -------
    list of dict
        ``candidate`` (label), ``group``, ``split`` (a tuned study's split, else None), ``rung``
        (1-based), ``epochs``, ``score`` (`rung_score`'s accuracy), ``kept`` (whether it went on,
        or, at the last rung, finished with the full budget), in grid order then rung order.
    """
    found, _ = grid_units(net, param_grid, y, train_indices, fingerprints, settings)
    schedule = settings.rungs(net.max_epochs)
    out = []
    for unit in found:
        records = [layout.read_record(record_dir, key) or {} for key in unit.keys]
        halted = [r.get("halted_at") for r in records if stopped(r)]
        stop = min(halted) if halted else schedule[-1]
        histories = [r.get("history") or [] for r in records]
        for r, epochs in enumerate(schedule):
            if epochs > stop:
                break
            out.append({"candidate": unit.label, "group": unit.group, "split": unit.split, "rung": r + 1,
                        "epochs": epochs, "score": rung_score(histories, epochs)[0],
                        "kept": epochs < stop or not halted})
    return out
