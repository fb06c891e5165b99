"""Keep BLAS thread pools from fighting while L-BFGS runs.

NumPy's and SciPy's wheels each bundle their own OpenBLAS, each with its own
pool of threads. L-BFGS alternates between the two: NumPy does the matrix
products of every evaluation, SciPy's L-BFGS-B does small vector work in
between. Threads of the idle pool spin while the other pool works, and on a
machine with few cores they steal the cores it needs (measured on 2 cores:
scikit-learn's ``LogisticRegression`` on digits 0.98 s with both pools, 0.05 s
with SciPy's limited to one thread).

While L-BFGS runs, every BLAS library loaded from SciPy's own folders is
therefore limited to one thread, and restored afterwards. NumPy's pool, which
does the large matrix products, keeps its threads: on an idle 2-core machine
limiting it too made the 100,000 x 100 fit slower (1.16 s against 0.93 s,
median of 3), and a library that NumPy and SciPy share (one MKL or OpenBLAS
in a conda environment) is left alone for the same reason.
"""

import contextlib
import os
import threading

from threadpoolctl import ThreadpoolController

_controller = None
# Fits running concurrently in threads share the process-wide BLAS settings:
# the first one in limits them, the last one out restores them.
_lock = threading.Lock()
_active = 0
_saved = []


def _blas_libraries():
    """Controllers of the BLAS libraries that SciPy alone loaded."""
    global _controller
    if _controller is None:  # after scipy.optimize has loaded its BLAS
        _controller = ThreadpoolController()
    libs = []
    for lib in _controller.lib_controllers:
        folders = set(os.path.normpath(lib.filepath).split(os.sep))
        if (lib.user_api == "blas" and folders & {"scipy", "scipy.libs"}
                and not folders & {"numpy", "numpy.libs"}):
            libs.append(lib)
    return libs


@contextlib.contextmanager
def limit_blas():
    """Context manager: SciPy's own BLAS runs on one thread inside.

    Reentrant and safe for fits running concurrently in several threads: the
    previous thread counts are restored when the last of them leaves.

    Yields
    ------
    limited : list of str
        File paths of the libraries that are limited.
    """
    global _active, _saved
    with _lock:
        if _active == 0:
            libs = _blas_libraries()
            _saved = [(lib, lib.num_threads) for lib in libs]
            for lib in libs:
                lib.set_num_threads(1)
        _active += 1
        paths = [lib.filepath for lib, _ in _saved]
    try:
        yield paths
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                for lib, n in _saved:
                    lib.set_num_threads(n)
                _saved = []
