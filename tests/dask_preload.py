"""Scheduler preload of the Dask cluster tests (``dask scheduler --preload tests/dask_preload.py``).

Records every piece of data that a client sends to the workers (``client.scatter``, which
joblib's Dask backend uses for large arguments), as ``scheduler.sent_data``: a list of
``(key, nbytes)``. Whether the data goes through the scheduler or straight to the workers,
the scheduler learns of it through ``update_data``, which this wraps; nothing else changes.
"""


def dask_setup(scheduler):
    scheduler.sent_data = []
    update_data = scheduler.update_data

    def recording_update_data(*args, who_has=None, nbytes=None, **kwargs):
        scheduler.sent_data.extend((str(key), int((nbytes or {}).get(key, 0))) for key in (who_has or {}))
        return update_data(*args, who_has=who_has, nbytes=nbytes, **kwargs)

    scheduler.update_data = recording_update_data
    for name in ("update_data", "update-data"):
        if name in scheduler.handlers:
            scheduler.handlers[name] = recording_update_data
