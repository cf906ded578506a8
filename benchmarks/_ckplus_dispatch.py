"""How the CK+ benchmark's (emotion, seed) units run: serially, on local processes
(``--jobs N``) or on a dask.distributed cluster (``--scheduler ADDRESS``).

The benchmark's modules are not installed, so a worker process (a Dask worker
on another machine above all) cannot import them: every unit is pickled by
value with cloudpickle, here, in the main process, and shipped as bytes. The
worker unpickles them *inside the task* (``_call_pickled``), so that a worker
that cannot load a unit (igselect missing from its environment, another
version of a dependency) fails that task, and the run stops with the worker's
error. Left to joblib's own wrapper, the unpickling happened while the worker
read the scheduler's message: the worker's connection handler died, the task
stayed "processing" for ever, and the run hung.

Before a Dask run, one test task per worker loads the first unit (without
running it) and looks at the run folder; a worker that cannot is named, with
its error and the scheduler's address (:class:`DaskClusterError`).

Every unit runs TensorFlow on one thread (:func:`one_thread_per_unit`): the
parallelism is the units', one per core with ``--jobs`` = cores. Two processes
with TensorFlow's default pools (one thread per core each) fight over the cores:
a stacked shoot-out fit and a full-landmark fit in each of two concurrent
processes took 25-27 s against 15-16 s with one thread each. One thread also
fixes the order of TensorFlow's floating-point reductions, which depends on its
thread count, so a run's results do not depend on ``--jobs`` or on the
machine's number of cores.
"""

from __future__ import annotations

import sys
import time
from uuid import uuid4

from _ckplus_config import BenchmarkInputError

#: Seconds to connect to the scheduler, for a first worker, and for every worker's
#: test task (importing igselect and its dependencies on a busy machine).
CONNECT_TIMEOUT_S = 30
WAIT_FOR_WORKERS_S = 60
PROBE_TIMEOUT_S = 180

_HINT = (
    "Every worker needs igselect and its dependencies in its environment "
    "(pip install -e '.[distributed]', see the README's 'Scaling out') and must see "
    "--out as a shared, writable folder."
)


class DaskClusterError(BenchmarkInputError):
    """The cluster of ``--scheduler`` cannot run the units: no connection, no worker,
    or a worker that cannot load a unit or write the run folder."""


def one_thread_per_unit() -> None:
    """Run TensorFlow on one intra-op and one inter-op thread in this process.

    It must come before TensorFlow's first operation in the process; a
    process whose TensorFlow runs already (a Dask worker's second unit) keeps
    its setting.
    """
    import tensorflow as tf

    threading = tf.config.threading
    if (
        threading.get_intra_op_parallelism_threads() == 1
        and threading.get_inter_op_parallelism_threads() == 1
    ):
        return
    try:
        threading.set_intra_op_parallelism_threads(1)
        threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already initialised with other pools
        import warnings

        warnings.warn(
            "TensorFlow was initialised before the benchmark could set one thread per unit; "
            "this process keeps TensorFlow's default thread pools, and its results may differ "
            "in the last digits from a run with one thread.",
            RuntimeWarning,
            stacklevel=2,
        )


def _register_by_value(data) -> None:
    """Pickle the benchmark's modules (and the one of the ``Data`` class) by value."""
    import cloudpickle

    names = {name for name in sys.modules if name.startswith("_ckplus")}
    names.add(type(data).__module__)
    for name in sorted(names - {"__main__"}):  # __main__ goes by value anyway
        cloudpickle.register_pickle_by_value(sys.modules[name])


def _pickled(call, data) -> bytes:
    """``call`` (a partial of ``run_unit``) as cloudpickle bytes, code included."""
    import cloudpickle

    _register_by_value(data)
    return cloudpickle.dumps(call)


def _call_pickled(payload: bytes):
    """Run one pickled unit (in the worker, inside the task: an error here is the task's)."""
    import cloudpickle

    return cloudpickle.loads(payload)()


def _check_worker(payload: bytes, out: str) -> bool:
    """A worker's test task: load one unit (its imports), without running it; see ``out``."""
    import os

    import cloudpickle

    cloudpickle.loads(payload)
    if not os.path.isdir(out):
        raise FileNotFoundError(f"the run folder --out {out} does not exist on this worker")
    if not os.access(out, os.W_OK):
        raise PermissionError(f"the run folder --out {out} is not writable on this worker")
    return True


def _task(func):
    """``func`` pickled by value whatever pickles it (joblib, distributed): it needs
    only cloudpickle and joblib on the worker to be read."""
    from joblib import wrap_non_picklable_objects

    return wrap_non_picklable_objects(func)


def probe_workers(client, address: str, payload: bytes, out) -> int:
    """Run the test task on every worker of ``client``; returns the number of workers.

    Raises
    ------
    DaskClusterError
        No worker within ``WAIT_FOR_WORKERS_S``; a worker whose test task failed
        (its error, e.g. ``ModuleNotFoundError: No module named 'igselect'``) or did
        not answer within ``PROBE_TIMEOUT_S``.
    """
    try:
        client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
    except TimeoutError:
        raise DaskClusterError(
            f"the Dask scheduler at {address} has no worker after {WAIT_FOR_WORKERS_S} s; "
            f"start some with `dask worker {address}`. Received: --scheduler={address}"
        ) from None
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    check = _task(_check_worker)
    futures = {
        w: client.submit(
            check,
            payload,
            str(out),
            workers=[w],
            allow_other_workers=False,
            pure=False,
            key=f"ckplus-probe-{i}-{uuid4().hex}",
        )
        for i, w in enumerate(workers)
    }
    deadline = time.monotonic() + PROBE_TIMEOUT_S
    while not all(f.done() for f in futures.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    problems = []
    for w, fut in futures.items():
        if fut.status == "error":
            exc = fut.exception()
            problems.append(f"worker {w}: {type(exc).__name__}: {exc}")
        elif fut.status != "finished":
            problems.append(f"worker {w}: no answer to a test task within {PROBE_TIMEOUT_S} s")
    client.cancel(list(futures.values()))
    if problems:
        raise DaskClusterError(
            f"the Dask cluster at {address} cannot run the benchmark's units:\n  "
            + "\n  ".join(problems)
            + f"\n{_HINT} Received: --scheduler={address}"
        )
    return len(workers)


def _on_dask(units, address: str, out):
    """Run the pickled ``units`` through joblib's Dask backend on the cluster at ``address``."""
    from joblib import Parallel, delayed, parallel_config

    try:
        from distributed import Client
    except ImportError:
        raise DaskClusterError(
            "--scheduler needs dask.distributed: pip install -e '.[distributed]'. "
            f"Received: --scheduler={address}"
        ) from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise DaskClusterError(
            f"cannot connect to the Dask scheduler at {address}: {type(exc).__name__}: {exc}. "
            f"Received: --scheduler={address}"
        ) from None
    try:
        probe_workers(client, address, units[0], out)
        run = _task(_call_pickled)
        with parallel_config(backend="dask", client=client, wait_for_workers_timeout=60):
            try:
                yield from Parallel(n_jobs=-1, return_as="generator_unordered")(
                    delayed(run)(payload) for payload in units
                )
            except Exception as exc:
                raise RuntimeError(
                    f"a unit failed on the Dask cluster at {address}: {type(exc).__name__}: {exc}"
                ) from exc
    finally:
        client.close()


def dispatch(units, args, data):
    """Run ``units`` (partials of ``run_unit``) serially, on ``args.jobs`` local processes
    or on the Dask cluster of ``args.scheduler``; yields their results as they finish."""
    from joblib import Parallel, delayed

    scheduler = getattr(args, "scheduler", None)
    if not scheduler and args.jobs <= 1:
        for call in units:
            yield call()
        return
    where = f"the Dask cluster at {scheduler}" if scheduler else f"{args.jobs} local processes"
    try:
        payloads = [_pickled(call, data) for call in units]
    except Exception as exc:  # pickle.PicklingError, TypeError, ...: a bug, not bad input
        raise RuntimeError(
            f"cannot pickle the benchmark's units for {where}: {type(exc).__name__}: {exc}"
        ) from exc
    if scheduler:
        yield from _on_dask(payloads, scheduler, args.out)
        return
    run = _task(_call_pickled)
    yield from Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
        delayed(run)(payload) for payload in payloads
    )
