"""How row blocks run: a pool of Python threads owned by the fit.

The objective, the column statistics and the predictions split their rows into
blocks and hand :meth:`RowExecutor.map` one function per block. The executor
runs them on its threads and returns the results **in block order**; the
callers add them up in that order. The blocks depend only on the data (never
on the number of threads), so a fit gives the same bits with one thread or
sixteen, and whatever the timing of the threads.

Why Python threads and not BLAS's own: NumPy releases the GIL in its products,
``exp`` and reductions, so the whole block kernel (not only the two products)
runs in parallel; and OpenBLAS threads that wait for work spin, which steals
the core they wait for as soon as anything else runs on the machine. While the
executor is in use every BLAS library runs on one thread
(:func:`sksoftmax._threads.limit_blas`), and the executor's threads block on a
lock when idle instead of spinning.

Threads
    :func:`fit_executor` (entered once per fit by the estimator) makes the
    executor that every call inside the fit uses; its threads start at the
    first call that has more than one block and are joined when the fit ends.
    Outside a fit (``predict`` on a large input) a call makes a short-lived
    executor of its own.

How many
    The CPUs this process may use (``os.sched_getaffinity`` and cgroup quotas,
    through :func:`joblib.cpu_count`), capped by the size of the BLAS thread
    pools as the user set it: ``threadpoolctl.threadpool_limits(n)``,
    ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS``, and
    the limits joblib's workers set to avoid oversubscription (so a
    ``GridSearchCV(n_jobs=4)`` on 16 cores gives each fit 4 threads). These
    threads replace BLAS's threads, so they obey the same controls, as
    scikit-learn's own OpenMP code does; ``n_jobs`` in scikit-learn means
    joblib's parallelism across estimators, and defaults to one.
"""

import contextlib
import contextvars
import functools
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import joblib

from sksoftmax._threads import blas_thread_cap, limit_blas

_current = contextvars.ContextVar("sksoftmax_executor", default=None)


@functools.cache
def _cpu_quota():
    # joblib's count: affinity, cgroup quotas, LOKY_MAX_CPU_COUNT. It reads
    # files, so once per process; the affinity is read again at every fit.
    return joblib.cpu_count()


def usable_cpus():
    """CPUs this process may use (affinity, container quotas).

    Returns
    -------
    n_cpus : int
    """
    n = _cpu_quota()
    if hasattr(os, "sched_getaffinity"):
        n = min(n, len(os.sched_getaffinity(0)))
    return n


def available_threads():
    """Threads a fit may use: usable CPUs, capped by the BLAS limits.

    Returns
    -------
    n_threads : int
        At least 1.

    Examples
    --------
    >>> from threadpoolctl import threadpool_limits
    >>> from sksoftmax._executor import available_threads
    >>> with threadpool_limits(1):
    ...     available_threads()
    1
    """
    n = usable_cpus()
    cap = blas_thread_cap()
    if cap is not None:
        n = min(n, cap)
    return max(1, int(n))


class RowExecutor:
    """Runs per-block functions on a pool of threads, results in block order.

    Parameters
    ----------
    n_threads : int
        Number of threads that work on blocks, the calling thread included
        (so ``n_threads - 1`` are started).

    Examples
    --------
    >>> from sksoftmax._executor import RowExecutor
    >>> with RowExecutor(2) as executor:
    ...     executor.map(lambda i: i * i, 4)
    [0, 1, 4, 9]
    """

    def __init__(self, n_threads):
        self.n_threads = int(n_threads)
        self._pool = None
        self._limits = contextlib.ExitStack()
        self._limited = False

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Join the threads and restore the BLAS thread counts."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._limits.close()
        self._limited = False

    @property
    def threads(self):
        """The threads this executor has started (empty before the first call).

        Returns
        -------
        threads : list of threading.Thread
        """
        if self._pool is None:
            return []
        return list(self._pool._threads)

    def map(self, func, n_blocks):
        """``[func(0), ..., func(n_blocks - 1)]``, computed in parallel.

        The calling thread works too; each thread takes the next block not yet
        taken, so a thread slowed down by other processes takes fewer. BLAS
        runs on one thread from the first call until :meth:`close`.

        Parameters
        ----------
        func : callable
            ``func(i)`` computes block ``i``; it must not depend on which
            thread runs it.
        n_blocks : int
            Number of blocks.

        Returns
        -------
        results : list
            ``func(i)`` at position ``i``.
        """
        if not self._limited:
            self._limits.enter_context(limit_blas("all"))
            self._limited = True
        n_workers = min(self.n_threads, n_blocks)
        if n_workers <= 1:
            return [func(i) for i in range(n_blocks)]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.n_threads - 1,
                                            thread_name_prefix="sksoftmax")
        results = [None] * n_blocks
        counter = itertools.count()
        lock = threading.Lock()
        failed = []

        def drain():
            while not failed:
                with lock:
                    i = next(counter)
                if i >= n_blocks:
                    return
                try:
                    results[i] = func(i)
                except BaseException as exc:
                    failed.append(exc)
                    raise

        helpers = [self._pool.submit(drain) for _ in range(n_workers - 1)]
        try:
            drain()
        finally:
            for helper in helpers:
                helper.exception()  # wait; the first failure is re-raised below
        if failed:
            raise failed[0]
        return results


class _Serial:
    """The executor outside any fit: every block in the calling thread."""

    n_threads = 1

    @staticmethod
    def map(func, n_blocks):
        return [func(i) for i in range(n_blocks)]


@contextlib.contextmanager
def fit_executor(n_threads=None):
    """Context manager: the executor every block computation inside uses.

    Entered once per fit; nested entries (a fit inside a callback) share the
    outer executor. The threads are joined and the BLAS thread counts restored
    on exit.

    Parameters
    ----------
    n_threads : int, default=None
        None uses :func:`available_threads`.

    Yields
    ------
    executor : RowExecutor

    Examples
    --------
    >>> from sksoftmax._executor import current_executor, fit_executor
    >>> with fit_executor() as executor:
    ...     current_executor() is executor
    True
    """
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    if n_threads is None:
        n_threads = available_threads()
    with RowExecutor(n_threads) as executor:
        token = _current.set(executor)
        try:
            yield executor
        finally:
            _current.reset(token)


def current_executor():
    """The executor of the fit running in this thread, or a serial one.

    Returns
    -------
    executor : RowExecutor or object with the same ``map``
    """
    executor = _current.get()
    return _Serial if executor is None else executor


def map_blocks(func, n_blocks):
    """``func`` over blocks with the current fit's executor, or a short-lived one.

    For work outside a fit that is large enough to pay for starting threads
    (predictions on large inputs); arguments and result as
    :meth:`RowExecutor.map`.
    """
    executor = _current.get()
    if executor is not None:
        return executor.map(func, n_blocks)
    if n_blocks <= 1:
        return [func(i) for i in range(n_blocks)]
    with RowExecutor(available_threads()) as executor:
        return executor.map(func, n_blocks)
