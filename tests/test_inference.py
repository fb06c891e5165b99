"""Standard errors and tests: statsmodels, finite differences, simulation."""

import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sksoftmax import (
    InferenceResult,
    SoftmaxClassifier,
    SoftmaxClassifierCV,
    inference,
)
from sksoftmax._inference import MAX_PARAMS

TIGHT = {"C": np.inf, "tol": 1e-13, "max_iter": 20000, "max_fun": 100000}


def _sm():
    return pytest.importorskip("statsmodels.api")


def _softmax_data(n, coef, intercept, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, coef.shape[1]))
    Z = X @ coef.T + intercept
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (P.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return X, y


def _synthetic():
    coef = np.array([[0.5, -0.3, 0.2, 0.0, 0.4], [-0.2, 0.6, 0.0, 0.3, -0.1],
                     [0.1, 0.1, -0.5, 0.2, 0.3], [0.0, -0.2, 0.4, -0.4, 0.0]])
    return _softmax_data(2000, coef, np.array([0.2, -0.1, 0.3, 0.0]), seed=1)


def _iris_sepal_width():
    # All of iris is separable (setosa), so its MLE does not exist; sepal width
    # alone is not, nor are versicolor and virginica on all four features.
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X[:, [1]]), y


def _iris_two_classes():
    X, y = load_iris(return_X_y=True)
    X, y = X[y > 0], y[y > 0]
    return StandardScaler().fit_transform(X), y


def _anes96():
    sm = _sm()
    data = sm.datasets.anes96.load_pandas()
    return data.exog.to_numpy(), data.endog.to_numpy().astype(int)


DATASETS = {"anes96": _anes96, "iris-sepal-width": _iris_sepal_width,
            "iris-2-classes": _iris_two_classes, "synthetic-2000x5": _synthetic}


def _statsmodels_fit(X, y, cov_type="nonrobust", **kwargs):
    sm = _sm()
    model = sm.MNLogit(y, sm.add_constant(X, has_constant="add"))
    return model.fit(method="newton", maxiter=100, tol=1e-12, disp=0,
                     cov_type=cov_type, **kwargs)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0"])
@pytest.mark.parametrize("name", DATASETS)
def test_matches_statsmodels_unpenalized(name, cov_type):
    X, y = DATASETS[name]()
    ref = _statsmodels_fit(X, y, cov_type)
    assert ref.mle_retvals["converged"]
    clf = SoftmaxClassifier(**TIGHT).fit(X, y)
    res = inference(clf, X, y, cov_type=cov_type)
    assert isinstance(res, InferenceResult)
    assert res.reference_class == np.unique(y)[0]
    assert_allclose(res.params, ref.params, rtol=1e-5)
    assert_allclose(res.bse, ref.bse, rtol=1e-5)
    assert_allclose(res.zvalues, ref.tvalues, rtol=1e-5)
    assert_allclose(res.pvalues, ref.pvalues, rtol=1e-5, atol=1e-300)
    # statsmodels' array conf_int is (classes, variables, 2).
    assert_allclose(res.conf_int(), np.transpose(ref.conf_int(), (1, 0, 2)),
                    rtol=1e-5)
    assert_allclose(res.conf_int(0.1)[..., 1],
                    np.asarray(ref.conf_int(0.1))[..., 1].T, rtol=1e-5)
    assert_allclose(res.cov, ref.cov_params(), rtol=1e-5,
                    atol=1e-5 * np.abs(ref.cov_params()).max())


def test_reference_class_and_no_intercept_match_statsmodels():
    sm = _sm()
    X, y = _synthetic()
    # Class 2 first: statsmodels' reference is the smallest code.
    relabeled = np.choose(y, [1, 2, 0, 3])
    ref = sm.MNLogit(relabeled, X).fit(method="newton", tol=1e-12, disp=0)
    clf = SoftmaxClassifier(fit_intercept=False, **TIGHT).fit(X, y)
    res = inference(clf, X, y, reference_class=2)
    assert res.reference_class == 2
    assert_array_equal(res.classes, [0, 1, 3])
    assert res.names == ["x0", "x1", "x2", "x3", "x4"]
    assert_allclose(res.params, ref.params, rtol=1e-5)
    assert_allclose(res.bse, ref.bse, rtol=1e-5)


@pytest.mark.parametrize("C", [np.inf, 0.05])
def test_integer_weights_equal_repeated_rows(C):
    X, y = _synthetic()
    X, y = X[:300], y[:300]
    w = np.random.default_rng(0).integers(0, 4, len(y))
    rows = np.repeat(np.arange(len(y)), w)
    kw = {**TIGHT, "C": C}
    weighted = inference(SoftmaxClassifier(**kw).fit(X, y, sample_weight=w), X, y,
                         sample_weight=w)
    repeated = inference(SoftmaxClassifier(**kw).fit(X[rows], y[rows]),
                         X[rows], y[rows])
    # Two fits, each within its tol of the optimum.
    assert_allclose(weighted.params, repeated.params, rtol=1e-5, atol=1e-8)
    assert_allclose(weighted.cov, repeated.cov, rtol=1e-5,
                    atol=1e-6 * np.abs(repeated.cov).max())


def test_hc0_with_weights_is_clustered_by_row():
    # Each weighted row is one independent unit: the sandwich of the weighted
    # fit is the cluster-robust covariance of the repeated rows, clustered by
    # the row they repeat.
    X, y = _synthetic()
    X, y = X[:300], y[:300]
    w = np.random.default_rng(1).integers(1, 4, len(y))
    rows = np.repeat(np.arange(len(y)), w)
    ref = _statsmodels_fit(X[rows], y[rows], "cluster",
                           cov_kwds={"groups": rows, "use_correction": False})
    clf = SoftmaxClassifier(**TIGHT).fit(X, y, sample_weight=w)
    res = inference(clf, X, y, sample_weight=w, cov_type="HC0")
    assert_allclose(res.bse, ref.bse, rtol=1e-6)


def test_class_weight_and_ignore_label_as_in_fit():
    X, y = _synthetic()
    X, y = X[:400], y[:400]
    cw = {0: 2.0, 1: 0.5, 2: 1.0, 3: 3.0}
    clf = SoftmaxClassifier(class_weight=cw, C=0.1, tol=1e-12).fit(X, y)
    sw = np.array([cw[k] for k in y])
    ref_clf = SoftmaxClassifier(C=0.1, tol=1e-12).fit(X, y, sample_weight=sw)
    for cov_type in ["nonrobust", "HC0"]:
        res = inference(clf, X, y, cov_type=cov_type)
        ref = inference(ref_clf, X, y, sample_weight=sw, cov_type=cov_type)
        assert_allclose(res.cov, ref.cov, rtol=1e-6, atol=1e-8 * np.abs(ref.cov).max())
    # Ignored samples do not count: same as leaving them out.
    y_ign = np.where(np.arange(len(y)) % 5 == 0, -1, y)
    kept = y_ign != -1
    clf = SoftmaxClassifier(ignore_label=-1, **TIGHT).fit(X, y_ign)
    res = inference(clf, X, y_ign, cov_type="HC0")
    ref = inference(SoftmaxClassifier(**TIGHT).fit(X[kept], y[kept]), X[kept],
                    y[kept], cov_type="HC0")
    assert_allclose(res.params, ref.params, rtol=1e-6, atol=1e-8)
    assert_allclose(res.bse, ref.bse, rtol=1e-6)


def _penalized_objective_grad(D, X, y, s, C, K, ref):
    """Gradient of sum_i s_i CE_i + ||W||^2 / 2C over the contrasts, by hand.

    ``D`` holds the contrasts (intercept first) of the classes other than
    ``ref``; the symmetric coefficients are ``W = D_full - mean(D_full)``.
    """
    q = X.shape[1] + 1
    full = np.zeros((K, q))
    full[np.arange(K) != ref] = D.reshape(K - 1, q)
    Xt = np.hstack([np.ones((len(X), 1)), X])
    Z = Xt @ full.T
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    T = np.eye(K)[y]
    grad_full = ((P - T) * s[:, None]).T @ Xt
    W = full[:, 1:] - full[:, 1:].mean(axis=0)
    # d/dD of ||W||^2 / 2C with W = (I - J/K) D_full is (I - J/K) W / C = W / C.
    grad_full[:, 1:] += W / C
    return grad_full[np.arange(K) != ref].ravel()


@pytest.mark.parametrize("ref", [0, 2])
def test_penalized_covariance_is_inverse_hessian_in_contrasts(ref):
    # Finite differences of the penalized objective as a function of the
    # contrasts (the symmetric coefficients being the centred contrasts).
    X, y = _synthetic()
    X, y = X[:250, :3], y[:250]
    s = np.random.default_rng(2).uniform(0.5, 2.0, len(y))
    C = 0.02
    clf = SoftmaxClassifier(C=C, tol=1e-13).fit(X, y, sample_weight=s)
    # The derivation assumes the fitted W has class sums zero.
    assert_allclose(clf.coef_.sum(axis=0), 0, atol=1e-10)
    res = inference(clf, X, y, sample_weight=s, reference_class=ref)
    D = res.params.T.ravel()
    grad = _penalized_objective_grad(D, X, y, s, C, 4, ref)
    assert np.abs(grad).max() < 1e-6  # the fit is the optimum in contrasts too
    h = 1e-5
    H = np.column_stack([
        (_penalized_objective_grad(D + h * e, X, y, s, C, 4, ref)
         - _penalized_objective_grad(D - h * e, X, y, s, C, 4, ref)) / (2 * h)
        for e in np.eye(len(D))
    ])
    H_inv = np.linalg.inv((H + H.T) / 2)
    assert_allclose(res.cov, H_inv, rtol=1e-6, atol=1e-10)
    # The sandwich: per-sample scores s_i (p_i - t_i) x~_i of the data term.
    full = np.zeros((4, 4))
    full[np.arange(4) != ref] = D.reshape(3, 4)
    Xt = np.hstack([np.ones((len(X), 1)), X])
    Z = Xt @ full.T
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    scores = ((P - np.eye(4)[y]) * s[:, None])[:, np.arange(4) != ref]
    scores = (scores[:, :, None] * Xt[:, None, :]).reshape(len(X), -1)
    robust = inference(clf, X, y, sample_weight=s, reference_class=ref,
                       cov_type="HC0")
    assert_allclose(robust.cov, H_inv @ scores.T @ scores @ H_inv, rtol=1e-6,
                    atol=1e-10)


def test_two_classes_penalized_matches_logistic_regression_hessian():
    # Two classes: the contrast model is LogisticRegression(C=2C), whose
    # penalized Hessian is X~^T diag(s p (1-p)) X~ + diag(0, 1/(2C), ...).
    X, y = _iris_two_classes()
    C = 0.3
    clf = SoftmaxClassifier(C=C, tol=1e-13).fit(X, y)
    lr = LogisticRegression(C=2 * C, tol=1e-12, max_iter=10000).fit(X, y)
    res = inference(clf, X, y)
    assert_allclose(res.params[:, 0], np.r_[lr.intercept_, lr.coef_[0]],
                    rtol=1e-5)
    p = lr.predict_proba(X)[:, 1]
    Xt = np.hstack([np.ones((len(X), 1)), X])
    H = (Xt.T * (p * (1 - p))) @ Xt
    H += np.diag(np.r_[0.0, np.full(X.shape[1], 1 / (2 * C))])
    assert_allclose(res.cov, np.linalg.inv(H), rtol=1e-5)


def test_coverage_of_95_percent_intervals():
    # 200 data sets from a known softmax model; every interval of every
    # replicate: the coverage must be within 93-97%.
    coef = np.array([[0.0, 0.0], [0.8, -0.5], [-0.4, 0.6]])
    intercept = np.array([0.0, 0.3, -0.2])
    truth = np.hstack([(intercept - intercept[0])[1:, None], (coef - coef[0])[1:]]).T
    hits = {"nonrobust": [], "HC0": []}
    for seed in range(200):
        X, y = _softmax_data(250, coef, intercept, seed=1000 + seed)
        clf = SoftmaxClassifier(C=np.inf).fit(X, y)  # within 0.1 se (checked)
        for cov_type, hit in hits.items():
            ci = inference(clf, X, y, cov_type=cov_type).conf_int(0.05)
            hit.append((ci[..., 0] <= truth) & (truth <= ci[..., 1]))
    for cov_type, hit in hits.items():
        # Intervals 15% too narrow would cover 90% here.
        assert 0.93 <= np.mean(hit) <= 0.97, (cov_type, np.mean(hit))


def test_pipeline_applies_the_preceding_steps():
    pd = pytest.importorskip("pandas")
    X, y = _synthetic()
    frame = pd.DataFrame(X * [1, 10, 100, 0.1, 1] + 5, columns=list("abcde"))
    pipe = make_pipeline(StandardScaler(), SoftmaxClassifier(**TIGHT)).fit(frame, y)
    res = inference(pipe, frame, y)
    Xs = pipe[0].transform(frame)
    ref = inference(SoftmaxClassifier(**TIGHT).fit(Xs, y), Xs, y)
    assert res.names == ["const", "a", "b", "c", "d", "e"]
    assert_allclose(res.params, ref.params, rtol=1e-6, atol=1e-8)
    assert_allclose(res.bse, ref.bse, rtol=1e-6)
    # Steps without feature names out: x0, x1, ...
    from sklearn.preprocessing import FunctionTransformer

    pipe = make_pipeline(FunctionTransformer(np.tanh),
                         SoftmaxClassifier(**TIGHT)).fit(X, y)
    assert inference(pipe, X, y).names[1:3] == ["x0", "x1"]
    # A DataFrame straight to the estimator: its column names.
    clf = SoftmaxClassifier(**TIGHT).fit(frame, y)
    assert inference(clf, frame, y).names == ["const", *"abcde"]


def test_sparse_float32_and_dask_inputs():
    X, y = _synthetic()
    X = X[:500]
    y = y[:500]
    clf = SoftmaxClassifier(C=1.0, tol=1e-12).fit(X, y)
    ref = inference(clf, X, y, cov_type="HC0")
    res = inference(clf, sp.csr_matrix(X), y, cov_type="HC0")
    assert_allclose(res.cov, ref.cov, rtol=1e-10)
    # A float32 model: float64 arithmetic, results near the float64 ones.
    clf32 = SoftmaxClassifier(C=1.0, tol=1e-12).fit(X.astype(np.float32), y)
    res32 = inference(clf32, X.astype(np.float32), y)
    assert res32.cov.dtype == np.float64
    assert_allclose(res32.bse, inference(clf, X, y).bse, rtol=1e-4)
    da = pytest.importorskip("dask.array")
    res = inference(clf, da.from_array(X, chunks=100), da.from_array(y, chunks=100),
                    cov_type="HC0")
    assert_allclose(res.cov, ref.cov, rtol=1e-10)


def test_array_api_inputs_are_copied_to_numpy():
    torch = pytest.importorskip("torch")
    pytest.importorskip("array_api_compat")
    from sklearn import config_context

    X, y = _synthetic()
    X, y = X[:300], y[:300]
    w = np.random.default_rng(0).uniform(0.5, 2, len(y))
    ref = inference(SoftmaxClassifier(C=1.0, tol=1e-12).fit(X, y, sample_weight=w),
                    X, y, sample_weight=w)
    Xt, yt, wt = torch.asarray(X), torch.asarray(y), torch.asarray(w)
    with config_context(array_api_dispatch=True):
        clf = SoftmaxClassifier(C=1.0, tol=1e-12).fit(Xt, yt, sample_weight=wt)
        res = inference(clf, Xt, yt, sample_weight=wt)
    assert_allclose(res.cov, ref.cov, rtol=1e-6)
    # A Dask y and sample_weight are computed too.
    da = pytest.importorskip("dask.array")
    clf = SoftmaxClassifier(C=1.0, tol=1e-12).fit(X, y, sample_weight=w)
    res = inference(clf, X, da.from_array(y, chunks=100),
                    sample_weight=da.from_array(w, chunks=100))
    assert_allclose(res.cov, ref.cov, rtol=1e-6)


def test_soft_targets_and_label_smoothing_use_the_sandwich():
    X, y = _synthetic()
    X, y = X[:400], y[:400]
    onehot = np.eye(4)[y]
    soft = inference(SoftmaxClassifier(**TIGHT).fit(X, onehot), X, onehot,
                     cov_type="HC0")
    hard = inference(SoftmaxClassifier(**TIGHT).fit(X, y), X, y, cov_type="HC0")
    # Separate fits, each within its tol: entries near zero get an atol.
    assert_allclose(soft.cov, hard.cov, rtol=1e-5, atol=1e-6 * np.abs(hard.cov).max())
    # Smoothing the labels equals passing the smoothed matrix.
    eps = 0.1
    smoothed = (1 - eps) * onehot + eps / 4
    a = inference(SoftmaxClassifier(label_smoothing=eps, **TIGHT).fit(X, y), X, y,
                  cov_type="HC0")
    b = inference(SoftmaxClassifier(**TIGHT).fit(X, smoothed), X, smoothed,
                  cov_type="HC0")
    assert_allclose(a.cov, b.cov, rtol=1e-5, atol=1e-6 * np.abs(b.cov).max())
    with pytest.raises(ValueError, match="cov_type='nonrobust' assumes the labels"):
        inference(SoftmaxClassifier().fit(X, onehot), X, onehot)


def _caught(func, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = func(*args, **kwargs)
    return result, [str(w.message) for w in caught if w.category is UserWarning]


def test_collinear_and_constant_columns_give_nan_and_a_warning():
    X, y = _synthetic()
    X = X[:600, :3]
    y = y[:600]
    Xc = np.column_stack([X, 3 * X[:, 0], np.full(len(X), 7.0)])
    clf = SoftmaxClassifier(**TIGHT).fit(Xc, y)
    res, messages = _caught(inference, clf, Xc, y)
    assert len(messages) == 1
    assert "not identified" in messages[0] and "collinear" in messages[0]
    # x0, its multiple x3 and the constant x4 (with the intercept) are not
    # identified; x1, x2 are, and equal the fit without the extra columns.
    assert np.isnan(res.bse[[0, 1, 4, 5]]).all()
    ref = _statsmodels_fit(X, y)  # the same column space, of full rank
    assert_allclose(res.bse[[2, 3]], ref.bse[[2, 3]], rtol=1e-5)
    assert_allclose(res.pvalues[[2, 3]], ref.pvalues[[2, 3]], rtol=1e-5)
    assert np.isnan(res.cov[0]).all() and np.isnan(res.conf_int()[0]).all()
    # A penalty identifies everything.
    res, messages = _caught(inference, SoftmaxClassifier(C=1.0).fit(Xc, y), Xc, y)
    assert not messages and np.isfinite(res.bse).all()


def test_separated_classes_give_nan_and_a_warning():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = SoftmaxClassifier(C=np.inf).fit(X, y)
    res, messages = _caught(inference, clf, X, y)
    assert len(messages) == 1 and "separate the classes" in messages[0]
    # setosa (the reference) is separated from both other classes.
    assert np.isnan(res.bse).all() and np.isnan(res.pvalues).all()
    # A penalty makes the estimate finite and the covariance regular.
    res, messages = _caught(inference, SoftmaxClassifier(C=1.0).fit(X, y), X, y)
    assert not messages and np.isfinite(res.bse).all()


def test_quasi_separation_flags_only_the_separated_class():
    X, y = _synthetic()
    X, y = X[:500, :2], y[:500].copy()
    y[X[:, 0] > 1.0] = 4  # class 4 = exactly the samples with x0 > 1
    clf = SoftmaxClassifier(**TIGHT).fit(X, y)
    res, messages = _caught(inference, clf, X, y)
    assert any("separate the classes" in m for m in messages)
    assert np.isnan(res.bse[:, 3]).any()
    assert np.isfinite(res.bse[:, :3]).all()


def test_fit_far_from_the_optimum_warns():
    X, y = _synthetic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = SoftmaxClassifier(C=np.inf, max_iter=2).fit(X, y)
    _, messages = _caught(inference, clf, X, y)
    assert any("standard errors from the optimum" in m for m in messages)
    # The default tol is close enough on this problem.
    _, messages = _caught(inference, SoftmaxClassifier(C=np.inf).fit(X, y), X, y)
    assert not messages


def test_summary_text_and_frame():
    X, y = _iris_sepal_width()
    clf = SoftmaxClassifier(**TIGHT).fit(X, y)
    res = inference(clf, X, y)
    text = str(res.summary())
    assert "class 1 vs 0" in text and "class 2 vs 0" in text
    assert "const" in text and "P>|z|" in text and "[0.025" in text
    assert repr(res.summary(0.1)).count("[0.05") == 2
    pytest.importorskip("pandas")
    frame = res.summary().to_frame()
    assert frame.shape == (4, 6)
    assert_allclose(frame["coef"].to_numpy(), res.params.T.ravel())
    assert_allclose(frame["P>|z|"].to_numpy(), res.pvalues.T.ravel())
    z = stats.norm.ppf(0.975)
    assert_allclose(frame["0.975]"].to_numpy(), (res.params + z * res.bse).T.ravel())


@pytest.mark.parametrize(
    ("attr", "value", "match"),
    [("l1_ratio", 0.5, "l1_ratio=0.5.*L1 penalty"),
     ("coef_bounds", (-1, 1), "constrained fits"),
     ("positive", True, "constrained fits")],
)
def test_refuses_nonsmooth_or_constrained_fits(attr, value, match):
    X, y = _iris_sepal_width()
    clf = SoftmaxClassifier().fit(X, y)
    setattr(clf, attr, value)
    with pytest.raises(ValueError, match=match):
        inference(clf, X, y)
    setattr(clf, attr, 0.0 if attr == "l1_ratio" else None)
    inference(clf, X, y)


def test_penalty_factor_scales_the_penalty():
    # penalty_factor (another branch adds it to the estimator) multiplies each
    # feature's penalty: factors of 2 with C equal no factors with C / 2.
    X, y = _synthetic()
    X, y = X[:300], y[:300]
    clf = SoftmaxClassifier(C=0.5, tol=1e-12).fit(X, y)
    ref = inference(clf, X, y)
    clf.C, clf.penalty_factor = 1.0, np.full(X.shape[1], 2.0)
    assert_allclose(inference(clf, X, y).cov, ref.cov, rtol=1e-10)
    # No penalty: l1_ratio does not matter.
    clf = SoftmaxClassifier(**TIGHT).fit(X, y)
    ref = inference(clf, X, y)
    clf.l1_ratio = 1.0
    assert_allclose(inference(clf, X, y).cov, ref.cov)


def _fitted_sepal():
    X, y = _iris_sepal_width()
    return SoftmaxClassifier().fit(X, y), X, y


def _with_attr(name, value):
    clf, X, y = _fitted_sepal()
    setattr(clf, name, value)
    return inference(clf, X, y)


def _soft_nonrobust():
    X, y = _iris_sepal_width()
    onehot = np.eye(3)[y]
    return inference(SoftmaxClassifier().fit(X, onehot), X, onehot)


def _too_many_params():
    X = np.random.default_rng(0).normal(size=(6, MAX_PARAMS // 2))
    y = np.arange(6) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = SoftmaxClassifier(max_iter=1).fit(X, y)
    return inference(clf, X, y)


def _call(**kwargs):
    clf, X, y = _fitted_sepal()
    return inference(clf, X, y, **kwargs)


def _other_data(transform):
    clf, X, y = _fitted_sepal()
    return inference(clf, *transform(X, y))


def _dask_unknown_size():
    da = pytest.importorskip("dask.array")
    clf, X, y = _fitted_sepal()
    Xd = da.from_array(X, chunks=50)
    return inference(clf, Xd[Xd[:, 0] > -100], y)  # rows of unknown number


# (row of docs/bad_input.rst, call, exception, message pattern)
BAD_CALLS = [
    ("an estimator that is not a SoftmaxClassifier (or a Pipeline ending in one)",
     lambda: inference(LogisticRegression(), *_iris_sepal_width()), ValueError,
     "must be a fitted SoftmaxClassifier"),
    ("an estimator that is not fitted",
     lambda: inference(SoftmaxClassifier(), *_iris_sepal_width()), NotFittedError,
     "is not fitted yet"),
    ("a fit with l1_ratio > 0", lambda: _with_attr("l1_ratio", 0.5), ValueError,
     "l1_ratio=0.5.*L1 penalty"),
    ("a fit with coefficient bounds or positive=True",
     lambda: _with_attr("coef_bounds", (-1, 1)), ValueError,
     "does not support constrained fits"),
    ("cov_type='nonrobust' with soft targets or label smoothing", _soft_nonrobust,
     ValueError, "cov_type='nonrobust' assumes the labels"),
    ("more than MAX_PARAMS parameters", _too_many_params, ValueError,
     f"rows, more than MAX_PARAMS={MAX_PARAMS}"),
    ("an unknown cov_type", lambda: _call(cov_type="HC1"), ValueError,
     "cov_type must be one of"),
    ("a reference_class that is not a class", lambda: _call(reference_class=7),
     ValueError, "reference_class=7 is not one of"),
    ("y whose classes differ from the fit's",
     lambda: _other_data(lambda X, y: (X[y < 2], y[y < 2])), ValueError,
     "y has the classes \\[0, 1\\]"),
    ("X with other features than the fit's",
     lambda: _other_data(lambda X, y: (np.hstack([X, X]), y)), ValueError,
     "X has 2 features"),
    ("a Dask X of more than 2**27 elements (or of unknown size)",
     _dask_unknown_size, ValueError,
     "X is a Dask collection of .* elements \\(or of unknown size\\)"),
    ("conf_int(alpha) with alpha outside (0, 1)",
     lambda: _call().conf_int(alpha=1.5), ValueError, "alpha must be a number in"),
]


@pytest.mark.parametrize(("doc", "call", "exc", "match"), BAD_CALLS,
                         ids=[c[0] for c in BAD_CALLS])
def test_bad_arguments(doc, call, exc, match):
    with pytest.raises(exc, match=match) as info:
        call()
    assert type(info.value) is exc


def test_bad_input_page_lists_every_case():
    page = Path(__file__).resolve().parents[1] / "docs" / "bad_input.rst"
    if not page.exists():  # pragma: no cover - docs not shipped
        pytest.skip("docs/bad_input.rst is not in this checkout")
    text = " ".join(page.read_text().split())
    missing = [doc for doc, *_ in BAD_CALLS if doc not in text]
    assert not missing, f"docs/bad_input.rst lacks rows for: {missing}"


def test_cross_validated_model_uses_the_chosen_penalty():
    # SoftmaxClassifierCV has no fitted C of its own: inference reads C_ and
    # l1_ratio_, so it equals inference on a plain fit at the chosen C.
    X, y = _synthetic()
    X = StandardScaler().fit_transform(X)
    tight = {"tol": 1e-12, "max_iter": 20000}
    cv = SoftmaxClassifierCV(Cs=[0.01, 0.1, 1.0], cv=3, **tight).fit(X, y)
    res = inference(cv, X, y)
    ref = inference(SoftmaxClassifier(C=cv.C_, **tight).fit(X, y), X, y)
    assert res.C == cv.C_
    assert_allclose(res.params, ref.params, rtol=1e-6, atol=1e-8)
    assert_allclose(res.bse, ref.bse, rtol=1e-6)
    # Averaged fold coefficients optimize no objective: refused.
    averaged = SoftmaxClassifierCV(Cs=[0.1, 1.0], cv=3, refit=False).fit(X, y)
    with pytest.raises(ValueError, match="refit=False"):
        inference(averaged, X, y)


def test_separated_clusters_give_nan_and_a_warning():
    # Two clusters 10 apart, no penalty: completely separated, yet the Hessian
    # is uniformly small rather than ill-conditioned.
    rng = np.random.default_rng(1)
    X = np.r_[rng.normal(size=(50, 2)), rng.normal(size=(50, 2)) + 10]
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = SoftmaxClassifier(C=np.inf).fit(X, y)
    res, messages = _caught(inference, clf, X, y)
    assert any("separate the classes" in m for m in messages)
    assert np.isnan(res.bse).all()


def _near_collinear(level):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 3))
    coef = rng.normal(size=(4, 3)) * 5
    Z = X @ coef.T
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (P.cumsum(axis=1) > rng.random((1000, 1))).argmax(axis=1)
    noise = rng.normal(size=1000)
    return np.column_stack([X, X[:, 0] + level * noise]), y


@pytest.mark.parametrize("level", [1e-4, 3e-5, 1e-5])
def test_near_collinear_columns_lose_only_their_own_errors(level):
    sm = _sm()
    X, y = _near_collinear(level)
    clf = SoftmaxClassifier(C=np.inf).fit(X, y)
    res, messages = _caught(inference, clf, X, y)
    assert any("not identified" in m for m in messages)
    # x0 and its near copy x3 are NaN; const, x1, x2 keep their errors, equal
    # to statsmodels' inverse Hessian at the same parameters.
    assert np.isnan(res.bse[[1, 4]]).all()
    H = sm.MNLogit(y, sm.add_constant(X)).hessian(res.params.T.ravel())
    bse = np.sqrt(np.diag(np.linalg.inv(-H))).reshape(3, 5).T
    assert_allclose(res.bse[[0, 2, 3]], bse[[0, 2, 3]], rtol=1e-6)


def test_default_tol_gives_the_mle():
    # The fit stops within its tol; inference polishes it to the optimum.
    sm = _sm()
    data = sm.datasets.anes96.load_pandas()
    X, y = data.exog, data.endog.astype(int)
    ref = _statsmodels_fit(X, y)
    res = inference(SoftmaxClassifier(C=np.inf).fit(X, y), X, y)
    assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=0, atol=1e-6)
    assert_allclose(res.bse.to_numpy(), ref.bse.to_numpy(), rtol=0, atol=1e-6)
    # Labelled like statsmodels' results.
    assert list(res.params.index) == list(ref.params.index)
    assert list(res.bse.columns) == [1, 2, 3, 4, 5, 6]
    assert res.conf_int().shape == (36, 2)
    assert_allclose(res.cov.to_numpy(), ref.cov_params().to_numpy(), rtol=1e-6,
                    atol=1e-9)
    # NumPy input: NumPy output.
    res = inference(SoftmaxClassifier(C=np.inf).fit(X.to_numpy(), y), X.to_numpy(), y)
    assert isinstance(res.params, np.ndarray) and isinstance(res.cov, np.ndarray)


@pytest.mark.parametrize("C", [0.05, np.inf])
def test_loose_and_unconverged_fits_are_polished(C):
    X, y = _synthetic()
    tight = inference(SoftmaxClassifier(**{**TIGHT, "C": C}).fit(X, y), X, y)
    for kw in ({"tol": 1e-2}, {"max_iter": 3}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = SoftmaxClassifier(C=C, **kw).fit(X, y)
        res, _ = _caught(inference, clf, X, y)
        assert_allclose(res.params, tight.params, rtol=1e-7, atol=1e-9)
        assert_allclose(res.bse, tight.bse, rtol=1e-7)


def test_other_data_raise():
    X, y = _synthetic()
    X2, _ = _softmax_data(2000, np.zeros((4, 5)), np.zeros(4), seed=7)
    clf = SoftmaxClassifier().fit(X, y)
    with pytest.raises(ValueError, match="not the data of the fit"):
        inference(clf, X2, y)
    # A cross-validated model records no loss_: the polishing step tells.
    cv = SoftmaxClassifierCV(Cs=[1.0, 10.0], cv=3, tol=1e-10).fit(X, y)
    with pytest.raises(ValueError, match="not the data of the fit"):
        inference(cv, X2, y)
