"""Documentation: numpydoc-valid docstrings, a complete API page, true examples."""

import doctest
import importlib.util
import inspect
import re
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

import sksoftmax

numpydoc_validate = pytest.importorskip("numpydoc.validate")

DOCS = Path(__file__).resolve().parent.parent / "docs"

# Checks left out everywhere: an extended summary and a See Also section are
# optional, and scikit-learn's named returns ("self : SoftmaxClassifier") are
# the house style (numpydoc's RT02 wants the type alone).
IGNORED = {"ES01", "SA01", "RT02"}
# Examples are required of the public classes, optional for methods and
# low-level functions.
IGNORED_UNLESS_CLASS = {"EX01"}
# Known false positives of numpydoc's heuristics, by name.
FALSE_POSITIVES = {
    # "Logits of each class..." starts with a plural noun, not a verb.
    ("sksoftmax.SoftmaxClassifier.decision_function", "SS05"),
}
# Methods scikit-learn generates for metadata routing (not our docstrings).
GENERATED = {"set_fit_request", "set_score_request", "set_predict_request",
             "set_predict_proba_request", "set_partial_fit_request"}


def _onnx_module():
    if importlib.util.find_spec("skl2onnx") is None:
        return None
    import sksoftmax.onnx

    return sksoftmax.onnx


def public_names():
    """Every public name: ``sksoftmax.__all__`` and ``sksoftmax.onnx.__all__``."""
    names = [f"sksoftmax.{n}" for n in sksoftmax.__all__ if n != "__version__"]
    onnx = _onnx_module()
    if onnx is not None:
        names += [f"sksoftmax.onnx.{n}" for n in onnx.__all__]
    return names


def _resolve(name):
    module, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def documented_objects():
    """Public callables and the public methods the classes define themselves."""
    objects = []
    for name in public_names():
        obj = _resolve(name)
        if not callable(obj):
            continue  # constants are documented with a #: comment
        objects.append(name)
        if inspect.isclass(obj):
            objects += [
                f"{name}.{member}" for member, value in vars(obj).items()
                if not member.startswith("_") and callable(value)
                and member not in GENERATED
            ]
    return objects


@pytest.mark.parametrize("name", documented_objects())
def test_docstring_is_valid_numpydoc(name):
    result = numpydoc_validate.validate(name)
    is_class = inspect.isclass(_resolve(name)) if name in public_names() else False
    ignored = IGNORED if is_class else IGNORED | IGNORED_UNLESS_CLASS
    errors = [
        f"{code}: {message}" for code, message in result["errors"]
        if code not in ignored and (name, code) not in FALSE_POSITIVES
    ]
    assert not errors, f"{name}:\n" + "\n".join(errors)


def _api_page_names():
    text = (DOCS / "api.rst").read_text()
    found = set()
    module = "sksoftmax"
    for line in text.splitlines():
        stripped = line.strip()
        if match := re.match(r"\.\. (?:currentmodule|automodule)::\s*(\S+)", stripped):
            module = match.group(1)
            continue
        if match := re.match(r"\.\. auto(?:class|function|data)::\s*(\S+)", stripped):
            found.add(f"{module}.{match.group(1)}")
            continue
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", stripped):
            found.add(f"{module}.{stripped}")  # an autosummary entry
    return found


@pytest.mark.parametrize("name", public_names())
def test_every_public_name_is_in_the_api_reference(name):
    assert name in _api_page_names(), f"{name} is missing from docs/api.rst"


def test_the_toctree_lists_every_page():
    index = (DOCS / "index.rst").read_text()
    for page in ("install", "quickstart", "user_guide", "auto_examples/index",
                 "api", "export", "performance", "dask", "array_api",
                 "bad_input"):
        assert re.search(rf"^\s+{re.escape(page)}$", index, re.M), page


def test_gallery_has_at_least_four_plotting_examples():
    examples = sorted((DOCS / "examples").glob("plot_*.py"))
    assert len(examples) >= 4
    for path in examples:
        assert "plt.show()" in path.read_text(), path.name


def test_quickstart_examples_are_true():
    # The quick start's >>> lines run and print what the page says.
    pytest.importorskip("sklearn.datasets")
    result = doctest.testfile(
        str(DOCS / "quickstart.rst"), module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False, report=False,
    )
    assert result.attempted >= 10
    assert result.failed == 0, f"{result.failed} quickstart examples failed"


def test_docs_build_needs_no_network(monkeypatch):
    # Intersphinx (which downloads inventories) is opt-in.
    monkeypatch.delenv("SKSOFTMAX_DOCS_INTERSPHINX", raising=False)
    spec = importlib.util.spec_from_file_location("_sksoftmax_docs_conf",
                                                  DOCS / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    # conf.py limits BLAS to one thread for the gallery; undo that afterwards.
    with threadpool_limits(limits=None):
        spec.loader.exec_module(conf)
    assert conf.intersphinx_mapping == {}
    assert "numpydoc" in conf.extensions
    assert "sphinx_gallery.gen_gallery" in conf.extensions


def test_readme_example_runs():
    readme = (DOCS.parent / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert blocks, "README.md has no python example"
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    assert namespace["clf"].score(namespace["X_test"], namespace["y_test"]) > 0.9
    assert len(blocks[0].strip().splitlines()) <= 12
