"""The command-line demo ``python -m sksoftmax`` (sksoftmax/_demo.py)."""

import io
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold, cross_val_score

from sksoftmax import SoftmaxClassifier
from sksoftmax._demo import (
    cross_validation_table,
    format_grid_table,
    load_csv,
    main,
    summarize_cv,
)
from sksoftmax._problem import objective_function


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
    assert len(re.findall(r"^SoftmaxClassifier +\d", out, re.M)) == 2
    assert len(re.findall(r"^LogisticRegression +\d", out, re.M)) == 2


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
    assert_allclose(objective_function(X, y, C)(clf.coef_, clf.intercept_),
                    expected,
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
    assert lr.coef_.shape == (1, 4)
    assert_allclose(objective_function(X, y, C)(lr.coef_, lr.intercept_),
                    lr_objective, rtol=1e-10)
    # At their optima both models reach (nearly) the same value.
    sm = SoftmaxClassifier(C=C, tol=1e-8, max_iter=1000).fit(X, y)
    assert_allclose(objective_function(X, y, C)(sm.coef_, sm.intercept_),
                    lr_objective,
                    rtol=1e-4)


# --- issue 15: the demo tells its story -------------------------------------


def test_demo_explains_columns_direction_and_what_differs(small_csv, capsys):
    path, _, _ = small_csv
    assert main(["--data", str(path), "--target", "label", "--cv", "3",
                 "--grid", "0.1", "1"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    # What the tables are for, and each column with its direction.
    assert "same objective" in out and "fold noise" in out
    for legend in ("higher accuracy and lower log-loss are better",
                   "fit time seconds per fit (lower is better)",
                   "Lower is better; the optimum is the lowest value",
                   "above best how far above the lower of the two objectives",
                   "warned fits that raised a ConvergenceWarning"):
        assert legend in out, legend
    # The summary: accuracy and log-loss against the fold spread, objective,
    # iterations, warnings and time of each model.
    assert re.search(r"What differs: - accuracy: (the same|\w+ [0-9.]+ "
                     r"(higher|lower), (less|more) than the standard "
                     r"deviation across folds)", out)
    assert re.search(r"SoftmaxClassifier reached .* in \d+ iterations", out)
    assert re.search(r"LogisticRegression reached .* in \d+ iterations", out)
    assert re.search(r"time: \w+ [0-9.]+ s per fit", out)
    # The grid: what each column is, no claim that the CV means are the refit's.
    assert "objective of the refit on all the data" not in out
    assert "at that C: mean (standard deviation) over the folds" in out
    assert "refit objective of the model refitted on all the data" in out


def test_fold_standard_deviation_is_that_of_the_folds():
    X, y = make_classification(n_samples=90, n_features=5, n_informative=3,
                               n_classes=3, random_state=4)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    rows = cross_validation_table(X, y, folds, 1.0, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for row, model in zip(rows, (SoftmaxClassifier(), LogisticRegression()),
                              strict=True):
            scores = cross_val_score(model, X, y, cv=folds)
            assert_allclose(row["accuracy"], np.mean(scores))
            assert_allclose(row["accuracy_std"], np.std(scores))
            assert row["n_fits"] == 3


def test_warned_counts_the_convergence_warnings(small_csv, capsys):
    path, _, _ = small_csv
    main(["--data", str(path), "--target", "label", "--cv", "3", "--no-grid",
          "--max-iter", "1"])
    out = capsys.readouterr().out
    for model in ("SoftmaxClassifier", "LogisticRegression"):
        assert re.search(rf"^{model} .* 3 of 3$", out, re.M), out


def _cv_row(model, accuracy, std, objective, warned=0, fit_time=0.1):
    return {"model": model, "accuracy": accuracy, "accuracy_std": std,
            "log_loss": 0.1, "log_loss_std": 0.01, "fit_time": fit_time,
            "n_iter": 30.0, "objective": objective, "warned": warned,
            "n_fits": 5}


def test_summary_shows_the_reference_winning_when_it_does():
    # No cherry-picking: LR's higher accuracy is reported, and called noise
    # only when it is smaller than the spread across folds.
    rows = [_cv_row("SoftmaxClassifier", 0.90, 0.01, 0.5),
            _cv_row("LogisticRegression", 0.95, 0.01, 0.6, warned=5,
                    fit_time=0.05)]
    text = " ".join(summarize_cv(rows).split())
    assert ("accuracy: LogisticRegression 0.0500 higher, more than the "
            "standard deviation across folds (0.0100)") in text
    assert "with a ConvergenceWarning in 5 of 5 fits" in text
    assert "time: LogisticRegression 0.050 s per fit" in text
    rows[1]["accuracy"] = 0.905
    text = " ".join(summarize_cv(rows).split())
    assert "LogisticRegression 0.0050 higher, less than" in text
    assert "within fold noise" in text


def _grid_row(model, objective, refit_warned, max_iter=100):
    return {"model": model, "best_C": 0.1, "log_loss": 0.1, "log_loss_std": 0.02,
            "accuracy": 0.97, "accuracy_std": 0.01, "time": 1.0,
            "objective": objective, "refit_warned": refit_warned, "warned": 3,
            "n_fits": 9, "max_iter": max_iter}


def test_grid_table_marks_and_footnote():
    text = format_grid_table([
        _grid_row("SoftmaxClassifier", 0.03891, False, 1000),
        _grid_row("LogisticRegression", 0.04042, True)])
    # The mark stands apart from the number, after the gap; the footnote names
    # the one model whose refit stopped, and its limit.
    assert re.search(r"0\.04042 +\+3\.9% \*", text)
    footnote = " ".join(text.split("\n  * ", 1)[1].split())
    assert footnote.startswith("LogisticRegression's refit stopped at "
                               "max_iter=100, scikit-learn's default")
    assert "its objective is" in footnote and "SoftmaxClassifier" not in footnote
    text = format_grid_table([_grid_row("SoftmaxClassifier", 0.05, True, 7),
                              _grid_row("LogisticRegression", 0.04, True, 7)], 7)
    footnote = " ".join(text.split("\n  * The", 1)[1].split())
    assert ("refits of SoftmaxClassifier (max_iter=7) and LogisticRegression "
            "(max_iter=7) stopped") in footnote
    assert "their objectives are" in footnote
    assert "*" not in format_grid_table([_grid_row("SoftmaxClassifier", 0.05,
                                                   False)] * 2)


@pytest.mark.parametrize("objectives", [(0.03891, 0.04042), (0.5, 0.0012),
                                        (1.25, 2.5)])
def test_grid_table_columns_align(objectives):
    # Each row's numbers start where the header's columns do ("0.03891 best"
    # and "0.04042 +3.9% *" once started one column apart).
    rows = [_grid_row("SoftmaxClassifier", objectives[0], False),
            _grid_row("LogisticRegression", objectives[1], True)]
    lines = format_grid_table(rows).splitlines()[:3]
    assert len({len(line) for line in lines}) == 1, lines
    header, *table = lines
    for value in objectives:
        line = next(line for line in table if f"{value:.5f}" in line)
        assert line.index(f"{value:.5f}") == header.index("refit objective")


def test_demo_says_how_many_threads_each_model_runs_on(small_csv, capsys):
    from sksoftmax._executor import available_threads

    path, _, _ = small_csv
    args = ["--data", str(path), "--target", "label", "--cv", "3", "--no-grid"]
    main(args)
    out = " ".join(capsys.readouterr().out.split())
    assert "Threads: each library's default." in out
    assert f"row blocks on {available_threads()} threads of its own" in out
    main([*args, "--threads", "1"])
    out = " ".join(capsys.readouterr().out.split())
    assert "Threads: both models on 1 (--threads)" in out
    with pytest.raises(SystemExit):
        main([*args, "--threads", "0"])
    assert "--threads must be at least 1" in capsys.readouterr().err


def test_demo_runs_logistic_regression_at_its_default_threads(monkeypatch):
    # No thread limit around the experiments unless --threads asks for one:
    # the BLAS pools LogisticRegression sees are the installation's.
    from threadpoolctl import threadpool_info

    import sksoftmax._demo as demo

    seen = {}

    def record(*args):
        seen["blas"] = sorted(i["num_threads"] for i in threadpool_info()
                              if i["user_api"] == "blas")

    before = sorted(i["num_threads"] for i in threadpool_info()
                    if i["user_api"] == "blas")
    monkeypatch.setattr(demo, "_run_experiments", record)
    X, y = make_classification(n_samples=30, n_classes=3, n_informative=3,
                               random_state=0)
    demo.run(X, y, title="t", cv=3, out=io.StringIO())
    assert seen["blas"] == before
    demo.run(X, y, title="t", cv=3, out=io.StringIO(), threads=1)
    assert set(seen["blas"]) == {1}


# --- issue 15: the CSV mode ---------------------------------------------------


def test_pandas_index_column_is_dropped_with_a_note(tmp_path, capsys):
    # Wine is sorted by class: the row number written by to_csv() is a label
    # leak (issue 15: accuracy 0.955 -> 0.989 with it as a 14th feature).
    pd = pytest.importorskip("pandas")
    frame = load_wine(as_frame=True).frame
    with_index = tmp_path / "wine_index.csv"
    without = tmp_path / "wine.csv"
    frame.to_csv(with_index)
    frame.to_csv(without, index=False)
    args = ["--target", "target", "--cv", "3", "--no-grid"]
    main(["--data", str(with_index), *args])
    out_index = capsys.readouterr().out
    main(["--data", str(without), *args])
    out_plain = capsys.readouterr().out
    assert "Dropped column 1, (unnamed): it holds the row numbers 0..177" in (
        " ".join(out_index.split()))
    assert "13 features" in out_index and "14 features" not in out_index

    def accuracies(out):
        return re.findall(r"^(\w+) +([0-9.]+ \([0-9.]+\))", out, re.M)

    assert accuracies(out_index) == accuracies(out_plain)
    # Read back and written again by pandas, the index is named "Unnamed: 0".
    again = tmp_path / "again.csv"
    pd.read_csv(with_index).to_csv(again, index=False)
    _, _, names = load_csv(str(again), "target", notes=(notes := []))
    assert "Unnamed: 0" not in names and len(names) == 13
    assert any("Dropped column 1, Unnamed: 0" in note for note in notes)


def test_drop_leaves_columns_out(small_csv, tmp_path, capsys):
    path, _, _ = small_csv
    _, _, names = load_csv(str(path), "label", drop=["f1", "f3"])
    assert names == ["f0", "f2"]
    assert main(["--data", str(path), "--target", "label", "--cv", "3",
                 "--no-grid", "--drop", "f1,f3"]) == 0
    assert "2 features" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--data", str(path), "--target", "label", "--drop", "nope"])
    assert "--drop names columns that are not in the file: 'nope'" in (
        capsys.readouterr().err)


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_delimiter_is_detected_and_printed(tmp_path, capsys, sep):
    X, y = make_classification(n_samples=30, n_features=3, n_informative=2,
                               n_redundant=0, random_state=5)
    lines = [sep.join(["a", "b", "c", "label"])]
    lines += [sep.join([*(repr(float(v)) for v in row), str(t)])
              for row, t in zip(X, y, strict=True)]
    path = tmp_path / "data.csv"
    path.write_text("\n".join(lines) + "\n")
    notes = []
    X_read, _, names = load_csv(str(path), "label", notes=notes)
    assert names == ["a", "b", "c"]
    assert_allclose(X_read, X)
    assert notes == [f"Delimiter {sep!r} (detected; set it with --sep)."]
    # Given explicitly, nothing is detected; a wrong one is hinted at.
    notes = []
    load_csv(str(path), "label", sep=sep, notes=notes)
    assert notes == []
    with pytest.raises(ValueError, match="is the delimiter ',' right"):
        load_csv(str(path), "label", sep=",")


def test_continuous_target_is_named_as_such(tmp_path, capsys):
    path = tmp_path / "reg.csv"
    rng = np.random.default_rng(0)
    path.write_text("x,y\n" + "\n".join(f"{a},{a * 2 + 0.01}" for a in
                                          rng.normal(size=40)) + "\n")
    with pytest.raises(SystemExit):
        main(["--data", str(path), "--target", "y"])
    err = " ".join(capsys.readouterr().err.split())
    assert "column 'y' looks continuous: 40 distinct values among 40 rows" in err
    assert "np." not in err


@pytest.mark.parametrize(("labels", "shown"), [
    (["a"] * 10 + ["class_2"], "'class_2'"), ([7] * 10 + [5], "(5)")])
def test_messages_show_plain_values(tmp_path, capsys, labels, shown):
    path = tmp_path / "small.csv"
    path.write_text("x,label\n" + "\n".join(f"{i},{v}" for i, v in
                                              enumerate(labels)) + "\n")
    with pytest.raises(SystemExit):
        main(["--data", str(path), "--target", "label", "--cv", "3"])
    err = " ".join(capsys.readouterr().err.split())
    assert shown in err and "np." not in err
    assert "needs at least 3 per class" in err and "--cv samples" not in err
