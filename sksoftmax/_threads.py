"""Keep the BLAS thread pools of NumPy and SciPy from fighting.

NumPy's and SciPy's wheels each bundle their own OpenBLAS, each with its own
pool of threads. L-BFGS alternates between the two: NumPy does the large
matrix products of every evaluation, SciPy's L-BFGS-B does small vector work
in between. Threads of the idle pool spin while the other pool works, and on a
machine with few cores they steal the cores it needs (measured on 2 cores:
scikit-learn's ``LogisticRegression`` on digits 0.98 s with both pools, 0.05 s
with SciPy's limited to one thread).

Inside ``fit`` we therefore limit to one thread every BLAS library loaded from
SciPy's own folder that NumPy does not use too. NumPy's pool, which does the
heavy products, keeps all its threads.
"""

import contextlib
import os

from threadpoolctl import ThreadpoolController

_controller = None


def _scipy_only_blas():
    """BLAS libraries shipped inside SciPy's folders and not NumPy's."""
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
def limit_scipy_blas():
    """Context manager: SciPy's private BLAS pool runs on one thread inside.

    Libraries shared with NumPy (e.g. a conda environment with one OpenBLAS or
    MKL for both) are left alone, so the large products never slow down.

    Yields
    ------
    limited : list of str
        File paths of the libraries that were limited.
    """
    libs = _scipy_only_blas()
    previous = [lib.num_threads for lib in libs]
    try:
        for lib in libs:
            lib.set_num_threads(1)
        yield [lib.filepath for lib in libs]
    finally:
        for lib, n in zip(libs, previous, strict=True):
            lib.set_num_threads(n)
