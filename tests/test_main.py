"""The command-line demo ``python -m sksoftmax`` (sksoftmax/_demo.py)."""

import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from sksoftmax import SoftmaxClassifier
from sksoftmax._demo import load_csv, main, objective_value, softmax_params


def _write_csv(path, X, y, target="label", target_position=1):
    names = [f"f{j}" for j in range(X.shape[1])]
    header = [*names[:target_position], target, *names[target_position:]]
    lines = [",".join(header)]
    for row, label in zip(X, y, strict=True):
        values = [repr(float(v)) for v in row]
        fields = [*values[:target_position], str(label), *values[target_position:]]
        lines.append(",".join(fields))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def small_csv(tmp_path):
    X, y = make_classification(
        n_samples=60, n_features=4, n_informative=3, n_redundant=0,
        n_classes=3, random_state=0,
    )
    labels = np.array(["cat", "dog", "eel"])[y]
    return _write_csv(tmp_path / "small.csv", X * [1, 10, 100, 1000], labels), X, y


def test_help_explains_the_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for word in ("--data", "--target", "--cv", "--grid", "digits", "log-loss"):
        assert word in out


def test_module_entry_point_runs():
    # One real subprocess: `python -m sksoftmax` reaches main().
    proc = subprocess.run(
        [sys.executable, "-m", "sksoftmax", "--help"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage: python -m sksoftmax" in proc.stdout


def test_load_csv_reads_features_and_labels(small_csv):
    path, X, _ = small_csv
    X_read, y_read, names = load_csv(str(path), "label")
    assert names == ["f0", "f1", "f2", "f3"]
    assert_allclose(X_read, X * [1, 10, 100, 1000], rtol=1e-15)
    assert set(y_read) == {"cat", "dog", "eel"}


def test_load_csv_parses_numeric_labels(tmp_path):
    path = tmp_path / "num.csv"
    path.write_text("y,a\n1,0.5\n2,1.5\n1,2\n")
    X, y, _ = load_csv(str(path), "y")
    assert y.dtype.kind == "i"
    assert_allclose(X, [[0.5], [1.5], [2.0]])


def test_demo_on_a_csv(small_csv, capsys):
    path, _, _ = small_csv
    status = main([
        "--data", str(path), "--target", "label", "--cv", "3",
        "--grid", "0.1", "1",
    ])
    assert status == 0
    out = capsys.readouterr().out
    assert "60 samples, 4 features, 3 classes" in out
    assert "GridSearchCV over C in {0.1, 1}" in out
    for table_header in ("accuracy", "log-loss", "fit time", "iterations",
                         "objective"):
        assert table_header in out
    # Two tables, two models each.
    assert out.count("SoftmaxClassifier") == 2
    assert out.count("LogisticRegression") == 2


def test_demo_on_a_binary_csv(tmp_path, capsys):
    X, y = make_classification(n_samples=40, n_features=3, n_informative=2,
                               n_redundant=0, random_state=1)
    path = _write_csv(tmp_path / "bin.csv", X, y, target="t", target_position=3)
    assert main(["--data", str(path), "--target", "t", "--cv", "2",
                 "--no-grid"]) == 0
    out = capsys.readouterr().out
    assert "2*C" in out
    assert "GridSearchCV" not in out


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda p: ["--data", str(p), "--target", "nope"], "'nope' not found"),
        (lambda p: ["--data", str(p.parent / "missing.csv"), "--target", "label"],
         "cannot read"),
        (lambda p: ["--data", str(p)], "--data needs --target"),
        (lambda p: ["--target", "label"], "--target needs --data"),
        (lambda p: ["--data", str(p), "--target", "label", "--cv", "1"],
         "--cv must be at least 2"),
        (lambda p: ["--data", str(p), "--target", "label", "--cv", "50"],
         "smallest class"),
    ],
)
def test_usage_errors_are_clear(small_csv, capsys, make_args, message):
    path, _, _ = small_csv
    with pytest.raises(SystemExit) as exc:
        main(make_args(path))
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_non_numeric_feature_is_reported(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,label\n1,2,x\n3,oops,y\n")
    with pytest.raises(SystemExit):
        main(["--data", str(path), "--target", "label"])
    err = capsys.readouterr().err
    assert "line 3" in err
    assert "'b'" in err
    assert "non-numeric value 'oops'" in err


def test_missing_feature_value_is_reported(tmp_path):
    path = tmp_path / "gap.csv"
    path.write_text("a,b,label\n1,2,x\n3,,y\n")
    with pytest.raises(ValueError, match=r"line 3 .* 'b' has a missing value"):
        load_csv(str(path), "label")


def test_ragged_row_is_reported(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,label\n1,x\n2\n")
    with pytest.raises(ValueError, match=r"line 3 .* 1 fields"):
        load_csv(str(path), "label")


def test_objective_matches_log_loss_plus_penalty():
    # The table's objective, checked against scikit-learn's log_loss.
    X, y = make_classification(n_samples=80, n_features=5, n_informative=3,
                               n_classes=3, random_state=2)
    C = 0.7
    clf = SoftmaxClassifier(C=C).fit(X, y)
    expected = log_loss(y, clf.predict_proba(X)) + np.sum(clf.coef_**2) / (
        2 * C * len(y)
    )
    assert_allclose(objective_value(X, y, *softmax_params(clf), C), expected,
                    rtol=1e-10)


def test_binary_logistic_regression_maps_to_the_same_objective():
    # LogisticRegression(C=2C) and the two-vector softmax with C share one
    # objective; (-w/2, w/2) has the same probabilities and penalty as w.
    X, y = make_classification(n_samples=80, n_features=4, random_state=3)
    C = 0.5
    lr = LogisticRegression(C=2 * C).fit(X, y)
    lr_objective = log_loss(y, lr.predict_proba(X)) + np.sum(lr.coef_**2) / (
        2 * (2 * C) * len(y)
    )
    coef, intercept = softmax_params(lr)
    assert coef.shape == (2, 4)
    assert_allclose(objective_value(X, y, coef, intercept, C), lr_objective,
                    rtol=1e-10)
    # At their optima both models reach (nearly) the same value.
    sm = SoftmaxClassifier(C=C, tol=1e-8, max_iter=1000).fit(X, y)
    assert_allclose(objective_value(X, y, *softmax_params(sm), C), lr_objective,
                    rtol=1e-4)
