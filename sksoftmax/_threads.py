"""Keep BLAS thread pools from fighting while L-BFGS runs.

NumPy's and SciPy's wheels each bundle their own OpenBLAS, each with its own
pool of threads. L-BFGS alternates between the two: NumPy does the matrix
products of every evaluation, SciPy's L-BFGS-B does small vector work in
between. Threads of the idle pool spin while the other pool works, and on a
machine with few cores they steal the cores it needs (measured on 2 cores:
scikit-learn's ``LogisticRegression`` on digits 0.98 s with both pools, 0.05 s
with SciPy's limited to one thread).

NumPy's own pool hurts too as soon as the machine is shared: each evaluation
makes several BLAS calls on row blocks, and every call has to wake the pool's
other threads, which then wait for a core. Measured on a shared 2-core machine
(100,000 x 100, 10 classes, 12 iterations): 3.5 to 15 s with NumPy's pool at
two threads, 0.75 to 1.2 s with every BLAS at one thread. So while L-BFGS
runs, every BLAS library (NumPy's, SciPy's, or one shared by both) is limited
to a single thread, and restored afterwards.
"""

import contextlib
import threading

from threadpoolctl import ThreadpoolController

_controller = None
# Fits running concurrently in threads share the process-wide BLAS settings:
# the first one in limits them, the last one out restores them.
_lock = threading.Lock()
_active = 0
_saved = []


def _blas_libraries():
    """Controllers of every BLAS library loaded in the process."""
    global _controller
    if _controller is None:  # after scipy.optimize has loaded its BLAS
        _controller = ThreadpoolController()
    return [lib for lib in _controller.lib_controllers if lib.user_api == "blas"]


@contextlib.contextmanager
def limit_blas():
    """Context manager: every BLAS library runs on one thread inside.

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
