"""Where a grid's fits run: joblib's backends (worker processes, threads, Dask)."""
import contextlib
import logging

import joblib

from ..errors import UserError

log = logging.getLogger("src.modes.grid")  # the grid's lines keep their name in a job's log


@contextlib.contextmanager
def _processes(scheduler, n_workers, scatter):
    yield  # joblib's default: loky worker processes, numpy inputs memory-mapped


@contextlib.contextmanager
def _threads(scheduler, n_workers, scatter):
    # One process, one copy of torch and of the data; torch releases the GIL in its kernels.
    with joblib.parallel_config(backend="threading"):
        yield


DASK_CONNECT_S = 5  # how long a running Dask scheduler has to answer


def dask_client(scheduler, timeout=DASK_CONNECT_S):
    """A Dask client of the running scheduler at ``scheduler`` (``search.scheduler``).

    Raises
    ------
    UserError
        When the address is malformed or no scheduler answers there within ``timeout`` seconds.
    """
    from dask.distributed import Client

    try:
        return Client(scheduler, timeout=timeout)
    except ValueError as exc:
        raise UserError(f"search.scheduler={scheduler!r} is not a Dask scheduler address ({exc}); "
                        f"give tcp://HOST:PORT, as printed by `dask scheduler`") from None
    except OSError as exc:
        raise UserError(f"search.scheduler={scheduler!r}: no Dask scheduler answered within {timeout} s ({exc}); "
                        f"start one with `dask scheduler`, or set search.scheduler=null for a local cluster") from None


@contextlib.contextmanager
def _replicas_kept(client):
    """Pause the Dask cluster's active memory manager while the grid runs (and resume it after).

    Its default policy drops every copy of a key that no task waiting on that worker needs:
    as the fits finish, the training rows sent to every worker would be left on one, and data
    sent with ``scatter`` cannot be computed again, so the death of that worker would fail
    the grid ("lost scattered data").
    """
    running = client.amm.running()
    if running:
        client.amm.stop()
    try:
        yield
    finally:
        if running:
            client.amm.start()


@contextlib.contextmanager
def _dask(scheduler, n_workers, scatter):
    from dask.distributed import Client, LocalCluster

    cluster = None if scheduler else LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                                 host="127.0.0.1", dashboard_address=None)
    try:
        # The arrays of every fit (the training rows, the labels) go to each worker once, before
        # the fits, not with every fit; a copy on every worker, so that the fits of a worker
        # that dies can run again on another (data sent to one worker only dies with it).
        with dask_client(scheduler) if scheduler else Client(cluster) as client, _replicas_kept(client), \
                joblib.parallel_config(backend="dask", scatter=list(scatter) or None):
            log.info(f"grid: running on Dask at {client.scheduler.address}")
            yield
    finally:
        if cluster is not None:
            cluster.close()


JOBLIB_BACKENDS = {"local": _processes, "threads": _threads, "dask": _dask}


def joblib_backend(backend, scheduler=None, n_workers=2, scatter=()):
    """A context in which joblib runs the grid's fits on ``backend``.

    ``local``: worker processes; ``threads``: threads of this process (one copy of torch and
    of the data in memory); ``dask``: a Dask cluster at ``scheduler``, or, when it is None, a
    LocalCluster of ``n_workers`` single-threaded worker processes on the loopback interface,
    closed afterwards. On Dask, the objects in ``scatter`` (arguments of every fit) are sent
    to every worker once, up front; joblib then passes references to them.
    """
    return JOBLIB_BACKENDS[backend](scheduler, n_workers, scatter)
