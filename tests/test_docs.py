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
        if line.startswith(" ") and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", stripped):
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
    # With SKSOFTMAX_DOCS_INTERSPHINX=0 nothing is fetched at all.
    conf = _load_conf(monkeypatch, intersphinx="0")
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


# -- The site as users read it -------------------------------------------------

USER_FACING = [*DOCS.glob("*.rst"), *(DOCS / "examples").glob("*.py"),
               *(DOCS.parent / "sksoftmax").rglob("*.py")]
WORK_LOG = re.compile(r"\bissues?\s+#?\d+|\bthis session\b|\bwas lent\b|"
                      r"\bmet and missed\b", re.I)


@pytest.mark.parametrize("path", USER_FACING, ids=lambda p: p.name)
def test_docs_speak_to_users_not_of_issues(path):
    found = [f"{path.name}:{n}: {line.strip()}"
             for n, line in enumerate(path.read_text().splitlines(), start=1)
             if WORK_LOG.search(line)]
    assert not found, "\n".join(found)


def _literal_blocks(text):
    """The literal blocks of an .rst text (after ``::`` or a code directive)."""
    blocks, lines = [], text.splitlines()
    for n, line in enumerate(lines):
        stripped = line.strip()
        directive = re.match(r"\.\. (\S+)::", stripped)
        if not stripped.endswith("::") or (
                directive and directive.group(1) not in ("code-block", "code")):
            if not (directive and directive.group(1) in ("code-block", "code")):
                continue
        indent = len(line) - len(line.lstrip())
        block = []
        for following in lines[n + 1:]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            block.append(following)
        blocks.append(block)
    return blocks


TABLE_BORDER = re.compile(r"^\s*(=+\s+)+=+\s*$|^\s*\+(-+\+)+\s*$")


@pytest.mark.parametrize("path", sorted(DOCS.glob("*.rst")), ids=lambda p: p.name)
def test_tables_are_tables_not_code(path):
    # A table typed in a code block renders as highlighted code and is cut
    # off at the right of the column; tables are list-tables or grid tables.
    for block in _literal_blocks(path.read_text()):
        assert not any(TABLE_BORDER.match(line) for line in block), (
            f"{path.name}: a table inside a code block:\n" + "\n".join(block[:5]))


def test_performance_tables_are_list_tables_with_placeholders():
    text = (DOCS / "performance.rst").read_text()
    assert text.count(".. list-table::") >= 8
    assert not re.search(r"^\s*=+\s+=+", text, re.M), "simple tables are cut off"
    # The marked places for new measurements.
    for heading in ("At equal gap", "Stopping rule: more tolerances",
                    "SoftmaxClassifierCV against LogisticRegressionCV",
                    "Against glmnet"):
        assert re.search(rf"^{re.escape(heading)}\n-+$", text, re.M), heading
    # Every benchmark named on the page exists.
    for script in set(re.findall(r"benchmarks/(\w+\.py)", text)):
        assert (DOCS.parent / "benchmarks" / script).is_file(), script


def test_api_page_lists_only_public_names():
    public = set(public_names())
    extra = sorted(_api_page_names() - public)
    assert not extra, f"on docs/api.rst but not public: {extra}"


def test_no_reference_to_private_names_in_pages():
    private = re.compile(r":(?:func|class|meth|data|attr):`~?sksoftmax\.(?:\w+\.)*_\w+")
    for path in DOCS.glob("*.rst"):
        assert not private.search(path.read_text()), path.name


def _load_conf(monkeypatch, intersphinx="0"):
    monkeypatch.setenv("SKSOFTMAX_DOCS_INTERSPHINX", intersphinx)
    spec = importlib.util.spec_from_file_location("_sksoftmax_docs_conf",
                                                  DOCS / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    # conf.py limits BLAS to one thread for the gallery; undo that afterwards.
    with threadpool_limits(limits=None):
        spec.loader.exec_module(conf)
    return conf


def test_left_sidebar_only_where_there_is_navigation(monkeypatch):
    conf = _load_conf(monkeypatch)
    index = (DOCS / "index.rst").read_text()
    pages = re.findall(r"^   (\S+)$", index.split(".. toctree::")[1], re.M)
    with_children = {"api", "auto_examples/index"}
    assert (set(pages) - with_children) | {"index"} == set(conf.LEAF_PAGES)
    assert all(conf.html_sidebars[page] == [] for page in conf.LEAF_PAGES)
    assert not with_children & set(conf.html_sidebars)


def test_math_needs_no_network(monkeypatch):
    conf = _load_conf(monkeypatch)
    assert "sphinx.ext.mathjax" not in conf.extensions
    assert conf.html_math_renderer == "mathml"
    latex2mathml = pytest.importorskip("latex2mathml.converter")
    formulas = []
    for path in DOCS.glob("*.rst"):
        text = path.read_text()
        formulas += re.findall(r":math:`([^`]+)`", text)
        for block in re.findall(r"^\.\. math::\n\n((?:(?:   .*)?\n)+)", text, re.M):
            body = block.rstrip()
            # A blank line splits a block into separate equations.
            assert "\n\n" not in body, f"{path.name}: blank line in\n{body}"
            formulas.append(body)
    assert len(formulas) > 50
    for formula in formulas:
        mathml = latex2mathml.convert(formula)
        assert "<math" in mathml and "merror" not in mathml, formula


def test_intersphinx_covers_the_libraries_and_falls_back(monkeypatch):
    conf = _load_conf(monkeypatch, intersphinx="0")
    assert conf.intersphinx_mapping == {}
    assert {"python", "numpy", "scipy", "sklearn", "dask"} <= set(
        conf.INTERSPHINX_PROJECTS)
    assert all(url.startswith("https://") and url.endswith("/")
               for url in conf.INTERSPHINX_PROJECTS.values())
    assert "ref.term" in conf.suppress_warnings


def _inventory_bytes():
    import zlib

    header = (b"# Sphinx inventory version 2\n# Project: scikit-learn\n"
              b"# Version: 1.9\n"
              b"# The remainder of this file is compressed using zlib.\n")
    return header + zlib.compress(
        b"sklearn.linear_model.LogisticRegression py:class 1 "
        b"modules/generated/sklearn.linear_model.LogisticRegression.html#$ -\n")


def _docs_helpers():
    """The documentation's Sphinx helpers (docs/_ext/sksoftmax_sphinx.py)."""
    spec = importlib.util.spec_from_file_location(
        "_sksoftmax_sphinx", DOCS / "_ext" / "sksoftmax_sphinx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_intersphinx_mapping_has_only_readable_inventories(tmp_path):
    intersphinx_mapping_available = _docs_helpers().intersphinx_mapping_available
    projects = {"sklearn": "https://scikit-learn.org/stable/",
                "numpy": "https://numpy.org/doc/stable/",
                "scipy": "https://docs.scipy.org/doc/scipy/"}
    fetched = []

    def fetch(url, path, timeout):  # online for sklearn, garbage for numpy
        fetched.append(url)
        if "scikit-learn" in url:
            path.write_bytes(_inventory_bytes())
        elif "numpy" in url:
            path.write_bytes(b"<html>captive portal</html>")

    mapping = intersphinx_mapping_available(projects, tmp_path, fetch=fetch)
    assert sorted(fetched) == sorted(url + "objects.inv" for url in projects.values())
    assert mapping == {"sklearn": (projects["sklearn"],
                                   str(tmp_path / "sklearn-objects.inv"))}

    # Offline afterwards: the inventory cached by the earlier build is used.
    def offline(url, path, timeout):
        pass  # a failed download leaves no file

    assert intersphinx_mapping_available(projects, tmp_path, fetch=offline) == mapping
    # Offline with no cache: no mapping at all, so no failing fetch in the build.
    assert intersphinx_mapping_available(projects, tmp_path / "empty",
                                         fetch=offline) == {}


def _is_multi_panel(call):
    """Whether ``plt.subplots(...)`` makes more than one panel."""
    import ast

    shape = call.args[:2] + [k.value for k in call.keywords
                             if k.arg in ("nrows", "ncols")]
    return any(not (isinstance(arg, ast.Constant) and arg.value == 1)
               for arg in shape)


def test_multi_panel_examples_take_one_panel_as_thumbnail():
    import ast

    for path in sorted((DOCS / "examples").glob("plot_*.py")):
        source = path.read_text()
        multi = any(
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "subplots" and _is_multi_panel(node)
            for node in ast.walk(ast.parse(source)))
        name = re.escape(path.stem.removeprefix("plot_"))
        chosen = re.search(r'^# sphinx_gallery_thumbnail_path = '
                           rf'"_build/panels/{name}_\d+_\d+\.png"$', source, re.M)
        assert chosen or not multi, f"{path.name}: shrinks all panels to a thumbnail"


def test_save_panels_crops_each_panel(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    save_panels = _docs_helpers().save_panels
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax in axes:
        ax.plot([0, 1], [0, 1])
    try:
        written = save_panels(fig, lambda panel: tmp_path / f"p{panel}.png")
        width = fig.get_size_inches()[0] * fig.dpi
        single, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        assert save_panels(single, lambda panel: tmp_path / "single.png") == []
    finally:
        plt.close("all")
    assert [p.name for p in written] == ["p1.png", "p2.png", "p3.png"]
    for path in written:
        assert Image.open(path).size[0] < width / 2  # one panel, not the figure


def test_dotted_and_dashed_lines_in_examples_are_labelled():
    # A line drawn dotted or dashed stands for something: the legend, or a text
    # beside it, says what.
    import ast

    for path in sorted((DOCS / "examples").glob("plot_*.py")):
        tree = ast.parse(path.read_text())
        statements = [node for node in ast.walk(tree) if isinstance(node, ast.Expr)]
        for n, statement in enumerate(statements):
            call = statement.value
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr in ("axhline", "axvline", "plot")):
                continue
            styles = {ast.unparse(k.value).strip("'\"") for k in call.keywords
                      if k.arg in ("ls", "linestyle")}
            if not styles & {":", "--", "-.", "dotted", "dashed", "dashdot"}:
                continue
            labelled = any(k.arg == "label" for k in call.keywords)
            following = ast.unparse(statements[n + 1]) if n + 1 < len(statements) \
                else ""
            annotated = ".text(" in following or ".annotate(" in following
            assert labelled or annotated, f"{path.name}:{call.lineno}: no label"


def test_gallery_output_is_not_cut_off(monkeypatch):
    conf = _load_conf(monkeypatch)
    css = (DOCS / "_static" / "sksoftmax.css").read_text()
    assert "sksoftmax.css" in conf.html_css_files
    rule = re.search(r"div\.sphx-glr-script-out pre[^{]*\{([^}]*)\}", css)
    assert rule and "white-space: pre-wrap" in rule.group(1)
    # Example pages give the page-contents column to the output.
    sidebars = conf.html_theme_options["secondary_sidebar_items"]
    for example in (DOCS / "examples").glob("plot_*.py"):
        assert sidebars[f"auto_examples/{example.stem}"] == []


def _resolves(name):
    """Whether ``name`` (``module.attr...`` or ``Class.attr...``, modules
    without the ``sksoftmax.`` prefix) names something in sksoftmax."""
    import pkgutil

    modules = {info.name: importlib.import_module(f"sksoftmax.{info.name}")
               for info in pkgutil.iter_modules(sksoftmax.__path__)
               if info.name != "__main__"
               and (info.name != "onnx" or importlib.util.find_spec("skl2onnx"))}
    parts = name.removeprefix("sksoftmax.").split(".")
    roots = [modules[parts[0]]] if parts[0] in modules else list(modules.values())
    start = 1 if parts[0] in modules else 0
    missing = object()
    for obj in roots:
        for part in parts[start:]:
            fields = getattr(obj, "__dataclass_fields__", {})
            obj = fields[part] if part in fields else getattr(obj, part, missing)
        if obj is not missing:
            return True
    return False


def test_design_page_names_exist():
    # The design page must match the code: every class, module.function or
    # Class.method it names exists (a rename that forgets the page fails).
    text = (DOCS / "design.rst").read_text()
    names = set(re.findall(r"``([A-Za-z_][\w.]*)``", text))
    code = {n for n in names if not n.endswith(".py")
            and ("." in n or (n[0].isupper() and len(n) > 1))}
    assert len(code) > 20
    missing = sorted(n for n in code if not _resolves(n))
    assert not missing, f"docs/design.rst names what the code lacks: {missing}"
