"""The skorch classifier: tensor-sliced batches, seeded fits, a few small callbacks."""
import inspect
import logging
import math
import time

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback, EarlyStopping, LRScheduler
from skorch.dataset import ValidSplit
from skorch.history import History

from ..errors import Interrupted, UserError
from ..model.mlp import uncompiled
from ..model.networks import module_class
from ..model.randomness import fit_generator, generator_state, give_generator, restore_generator, seeded_build
from . import fit_records
from .checkpoints import Checkpoints, cpu_copy, running
from .diagnostics import Diagnostics
from .loader import TensorLoader
from .seeds import fit_seed
from .settings import NetSettings

log = logging.getLogger(__name__)


def resolve_device(device):
    """Map ``auto`` to ``cuda`` when a GPU is available, else ``cpu``; check explicit choices."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise UserError(f"unknown device {device!r}; choose one of: auto, cpu, cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("device=cuda was asked for but no CUDA device is available; use device=auto or cpu")
    return device


def with_fused(optimizer, kwargs):
    """``kwargs`` with ``fused=True`` added where ``optimizer`` has a fused kernel and none was chosen.

    A fused step updates each parameter in one pass instead of one pass per operation: about a
    third faster for SGD on the notebook's network, and equal to the looped step up to float32
    rounding (a few units in the last place, depending on the CPU's kernels). An explicit
    ``fused``, ``foreach`` or ``differentiable`` is left alone.

    Parameters
    ----------
    optimizer : callable
        The optimizer class.
    kwargs : dict
        Its keyword arguments.

    Returns
    -------
    dict
    """
    if {"fused", "foreach", "differentiable"} & set(kwargs):
        return kwargs
    try:
        accepts = "fused" in inspect.signature(optimizer).parameters
    except (TypeError, ValueError):
        return kwargs
    return {**kwargs, "fused": True} if accepts else kwargs


# torch.set_float32_matmul_precision's settings: "highest" keeps float32 products; "high" and
# "medium" allow TF32 or bfloat16 products where the hardware has them (GPUs, CPUs with AMX).
MATMUL_PRECISIONS = ("highest", "high", "medium")
# Rows per batch when only predicting (validation split, scoring): no gradient, so large
# batches cost no accuracy and save the per-batch overhead.
EVAL_BATCH_SIZE = 2048


def shuffle_generator(seed):
    """The generator of a fit's batch order: its own stream, seeded with the fit's seed."""
    return torch.Generator().manual_seed(int(seed))


class RecordLR(Callback):
    """Record the optimizer's learning rate in the history at the end of every epoch."""

    def on_epoch_end(self, net, **kwargs):
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])


class Diverged(RuntimeError):
    """A fit whose training loss became NaN or infinite; its message says when, without a prefix."""

    @classmethod
    def at(cls, loss, epoch):
        """The divergence of a fit whose training loss was ``loss`` at ``epoch`` (1-based)."""
        return cls(f"training loss became {loss} at epoch {epoch}")


def error_text(exc):
    """The one line a fit record keeps of the exception that ended the fit.

    A divergence is its message alone (the record's status already says ``diverged``); any
    other exception is ``Type: message``.
    """
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return first if isinstance(exc, Diverged) else f"{type(exc).__name__}: {first}"


class StopOnDivergence(Callback):
    """Stop a fit as soon as its training loss is not finite, raising `Diverged`."""

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1, "train_loss"]
        if not math.isfinite(loss):
            raise Diverged.at(loss, len(net.history))


def schedulers(net):
    """The LR schedulers a fit's callbacks built (skorch's `LRScheduler`), in callback order."""
    return [cb.lr_scheduler_ for _, cb in net.callbacks_ if isinstance(cb, LRScheduler)
            and getattr(cb, "lr_scheduler_", None) is not None]


class SaveCheckpoint(Callback):
    """Keep a fit's state after every epoch; write it every ``checkpoint_every`` epochs (`src.training.checkpoints`).

    Added last to a fit's callbacks (`Net.initialize_callbacks`), so that the epoch's history row is
    whole. The state is everything that decides what the rest of the fit computes: the weights, the
    optimizer's state, the LR schedulers' states, the batch-order and random-op generators, and the
    history (from which early stopping's counters are rebuilt). On a resumed fit it brings them back
    once every callback is built, before the first epoch.
    """

    def __init__(self, checkpoints):
        self.checkpoints = checkpoints

    def on_train_begin(self, net, **kwargs):
        saved = getattr(net, "resumed_", None)
        if saved is None:
            return
        net.resumed_ = None
        # skorch builds a scheduler with ``last_epoch`` from the history, and torch's constructor
        # steps it once more on the restored rate: the saved states put both back as they were
        for scheduler, state in zip(schedulers(net), saved.get("schedulers", []), strict=False):
            scheduler.load_state_dict(state)
        net.optimizer_.load_state_dict(saved["optimizer"])
        for stopping in (cb for _, cb in net.callbacks_ if isinstance(cb, EarlyStopping)):
            for row in net.history:  # the epochs before the checkpoint, as early stopping saw them
                if stopping._is_score_improved(row[stopping.monitor]):
                    stopping.misses_, stopping.best_epoch_ = 0, row["epoch"]
                    stopping.dynamic_threshold_ = stopping._calc_new_threshold(row[stopping.monitor])
                else:
                    stopping.misses_ += 1

    def on_epoch_end(self, net, **kwargs):
        self.checkpoints.epoch_end(len(net.history), lambda: {
            "module": cpu_copy(uncompiled(net.module_).state_dict()),
            "optimizer": cpu_copy(net.optimizer_.state_dict()),
            "schedulers": [cpu_copy(s.state_dict()) for s in schedulers(net)],
            "generators": [net.shuffle_generator_.get_state()], "random": generator_state(net.random_generator_),
            "history": list(net.history), "seconds": time.perf_counter() - net.started_})


class Net(NeuralNetClassifier):
    """skorch's classifier with a seed and a thread count as estimator parameters.

    Both survive ``sklearn.base.clone``, so every fit GridSearchCV makes (in any process)
    is seeded the same way and uses the intended number of threads.

    Parameters
    ----------
    seed : int (default=0)
        The study's seed. The fit's own (`seed_for`) sets its initial weights (built under
        torch's global generator seeded with it, `src.model.randomness.seeded_build`), its batch order
        (`shuffle_generator`) and its random ops (dropout, RReLU:
        `src.model.randomness.fit_generator`), so the same seed gives the same history,
        whatever trains beside the fit.
    split_seeds : bool (default=False)
        Derive the fit's seed from ``seed``, its training data and ``init_index``
        (`src.training.seeds.fit_seed`): every split trains from its own seed. False: every fit
        trains from ``seed`` itself (as studies did before seeds per split).
    init_index : int (default=0)
        Which of a split's ``cv.inits`` seeds the fit trains from.
    threads : int, optional
        ``torch.set_num_threads`` for this fit; None leaves torch's setting alone.
    record_dir : str, optional
        Keep a record of every fit here (`src.training.fit_records`): a fit whose record exists is
        loaded instead of trained, and failures are recorded with their error.
    matmul_precision : {"highest", "high", "medium"} (default="highest")
        ``torch.set_float32_matmul_precision`` for this fit (process-wide while it runs).
    halving : bool (default=False)
        Part of a successive-halving search: a record of a fit stopped at a rung is loaded as
        it is (`src.training.rungs`); otherwise such a fit is trained again in full.
    checkpoint_every : int (default=0)
        With ``record_dir``: save a checkpoint of the fit every so many epochs, and go on from
        the last one (`SaveCheckpoint`); 0 saves none. A stack's too (`src.training.loop`).
    """

    def __init__(self, module, *, seed=0, split_seeds=False, init_index=0, threads=None, record_dir=None,
                 matmul_precision="highest", halving=False, checkpoint_every=0, **kwargs):
        super().__init__(module, **kwargs)
        self.seed = seed
        self.split_seeds = split_seeds
        self.init_index = init_index
        self.threads = threads
        self.record_dir = record_dir
        self.matmul_precision = matmul_precision
        self.halving = halving
        self.checkpoint_every = checkpoint_every

    def _set_training(self, training=True):
        # skorch switches train/eval mode on every batch; switching only when the mode
        # changes saves a walk over every submodule per batch.
        module = getattr(self, "module_", None)
        if module is not None and module.training == training and self.criterion_.training == training:
            return
        super()._set_training(training)

    def initialize(self):
        if self.threads:
            torch.set_num_threads(int(self.threads))
        torch.set_float32_matmul_precision(self.matmul_precision)
        seed = self.fit_seed_()
        seeded_build(seed, super().initialize)
        self.shuffle_generator_ = shuffle_generator(seed)
        return self

    def seed_for(self, data=None, init=None):
        """The seed of this net's fit on training data of fingerprint ``data`` (None: unknown), at
        init ``init`` (None: ``init_index``); see `src.training.seeds.fit_seed`."""
        init = self.init_index if init is None else init
        return fit_seed(self.seed, data if self.split_seeds else None, init)

    def fit_seed_(self):
        """The seed of the fit under way (`seed_for` its training data), or of the last one."""
        return getattr(self, "seed_", None) if getattr(self, "seed_", None) is not None else self.seed_for()

    def initialize_module(self):
        super().initialize_module()
        self.random_generator_ = fit_generator(self.fit_seed_(), self.device)
        give_generator(self.module_, self.random_generator_)
        return self

    def initialize_callbacks(self):
        super().initialize_callbacks()
        if getattr(self, "checkpoints_", None) is not None:
            self.callbacks_.append(("checkpoint", SaveCheckpoint(self.checkpoints_)))
        return self

    def _go_on(self, saved, X, y, **fit_params):
        """Train a fit on from its checkpoint ``saved`` (`SaveCheckpoint`) to ``max_epochs``."""
        self.initialize()
        uncompiled(self.module_).load_state_dict(saved["module"])
        self.optimizer_.load_state_dict(saved["optimizer"])
        self.history_ = History(saved["history"])
        self.shuffle_generator_.set_state(saved["generators"][0])
        restore_generator(self.random_generator_, saved.get("random"))
        self.resumed_ = saved  # the schedulers' states, once skorch has built them (`SaveCheckpoint`)
        self.partial_fit(X, y, epochs=self.max_epochs - saved["epoch"], **fit_params)

    def get_params_for_optimizer(self, prefix, named_parameters):
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        return args, with_fused(self.optimizer, kwargs) if prefix == "optimizer" else kwargs

    def get_iterator(self, dataset, training=False):
        iterator = super().get_iterator(dataset, training=training)
        if training and isinstance(iterator, TensorLoader):
            iterator.generator = self.shuffle_generator_
        return iterator

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt:
            if any(isinstance(cb, EarlyStopping) and cb.misses_ >= cb.patience for _, cb in self.callbacks_):
                raise  # how skorch's EarlyStopping ends a fit: skorch catches it, and the fit is finished
            raise Interrupted() from None  # Ctrl-C: skorch would keep the partly trained fit as if finished

    def fit(self, X, y=None, **fit_params):
        data = fit_records.data_fingerprint(X, y) if self.split_seeds or self.record_dir else None
        self.seed_ = self.seed_for(data)
        if not self.record_dir:
            with running(None):  # training, without checkpoints
                return super().fit(X, y, **fit_params)
        key = fit_records.fit_key(self, X, y, data)
        found = fit_records.load(self.record_dir, key, halted=self.halving)
        if found:
            record, state = found
            self.initialize()
            uncompiled(self.module_).load_state_dict(state)
            self.history_ = History(record["history"])
            self.classes_inferred_ = np.unique(np.asarray(y))
            return self
        earlier = fit_records.outcome(self.record_dir, key)
        if earlier is not None and earlier.get("status") == "diverged":
            # a finished outcome too: the same seed on the same data diverges again (a stack's
            # diverged member is not trained a second time, fit by fit)
            raise Diverged(earlier["error"])
        record = {"params": fit_records.fit_params(self), "n_train": int(len(y)), "data": data, "seed": self.seed_}
        self.checkpoints_ = (Checkpoints(self.record_dir, key, self.checkpoint_every, f"{self.module__activation} (fit {key[:6]})")
                             if self.checkpoint_every else None)
        saved = self.checkpoints_.load() if self.checkpoints_ is not None else None
        self.started_ = start = time.perf_counter() - (saved["seconds"] if saved else 0.0)
        try:
            with running(self.checkpoints_):
                if saved is None:
                    super().fit(X, y, **fit_params)
                else:
                    self._go_on(saved, X, y, **fit_params)
        except Exception as exc:
            history = fit_records.history_rows(self.history_) if hasattr(self, "history_") else []
            status = "diverged" if isinstance(exc, Diverged) else "failed"
            fit_records.save(self.record_dir, key, {
                **record, "status": status, "error": error_text(exc),
                "fit_seconds": time.perf_counter() - start, "history": history})
            raise
        fit_records.save(self.record_dir, key, {
            **record, "status": "ok", "fit_seconds": time.perf_counter() - start,
            "history": fit_records.history_rows(self.history_)}, module=self.module_)
        if self.checkpoints_ is not None:
            self.checkpoints_.remove()
        return self


def callbacks(early_stopping=None, lr_scheduler=None):
    """Build the extra callbacks of a fit from plain settings.

    Parameters
    ----------
    early_stopping : int, optional
        Patience in epochs on the validation loss; None disables early stopping.
    lr_scheduler : mapping, optional
        ``{"policy": "StepLR", **kwargs}`` for skorch's `LRScheduler`; None disables it.

    Returns
    -------
    list of (str, Callback)
    """
    out = [("record_lr", RecordLR()), ("divergence", StopOnDivergence()), ("diagnostics", Diagnostics())]
    if early_stopping:
        out.append(("early_stopping", EarlyStopping(patience=int(early_stopping), monitor="valid_loss")))
    if lr_scheduler:
        settings = dict(lr_scheduler)
        out.append(("lr_scheduler", LRScheduler(policy=settings.pop("policy"), **settings)))
    return out


def make_net(n_features, n_classes, settings=None):
    """Build the skorch classifier for a network of `src.model.networks.NETWORKS` (an `MLP` by default).

    Parameters
    ----------
    n_features, n_classes : int
        Input width and number of classes.
    settings : src.training.settings.NetSettings, optional
        The network, its optimisation, its training and its compute (None: their defaults). The
        network's and the optimizer's arguments become ``module__*`` and ``optimizer__*``
        parameters, so that grids can sweep them.

    Returns
    -------
    Net
    """
    settings = settings or NetSettings()
    network, opt, train, compute = settings.network, settings.optimization, settings.training, settings.compute
    split = ValidSplit(train.valid_fraction, stratified=True, random_state=train.seed) if train.valid_fraction else None
    module = {f"module__{k}": v for k, v in network.module_args(n_features, n_classes).items()}
    extra = {f"optimizer__{k}": v for k, v in opt.optimizer_kwargs.items()}
    if not train.verbose:
        extra["callbacks__print_log"] = None
    else:  # the epoch table goes to the log (the console, and a Hydra job's .log)
        extra["callbacks__print_log__sink"] = log.info
    device = compute.device
    return Net(
        module_class(network.model),
        **module,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=opt.optimizer,
        lr=opt.lr,
        max_epochs=train.epochs,
        batch_size=train.batch_size,
        train_split=split,
        iterator_train=TensorLoader,
        iterator_train__shuffle=True,
        iterator_train__device=device,
        iterator_valid=TensorLoader,
        iterator_valid__device=device,
        iterator_valid__batch_size=max(train.batch_size, EVAL_BATCH_SIZE),
        device=device,
        seed=train.seed,
        split_seeds=train.split_seeds,
        threads=compute.threads,
        callbacks=callbacks(train.early_stopping, opt.lr_scheduler),
        compile=compute.compile,
        matmul_precision=compute.matmul_precision,
        checkpoint_every=train.checkpoint_every,
        verbose=train.verbose,
        **extra,
    )
