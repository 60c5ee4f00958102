"""Successive halving inside stacked training: the losers stop early, the survivors train on.

Epochs are the resource. The rungs sit at ``min_epochs``, ``min_epochs * eta``, ... below the
full budget, which is the last rung. Every stackable candidate of the grid trains (all its
folds, as `src.training.stacks` stacks them) to the first rung; there the candidates are
ranked by their inner score (the validation accuracy of the rung's epoch, averaged over all
their folds; between equal scores the lower validation loss, then the grid's order) and the
top ``1 / eta`` go on, from their state: weights, optimizer state and the folds' batch orders.
No fit is trained again: a survivor of every rung ends where the exhaustive search leaves it,
up to float32 rounding.

The ranking runs over a group: the whole grid in a fixed-protocol grid (at least 2 go on at
every rung, so that a verdict remains). In a tuned study it runs within each compared candidate
and split: a setting is ranked on that split's inner validation rows only, as the tuned protocol
chooses it (`src.tuning`), never on another split's, whose validation rows lie in this split's
test rows (at least 2 go on, and 1 at the last cut: each activation keeps its own best settings
on each split; the activations themselves always get the full budget). There a halving unit is
one fit (a setting on a split); the settings alive on every split train in one stack of all
the folds, the others in stacks of their splits.

An eliminated member's fit record keeps its weights and history at its rung, and the rung in
``halted_at``; GridSearchCV loads it like any other record, and the tables keep it out of the
verdict. At each rung boundary every member's state is saved in ``fits/rungs/``, so that a
search killed mid-rung resumes there; those files are removed once every fit is recorded.

Candidates that cannot share a stack (folds of different batch counts, callbacks the stack cannot honour)
train fit by fit for the full budget and are not halved.
"""
import io
import logging
import math
from dataclasses import dataclass

import numpy as np
import torch

from .. import layout
from ..cores import SERIAL
from ..files import write_bytes
from ..params import candidate_label
from ..words import counted
from . import fit_records, stacks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Halving:
    """The settings of successive halving (``search.halving``, ``search.eta``, ``search.min_epochs``).

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

    eta: int = 3
    min_epochs: int = 2
    tuned: tuple = ()

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
    """The candidates that go on at a rung.

    Parameters
    ----------
    scores : list of (float, float)
        Each candidate's `rung_score`, in grid order.
    groups : list
        Each unit's group: its `Halving.group` and, in a tuned study, its split.
    settings : Halving
    last_cut : bool
        Whether this is the last rung before the full budget.

    Returns
    -------
    list of bool
        Whether each candidate goes on.
    """
    keep = [False] * len(scores)
    for group in dict.fromkeys(groups):
        members = [i for i, g in enumerate(groups) if g == group]
        order = sorted(members, key=lambda i: (-np.nan_to_num(scores[i][0], nan=-np.inf),
                                               np.nan_to_num(scores[i][1], nan=np.inf), i))
        for i in order[:settings.kept(len(members), last_cut)]:
            keep[i] = True
    return keep


@dataclass
class Candidate:
    """A halving unit: a stackable candidate on some folds (all of them, or one split in a tuned
    study), with its net, label, group and fit keys (one per fold of ``folds``)."""

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


def candidates(net, param_grid, y, train_indices, fingerprints, settings, rows=None):
    """The grid's halving units (`Candidate`, in grid order, then split order) and how many
    candidates cannot be stacked."""
    rows = stacks.fold_rows(net, y, train_indices) if rows is None else rows
    stacked, plain = stacks.stack_candidates(net, param_grid, y, train_indices, rows)
    units = settings.units(len(train_indices))
    found = []
    for cand, label in stacked:
        params = cand.get_params()
        keys = [fit_records.fit_key(cand, None, None, fp) for fp in fingerprints]
        group = settings.group({k: params[k] for k in param_grid})
        found += [Candidate(cand, label, group, [keys[f] for f in folds], folds) for folds in units]
    return found, plain


def _recorded(record_dir, cand):
    return all(fit_records.load(record_dir, key, halted=True) for key in cand.keys)


def _save_states(record_dir, cand, epochs, states):
    for key, state in zip(cand.keys, states):
        buffer = io.BytesIO()
        torch.save({"params": state.params, "optimizer": state.optimizer, "history": state.history,
                    "seconds": state.seconds}, buffer)
        write_bytes(layout.rung_path(record_dir, key, epochs), buffer.getvalue())


def _load_states(record_dir, cand, epochs):
    """The candidate's members' states saved at the rung of ``epochs``; None unless every fold's reads back whole."""
    states = []
    for key in cand.keys:
        try:
            saved = torch.load(layout.rung_path(record_dir, key, epochs), map_location="cpu", weights_only=True)
            states.append(stacks.MemberState(params=saved["params"], optimizer=saved["optimizer"],
                                             history=saved["history"], seconds=float(saved["seconds"])))
        except Exception:  # missing, or cut short by a kill: this rung is trained again
            return None
    return states


def _stacks(todo):
    """The stacks that train the units of ``todo``: ``(candidates, folds)``, each candidate a list of
    its units in fold order. A candidate's units join one stack with every other candidate whose
    units cover the same folds (in a tuned study, the settings still alive on every split share
    one stack of all the folds), within one `stacks.stack_key`."""
    by_candidate = {}
    for unit in todo:
        by_candidate.setdefault(unit.label, []).append(unit)
    groups = {}
    for units in by_candidate.values():  # a candidate's units share its net: its stack key is computed once
        units = sorted(units, key=lambda u: u.folds)
        key = (stacks.stack_key(units[0].net), tuple(f for u in units for f in u.folds))
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

    def start(cands):
        first = cands[0][0].id
        return None if first not in states else [m for units in cands for u in units for m in states[u.id]]

    results = Parallel(n_jobs=workers)(
        delayed(stacks.train_stacked)([units[0].net.set_params(threads=threads) for units in cands], X, y,
                                      pick(train_indices, folds), record_dir, [units[0].label for units in cands],
                                      pick(fingerprints, folds), pick(rows, folds), start=start(cands), until=until)
        for cands, folds in groups)
    if until is None:
        return {}
    trained = {}
    for (cands, folds), result in zip(groups, results):
        members = iter(result)  # candidate by candidate, fold by fold: each unit's folds in turn
        for units in cands:
            for unit in units:
                trained[unit.id] = [next(members) for _ in unit.folds]
    return trained


def _halt(record_dir, cand, states, epochs, train_indices, fingerprints, batched):
    """Write the records of a candidate stopped at the rung of ``epochs`` (those not written before a kill)."""
    module_args = cand.net.get_params_for("module")
    for key, state, f in zip(cand.keys, states, cand.folds):
        fold, fingerprint = train_indices[f], fingerprints[f]
        if (fit_records.outcome(record_dir, key) or {}).get("halted_at") == epochs:
            continue
        module = stacks.load_member(cand.net.module(**module_args), state.params)
        stacks.write_record(record_dir, cand.net, fingerprint, len(fold), module, state.history, state.seconds,
                            batched, halted_at=epochs)


def pretrain(net, param_grid, X, y, train_indices, record_dir, settings, cores=SERIAL, fingerprints=None):
    """Train every stackable candidate of a grid by successive halving (see the module's text).

    Parameters
    ----------
    net : src.training.net.Net
        The base net (``max_epochs`` is the full budget).
    param_grid : dict
        The scikit-learn ``param_grid``.
    X, y, train_indices, record_dir, cores, fingerprints
        As for `src.training.stacks.pretrain`.
    settings : Halving

    Returns
    -------
    int
        How many candidates could not be stacked (GridSearchCV trains those fold by fold, in full).
    """
    if fingerprints is None:
        fingerprints = [fit_records.data_fingerprint(X, y, idx) for idx in train_indices]
    rows = stacks.fold_rows(net, y, train_indices)
    live, plain = candidates(net, param_grid, y, train_indices, fingerprints, settings, rows)
    everyone = list(live)
    if all(_recorded(record_dir, cand) for cand in live):
        return plain
    schedule = settings.rungs(net.max_epochs)
    log.info(f"halving: {counted(len({c.label for c in live}), 'candidate')} x {counted(len(train_indices), 'fold')}"
             f"{', each split halved on its own' if settings.tuned else ''}, rungs at epochs "
             f"{', '.join(map(str, schedule))}, eta {settings.eta}"
             + (f"; {plain} candidates cannot be stacked and train in full" if plain else ""))
    states = {}
    for r, epochs in enumerate(schedule):
        final = epochs == schedule[-1]
        todo = []
        for cand in live:
            found = None if final else _load_states(record_dir, cand, epochs)
            if found is not None:
                states[cand.id] = found
            elif not (final and _recorded(record_dir, cand)):
                todo.append(cand)
        trained = _train(todo, states, X, y, train_indices, record_dir, fingerprints, rows,
                         None if final else epochs, cores)
        if final:
            break
        for cand in todo:
            states[cand.id] = trained[cand.id]
            _save_states(record_dir, cand, epochs, trained[cand.id])
        scores = [rung_score([m.history for m in states[c.id]], epochs) for c in live]
        keep = survivors(scores, [(c.group, c.split) for c in live], settings, last_cut=r == len(schedule) - 2)
        for cand, kept in zip(live, keep):
            if not kept:
                _halt(record_dir, cand, states.pop(cand.id), epochs, train_indices, fingerprints,
                      sum(len(c.folds) for c in live))
        best = int(np.nanargmax([s for s, _ in scores])) if np.isfinite([s for s, _ in scores]).any() else 0
        log.info(f"halving: rung {r + 1} (epoch {epochs}): {sum(keep)} of {len(live)} go on; best "
                 f"{live[best].id} {scores[best][0]:.4f}")
        live = [cand for cand, kept in zip(live, keep) if kept]
    for cand in everyone:
        for key in cand.keys:
            for epochs in schedule[:-1]:
                layout.rung_path(record_dir, key, epochs).unlink(missing_ok=True)
    rungs_dir = layout.rung_path(record_dir, "", 0).parent
    if rungs_dir.is_dir() and not any(rungs_dir.iterdir()):
        rungs_dir.rmdir()
    return plain


def table(net, param_grid, y, train_indices, record_dir, fingerprints, settings):
    """Every stackable candidate's score at every rung it reached, from the fit records.

    Returns
    -------
    list of dict
        ``candidate`` (label), ``group``, ``split`` (a tuned study's split, else None), ``rung``
        (1-based), ``epochs``, ``score`` (`rung_score`'s accuracy), ``kept`` (whether it went on,
        or, at the last rung, finished with the full budget), in grid order then rung order.
    """
    found, _ = candidates(net, param_grid, y, train_indices, fingerprints, settings)
    schedule = settings.rungs(net.max_epochs)
    out = []
    for cand in found:
        records = [layout.read_record(record_dir, key) or {} for key in cand.keys]
        halted = [r.get("halted_at") for r in records if r.get("halted_at") is not None]
        stop = min(halted) if halted else schedule[-1]
        histories = [r.get("history") or [] for r in records]
        for r, epochs in enumerate(schedule):
            if epochs > stop:
                break
            out.append({"candidate": cand.label, "group": cand.group, "split": cand.split, "rung": r + 1,
                        "epochs": epochs, "score": rung_score(histories, epochs)[0],
                        "kept": epochs < stop or not halted})
    return out
