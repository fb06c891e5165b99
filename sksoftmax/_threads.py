"""Keep BLAS thread pools from spinning while fits and predictions run.

NumPy's and SciPy's wheels each bundle their own OpenBLAS, each with its own
pool of threads. L-BFGS alternates between the two: NumPy does the matrix
products of every evaluation, SciPy's L-BFGS-B does small vector work in
between. Threads of the idle pool spin while the other pool works, and on a
machine with few cores they steal the cores it needs (measured on 2 cores:
scikit-learn's ``LogisticRegression`` on digits 0.98 s with both pools, 0.05 s
with SciPy's limited to one thread). When anything else runs on the machine
they also steal the core they wait for: a fit with NumPy's pool at two threads
slowed down 3x next to one other CPU-bound process and 50x next to several.

Two limits, both reference counted per library so that fits and predictions
running concurrently in threads can nest and overlap in any order (the first
one in limits a library, the last one out restores its previous size):

- ``limit_blas("scipy")``: the libraries SciPy alone loaded, at one thread;
  the solver holds it while L-BFGS-B runs.
- ``limit_blas("all")``: every BLAS library, NumPy's included, at one thread;
  :mod:`sksoftmax._executor` holds it while its own threads run the row
  blocks (they replace BLAS's threads).

:func:`blas_thread_cap` reads the size the user gave the BLAS pools (with
``threadpoolctl.threadpool_limits``, ``OMP_NUM_THREADS`` and the like, or
joblib's workers), as it was before these limits, so that the executor
follows it.
"""

import contextlib
import os
import threading

from threadpoolctl import ThreadpoolController

_controller = None
_lock = threading.Lock()
# filepath -> [number of active limits, thread count before the first one]
_limited = {}


def _controllers():
    global _controller
    if _controller is None:  # after NumPy and scipy.optimize loaded their BLAS
        _controller = ThreadpoolController()
    return [lib for lib in _controller.lib_controllers if lib.user_api == "blas"]


def _scipy_only(lib):
    folders = set(os.path.normpath(lib.filepath).split(os.sep))
    return bool(folders & {"scipy", "scipy.libs"}
                and not folders & {"numpy", "numpy.libs"})


@contextlib.contextmanager
def limit_blas(which="scipy"):
    """Context manager: BLAS libraries run on one thread inside.

    Reentrant and safe for fits running concurrently in several threads: a
    library's previous thread count is restored when the last limit on it
    ends.

    Parameters
    ----------
    which : {"scipy", "all"}, default="scipy"
        ``"scipy"`` limits the libraries that SciPy alone loaded (not one it
        shares with NumPy); ``"all"`` limits every BLAS library.

    Yields
    ------
    limited : list of str
        File paths of the libraries that are limited.
    """
    with _lock:
        libs = [lib for lib in _controllers()
                if which == "all" or _scipy_only(lib)]
        for lib in libs:
            entry = _limited.setdefault(lib.filepath, [0, None])
            if entry[0] == 0:
                entry[1] = lib.num_threads
                lib.set_num_threads(1)
            entry[0] += 1
    try:
        yield [lib.filepath for lib in libs]
    finally:
        with _lock:
            for lib in libs:
                entry = _limited[lib.filepath]
                entry[0] -= 1
                if entry[0] == 0:
                    lib.set_num_threads(entry[1])
                    del _limited[lib.filepath]


def blas_thread_cap():
    """Smallest thread count of the BLAS libraries, as the user set them.

    Libraries limited by :func:`limit_blas` count with the size they had
    before, so a fit that starts while another one runs sees the user's
    setting, not the temporary one.

    Returns
    -------
    cap : int or None
        None when threadpoolctl finds no BLAS library.
    """
    with _lock:
        counts = [_limited[lib.filepath][1] if lib.filepath in _limited
                  else lib.num_threads for lib in _controllers()]
    counts = [n for n in counts if n]
    return min(counts) if counts else None
