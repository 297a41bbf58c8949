"""The six baselines of paper 002 and the plain classifier, behind one protocol.

Every class follows the protocol of ``fairnb.paper002.classifier`` (fairlearn's conventions):
``fit(X, y, *, sensitive_features, validation=None)`` returns self, ``predict(X, *,
sensitive_features)`` returns int labels (n,), ``predict_proba`` the probability of the
favourable label where the method has one; X holds max-abs scaled features *without* the
sensitive attribute, y is 1 for the favourable label, sensitive_features 1 for the privileged
group. ``validation`` ``(X_val, y_val, sensitive_features_val)`` is used by the post-processing
method (fit on validation scores, as in the paper) and for early stopping of the neural classifiers.
The sensitive features are read at prediction time only by methods that use the group by design
(disparate impact repair, calibrated equalised odds).

Which fairness definition each method targets (``TARGETS``):

- ``Reweighing`` (Kamiran & Calders 2012) — demographic parity: weight P(A=a)P(Y=y)/P(A=a, Y=y)
  makes the label independent of the group in the weighted training data; logistic regression.
- ``DisparateImpactRemover`` (Feldman et al. 2015) — demographic parity (disparate impact), repair
  level 1.0: each feature value is replaced by the median, over groups, of the groups' quantile
  functions at the value's rank in its own group ("per-group quantile repair"); logistic
  regression on repaired features.
- ``CalibratedEqOdds`` (Pleiss et al. 2017) — equalised odds under calibration, cost constraint
  "weighted": a share of one group's scores is replaced by that group's base rate so that both
  groups' weighted costs (generalised FPR·(1 − base rate) + generalised FNR·base rate) match; fit
  on validation scores of a logistic regression, as AIF360's ``CalibratedEqOddsPostprocessing``
  (same seed, same predictions: ``tests/test_peers_aif360.py``).
- ``MetaFairClassifier`` (Celis et al. 2019) — false discovery rate parity (``fdr``, the paper's
  setting) or statistical rate (``sr``), τ = 0.8: AIF360's ``MetaFairClassifier`` ported line by line
  (a Gaussian model of (x, y, a), a grid of fairness intervals, gradient descent on the dual); same
  seed, same predictions as AIF360 (``tests/test_peers_aif360.py``).
- ``AdversarialDebiasing`` (Zhang, Lemoine & Mitchell 2018) — equalised odds: AIF360's TensorFlow-1
  ``AdversarialDebiasing`` ported to PyTorch: one hidden layer of 200 units, adversary weight
  α = 0.1, an adversary that sees the classifier's logit *and the true label*, the projection term
  of Zhang et al., 50 epochs in the paper. (Not compared with AIF360 in the test suite: that needs
  TensorFlow.)
- ``LAFTR`` (Madras et al. 2018), ``WeightedDemParWassGan`` — demographic parity: encoder,
  classifier and adversary MLPs with one LeakyReLU hidden layer; the encoder and classifier
  minimise class_coeff·CE − fair_coeff·L_adv, the adversary minimises L_adv, the group-balanced L1
  ("Wasserstein") error of predicting a from the representation.
- ``PlainClassifier``: the paper's classifier C trained on the raw training rows ("Baseline").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as tf
from sklearn.linear_model import LogisticRegression
from torch import nn

from fairnb.errors import ParameterError, TrainingDivergedError, one_of
from fairnb.paper002.classifier import ClassifierSettings, ClassifierTraining, FairClassifierBase, Validation

# the fairness definition each method is built to improve (the behavioural test checks this direction)
TARGETS = {
    "reweighing": "demographic parity",
    "disparate_impact_remover": "demographic parity",
    "calibrated_eq_odds": "equalised odds",
    "meta_fair_classifier": "false discovery rate parity",
    "adversarial_debiasing": "equalised odds",
    "laftr": "demographic parity",
    "baseline": "none",
}


def _logistic(seed: int) -> LogisticRegression:
    return LogisticRegression(max_iter=1000, random_state=seed)


def _check_int(name: str, value: Any, low: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ParameterError(name, value, f"an int >= {low}")


def _check_float(name: str, value: Any, low: float, high: float = math.inf, text: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
        raise ParameterError(name, value, text or (f"a float in [{low:g}, {high:g}]" if math.isfinite(high) else f"a finite float >= {low:g}"))


# --------------------------------------------------------------------------- Reweighing


def reweighing_weights(y: np.ndarray, sensitive_features: np.ndarray) -> np.ndarray:
    """Kamiran & Calders weights (n,): P(A=a)·P(Y=y) / P(A=a, Y=y) of each row's cell."""
    y, a = np.asarray(y), np.asarray(sensitive_features)
    weights = np.zeros(len(y), dtype=np.float64)
    for g in (0, 1):
        for label in (0, 1):
            cell = (a == g) & (y == label)
            if cell.any():
                weights[cell] = (a == g).mean() * (y == label).mean() / cell.mean()
    return weights


class Reweighing(FairClassifierBase):
    """Reweighing pre-processing + logistic regression trained with the weights (``weights_``)."""

    name = "reweighing"

    def __init__(self, *, seed: int = 0):
        self.seed = seed

    def fit(self, X, y, *, sensitive_features, validation: Validation | None = None) -> "Reweighing":
        X, y, s, _ = self._check_fit(X, y, sensitive_features, validation)
        self.weights_ = reweighing_weights(y, s)
        self.model_ = _logistic(self.seed).fit(X, y, sample_weight=self.weights_)
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X, *, sensitive_features) -> np.ndarray:
        X, _ = self._check_predict(X, sensitive_features)
        return self.model_.predict_proba(X)[:, 1]

    def predict(self, X, *, sensitive_features) -> np.ndarray:
        X, _ = self._check_predict(X, sensitive_features)
        return self.model_.predict(X).astype(np.int64)


# --------------------------------------------------------------------------- Disparate impact remover


class QuantileRepair:
    """Feldman et al.'s geometric repair at level λ ∈ [0, 1] fitted on training columns.

    For a value v in group g: q = its mid-rank quantile in g's training column, the repaired
    value is (1 − λ)·v + λ·median_g' Q_g'(q) (Q_g' the empirical quantile function of group g').
    With λ = 1 both groups' repaired columns share one distribution, so the group can no longer be
    read off any single feature's marginal.
    """

    def __init__(self, repair_level: float = 1.0):
        _check_float("repair_level", repair_level, 0.0, 1.0)
        self.repair_level = float(repair_level)

    def fit(self, X: np.ndarray, *, sensitive_features: np.ndarray) -> "QuantileRepair":
        self.sorted_ = {g: np.sort(X[sensitive_features == g], axis=0) for g in (0, 1)}
        return self

    def transform(self, X: np.ndarray, *, sensitive_features: np.ndarray) -> np.ndarray:
        out = np.array(X, dtype=np.float64, copy=True)
        for g in (0, 1):
            rows = sensitive_features == g
            if not rows.any():
                continue
            ref = self.sorted_[g]
            for j in range(X.shape[1]):
                values = X[rows, j]
                # mid-rank quantile: ties share the centre of their run (binary columns map sensibly)
                low = np.searchsorted(ref[:, j], values, side="left")
                high = np.searchsorted(ref[:, j], values, side="right")
                q = np.clip((low + high) / 2.0 / len(ref), 0.0, 1.0)
                targets = np.stack([np.quantile(self.sorted_[h][:, j], q) for h in (0, 1)])
                out[rows, j] = (1 - self.repair_level) * values + self.repair_level * np.median(targets, axis=0)
        return out


class DisparateImpactRemover(FairClassifierBase):
    """Quantile repair of every feature (repair level 1.0) then logistic regression; the group is not a feature."""

    name = "disparate_impact_remover"

    def __init__(self, repair_level: float = 1.0, *, seed: int = 0):
        _check_float("repair_level", repair_level, 0.0, 1.0)
        self.repair_level = repair_level
        self.seed = seed

    def fit(self, X, y, *, sensitive_features, validation: Validation | None = None) -> "DisparateImpactRemover":
        X, y, s, _ = self._check_fit(X, y, sensitive_features, validation)
        self.repair_ = QuantileRepair(self.repair_level).fit(X, sensitive_features=s)
        self.model_ = _logistic(self.seed).fit(self.repair_.transform(X, sensitive_features=s), y)
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X, *, sensitive_features) -> np.ndarray:
        X, s = self._check_predict(X, sensitive_features)
        return self.model_.predict_proba(self.repair_.transform(X, sensitive_features=s))[:, 1]

    def predict(self, X, *, sensitive_features) -> np.ndarray:
        X, s = self._check_predict(X, sensitive_features)
        return self.model_.predict(self.repair_.transform(X, sensitive_features=s)).astype(np.int64)


# --------------------------------------------------------------------------- Calibrated equalised odds


def weighted_cost(scores: np.ndarray, y: np.ndarray, fp_rate: float = 1.0, fn_rate: float = 1.0) -> float:
    """AIF360's cost of a group's calibrated scores (n,) against labels (n,).

    (fp/(fp+fn))·GFPR·(1 − base) + (fn/(fp+fn))·GFNR·base, where GFPR = mean score of negatives,
    GFNR = mean (1 − score) of positives and base = share of positives. "weighted": fp = fn = 1.
    """
    norm = fp_rate + fn_rate if fp_rate + fn_rate > 0 else 1.0
    base = y.mean()
    gfpr = scores[y == 0].mean() if (y == 0).any() else 0.0
    gfnr = (1 - scores[y == 1]).mean() if (y == 1).any() else 0.0
    return float(fp_rate / norm * gfpr * (1 - base) + fn_rate / norm * gfnr * base)


CEO_CONSTRAINTS = {"weighted": (1.0, 1.0), "fpr": (1.0, 0.0), "fnr": (0.0, 1.0)}


class CalibratedEqOdds(FairClassifierBase):
    """Pleiss et al. calibrated equalised odds on the scores of a logistic regression.

    ``fit`` trains the LR on the training rows and the mixing rates on ``validation`` scores
    (the training scores when no validation is given); ``predict_proba`` replaces, at random
    (seeded), a share ``mix_rate_`` of the costlier group's scores by that group's base rate;
    ``predict`` thresholds them at ½.
    """

    name = "calibrated_eq_odds"

    def __init__(self, cost_constraint: str = "weighted", *, seed: int = 0):
        if cost_constraint not in CEO_CONSTRAINTS:
            raise ParameterError("cost_constraint", cost_constraint, one_of(CEO_CONSTRAINTS))
        self.cost_constraint = cost_constraint
        self.seed = seed

    def fit_scores(self, scores: np.ndarray, y: np.ndarray, *, sensitive_features: np.ndarray) -> "CalibratedEqOdds":
        """Mixing rates from calibrated scores (n,), labels and sensitive features (AIF360's fit)."""
        a, scores = np.asarray(sensitive_features), np.asarray(scores, dtype=np.float64)
        fp, fn = CEO_CONSTRAINTS[self.cost_constraint]
        self.base_rate_ = {g: float(y[a == g].mean()) for g in (0, 1)}
        cost = {g: weighted_cost(scores[a == g], y[a == g], fp, fn) for g in (0, 1)}
        trivial = {g: weighted_cost(np.full((a == g).sum(), self.base_rate_[g]), y[a == g], fp, fn) for g in (0, 1)}
        self.mix_rate_ = {0: 0.0, 1: 0.0}
        if cost[0] > cost[1]:  # the unprivileged group costs more: degrade the privileged group's scores
            self.mix_rate_[1] = (cost[0] - cost[1]) / (trivial[1] - cost[1]) if trivial[1] != cost[1] else 0.0
        else:
            self.mix_rate_[0] = (cost[1] - cost[0]) / (trivial[0] - cost[0]) if trivial[0] != cost[0] else 0.0
        self.mix_rate_ = {g: float(np.clip(r, 0.0, 1.0)) for g, r in self.mix_rate_.items()}
        return self

    def adjust(self, scores: np.ndarray, *, sensitive_features: np.ndarray) -> np.ndarray:
        """Post-processed scores (n,): seeded random replacement by the group base rate. The draws are
        AIF360's (a ``RandomState(seed)`` stream, unprivileged rows first, then privileged), so the same
        seed replaces the same rows as ``CalibratedEqOddsPostprocessing(seed=seed)``."""
        rng = np.random.RandomState(self.seed)
        out = np.array(scores, dtype=np.float64, copy=True)
        for g in (0, 1):
            rows = np.flatnonzero(sensitive_features == g)
            replace = rng.random_sample(len(rows)) <= self.mix_rate_[g]
            out[rows[replace]] = self.base_rate_[g]
        return out

    def fit(self, X, y, *, sensitive_features, validation: Validation | None = None) -> "CalibratedEqOdds":
        X, y, s, validation = self._check_fit(X, y, sensitive_features, validation)
        self.model_ = _logistic(self.seed).fit(X, y)
        X_val, y_val, s_val = validation if validation is not None else (X, y, s)
        self.fit_scores(self.model_.predict_proba(X_val)[:, 1], y_val, sensitive_features=s_val)
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X, *, sensitive_features) -> np.ndarray:
        """The post-processed scores (n,) (randomised, seeded; calibrated within each group)."""
        X, s = self._check_predict(X, sensitive_features)
        return self.adjust(self.model_.predict_proba(X)[:, 1], sensitive_features=s)


# --------------------------------------------------------------------------- Meta fair classifier (Celis et al.)


def fairness_ratio(y_pred: np.ndarray, y: np.ndarray, sensitive_features: np.ndarray, kind: str) -> float:
    """γ, the fairness ratio of Celis et al. as AIF360 computes it: min(r₀/r₁, r₁/r₀) of a group rate,
    ``sr`` P(ŷ=1 | a), ``fdr`` P(y=0 | ŷ=1, a); 0 when a group has no positive prediction or a zero
    rate (1 = fair)."""
    rates = []
    for g in (0, 1):
        rows = sensitive_features == g
        positive = rows & (y_pred == 1)
        if not positive.any():
            return 0.0
        rates.append(positive.sum() / rows.sum() if kind == "sr" else (y[positive] == 0).mean())
    r0, r1 = rates
    if r0 == 0 or r1 == 0:
        return 0.0
    return float(min(r0 / r1, r1 / r0))


class _GaussianModel:
    """Celis et al.'s density model: one Gaussian over (x, y ∈ {−1, 1}, a ∈ {0, 1}) fitted to the training
    rows, and the conditional probabilities the meta-algorithm reads from it at any x.

    Densities are computed from log-densities (pseudo-inverse over the covariance's support, as SciPy's
    ``multivariate_normal(allow_singular=True)``), normalised per row before exponentiating: the same
    ratios as AIF360's ``pdf`` values where those are finite, and finite where they underflow to 0.
    """

    def __init__(self, X: np.ndarray, y_pm: np.ndarray, sensitive: np.ndarray):
        train = np.c_[X, y_pm, sensitive].astype(np.float64)
        self.mean = train.mean(axis=0)
        self.cov = np.cov(train, rowvar=False)
        values, vectors = np.linalg.eigh(self.cov)
        eps = 1e6 * np.finfo(np.float64).eps * np.max(np.abs(values))
        keep = values > eps
        self.whiten = vectors[:, keep] / np.sqrt(values[keep])
        self.prior = float(np.mean(sensitive))  # z_prior: share of the privileged group

    def probabilities(self, x: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
        """P(y, a | x) (n,) for y ∈ {−1, 1} and a ∈ {0, 1}, from the joint density."""
        d = x.shape[1]
        base = (np.asarray(x, dtype=np.float64) - self.mean[:d]) @ self.whiten[:d]
        logs = {}
        for y in (-1, 1):
            for a in (0, 1):
                shift = (y - self.mean[d]) * self.whiten[d] + (a - self.mean[d + 1]) * self.whiten[d + 1]
                logs[(y, a)] = -0.5 * np.sum(np.square(base + shift), axis=1)
        top = np.max(np.stack(list(logs.values())), axis=0)
        dens = {k: np.exp(v - top) for k, v in logs.items()}
        total = sum(dens.values())
        return {k: v / total for k, v in dens.items()}


def _fdr_value(model: _GaussianModel, a: float, b: float, params, x: np.ndarray, return_probs: bool = False):
    u_1, u_2, l_1, l_2 = params
    p = model.probabilities(x)
    prob_y_1 = p[(1, 1)] + p[(1, 0)]
    prob_z_0 = p[(-1, 0)] + p[(1, 0)]
    prob_z_1 = p[(-1, 1)] + p[(1, 1)]
    probc_m1_0, probc_m1_1 = p[(-1, 0)], p[(-1, 1)]
    c_0 = prob_y_1 - 0.5
    c_1 = u_1 * (probc_m1_0 - a * prob_z_0) + u_2 * (probc_m1_1 - a * prob_z_1)
    c_2 = l_1 * (-probc_m1_0 + b * prob_z_0) + l_2 * (-probc_m1_1 + b * prob_z_1)
    t = c_0 + c_1 + c_2
    return (t, probc_m1_0, probc_m1_1, prob_z_0, prob_z_1) if return_probs else t


def _fdr_gradient(model, a, b, params, samples, mu):
    t, probc_m1_0, probc_m1_1, prob_z_0, prob_z_1 = _fdr_value(model, a, b, params, samples, return_probs=True)
    res = np.vstack([probc_m1_0 - a * prob_z_0, probc_m1_1 - a * prob_z_1,
                     -probc_m1_0 + b * prob_z_0, -probc_m1_1 + b * prob_z_1])
    res *= t / np.sqrt(t ** 2 + mu ** 2)
    return np.mean(res, axis=1)


def _fdr_objective(model, a, b, params, samples):
    return np.mean(np.abs(_fdr_value(model, a, b, params, samples)))


def _sr_value(model: _GaussianModel, a: float, b: float, params, x: np.ndarray, return_cs: bool = False):
    l_1, l_2 = params
    p = model.probabilities(x)
    prob_y_1 = p[(1, 1)] + p[(1, 0)]
    prob_z_0 = p[(-1, 0)] + p[(1, 0)]
    prob_z_1 = p[(-1, 1)] + p[(1, 1)]
    c_0 = prob_y_1 - 0.5
    c_1 = prob_z_0 / (1 - model.prior)
    c_2 = prob_z_1 / model.prior
    t = c_0 + c_1 * l_1 + c_2 * l_2
    return (t, c_1, c_2) if return_cs else t


def _sr_gradient(model, a, b, params, samples, mu):
    l_1, l_2 = params
    t, c_1, c_2 = _sr_value(model, a, b, params, samples, return_cs=True)
    exp1 = np.mean(t * c_1 / np.sqrt(t ** 2 + mu ** 2))
    exp2 = np.mean(t * c_2 / np.sqrt(t ** 2 + mu ** 2))
    dl1 = exp1 - b + (b - a) / 2 + (b - a) * l_1 / (2 * np.sqrt(l_1 ** 2 + mu ** 2))
    dl2 = exp2 - b + (b - a) / 2 + (b - a) * l_2 / (2 * np.sqrt(l_2 ** 2 + mu ** 2))
    return dl1, dl2


def _sr_objective(model, a, b, params, samples):
    l_1, l_2 = params
    result = np.mean(np.abs(_sr_value(model, a, b, params, samples))) - b * l_1 - b * l_2
    if l_1 > 0:
        result += (b - a) * l_1
    if l_2 > 0:
        result += (b - a) * l_2
    return result


# kind → (value, gradient, objective, number of dual parameters, initial value of restart i)
_CELIS = {
    "fdr": (_fdr_value, _fdr_gradient, _fdr_objective, 4, lambda i: i),
    "sr": (_sr_value, _sr_gradient, _sr_objective, 2, lambda i: i - 5),
}


class MetaFairClassifier(FairClassifierBase):
    """Celis et al. (2019)'s meta-algorithm, ported line by line from AIF360 0.6.1's
    ``MetaFairClassifier`` (``celisMeta``), which ports the authors' code.

    A Gaussian is fitted to (x, y, a) (y in {−1, 1}, a = 1 privileged); for each point (a, b) of a grid
    of fairness intervals (a = 0, 0.1, …, below τ; b = min((a + 0.01)/τ, 1)) the dual parameters are
    found by gradient descent (9 restarts × 49 decaying steps on 20 points drawn from the Gaussian of
    x); the decision is 1[t(x) > 0]. The grid point with the best training accuracy among those whose
    fairness ratio γ is at least τ − 0.2 is kept (as in AIF360; no grid point qualifying leaves the
    zero parameters). ``kind``: ``fdr`` false discovery rate parity, ``sr`` statistical rate.

    Fitted: ``model_`` (the Gaussian), ``interval_`` (a, b), ``params_`` (dual parameters),
    ``train_accuracy_``, ``train_ratio_`` (γ of the training predictions).
    """

    name = "meta_fair_classifier"

    def __init__(self, tau: float = 0.8, kind: str = "fdr", *, seed: int = 0):
        if kind not in _CELIS:
            raise ParameterError("kind", kind, one_of(_CELIS))
        _check_float("tau", tau, 0.0, 1.0)
        self.tau, self.kind, self.seed = tau, kind, seed

    def fit(self, X, y, *, sensitive_features, validation: Validation | None = None) -> "MetaFairClassifier":
        from scipy.stats import multivariate_normal

        X, y, s, _ = self._check_fit(X, y, sensitive_features, validation)
        value, gradient, objective, n_params, initial = _CELIS[self.kind]
        X64 = X.astype(np.float64)
        y_pm = np.where(y == 1, 1, -1)
        model = _GaussianModel(X64, y_pm, s)
        d = X.shape[1]
        dist_x = multivariate_normal(model.mean[:d], model.cov[:d, :d], allow_singular=True, seed=self.seed)
        eps, tau = 0.01, float(self.tau)
        best_params, best_interval, max_acc = [0] * n_params, (0.0, 0.0), 0.0
        if tau != 0:
            lows = np.arange(np.ceil(tau / eps), step=10) * eps
            for a, b in np.c_[lows, np.minimum((lows + eps) / tau, 1)]:
                samples = dist_x.rvs(size=20)
                params = self._descend(model, a, b, samples, gradient, objective, n_params, initial)
                pred = np.where(value(model, a, b, params, X64) > 0, 1, -1)
                acc = float(np.mean(pred == y_pm))
                if max_acc < acc and fairness_ratio((pred == 1).astype(int), (y_pm == 1).astype(int), s, self.kind) >= tau - 0.2:
                    max_acc, best_params, best_interval = acc, params, (float(a), float(b))
        self.model_, self.params_, self.interval_ = model, list(best_params), best_interval
        train_pred = (value(model, *best_interval, self.params_, X64) > 0).astype(np.int64)
        self.train_accuracy_ = float(np.mean(train_pred == y))
        self.train_ratio_ = fairness_ratio(train_pred, y, s, self.kind)
        self.n_features_in_ = d
        return self

    @staticmethod
    def _descend(model, a, b, samples, gradient, objective, n_params, initial):
        """AIF360's ``gradientDescent``, including its aliasing: the kept parameters are the list of the
        restart that last improved the objective, as it stands at the end of that restart."""
        min_val, min_param = np.inf, None
        for i in range(1, 10):
            params = [initial(i)] * n_params
            for k in range(1, 50):
                grad = gradient(model, a, b, params, samples, 0.01)
                for j in range(n_params):
                    params[j] = params[j] - 1 / k * grad[j]
                f_val = objective(model, a, b, params, samples)
                if f_val < min_val:
                    min_val, min_param = f_val, params
        return min_param

    def decision_function(self, X, *, sensitive_features) -> np.ndarray:
        """t(x) (n,): positive where the favourable label is predicted."""
        X, _ = self._check_predict(X, sensitive_features)
        return _CELIS[self.kind][0](self.model_, *self.interval_, self.params_, X.astype(np.float64))

    def predict(self, X, *, sensitive_features) -> np.ndarray:
        return (self.decision_function(X, sensitive_features=sensitive_features) > 0).astype(np.int64)


# --------------------------------------------------------------------------- Adversarial debiasing (Zhang et al., as AIF360)


def _glorot(fan_in: int, fan_out: int, generator: torch.Generator) -> torch.Tensor:
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return (torch.rand(fan_in, fan_out, generator=generator) * 2 - 1) * limit


class AdversarialDebiasing(FairClassifierBase):
    """Zhang, Lemoine & Mitchell (2018) as AIF360 0.6.1's ``AdversarialDebiasing`` implements it, in PyTorch.

    Classifier: d → ``hidden`` ReLU (dropout 0.2 while training) → 1 logit. Adversary (equalised odds):
    s = σ((1 + abs(c))·logit), then a linear layer on [s, s·y, s·(1 − y)] predicts the group; it sees the
    true label y. Per batch, the classifier's gradient g becomes g − proj_{∇L_adv} g − α ∇L_adv (the
    projection term of Zhang et al.), and the adversary takes one step on its own loss. Adam, learning
    rate 0.001 × 0.96^⌊step/1000⌋ (``debias=False``: the classifier alone, AIF360's plain model); full batches of ``batch_size`` only (the last partial batch of an
    epoch is dropped, as in AIF360); Glorot-uniform initial weights, zero biases, c = 1.

    Fitted: ``classifier_`` (W1, b1, W2, b2), ``adversary_`` (c, W, b), ``history_`` (per-epoch losses).
    """

    name = "adversarial_debiasing"

    def __init__(self, *, epochs: int = 50, alpha: float = 0.1, hidden: int = 200, batch_size: int = 128,
                 debias: bool = True, seed: int = 0, device: str = "cpu"):
        _check_int("epochs", epochs)
        _check_int("hidden", hidden)
        _check_int("batch_size", batch_size)
        _check_float("alpha", alpha, 0.0)
        if not isinstance(debias, bool):
            raise ParameterError("debias", debias, "True or False")
        self.epochs, self.alpha, self.hidden, self.batch_size = epochs, alpha, hidden, batch_size
        self.debias, self.seed, self.device = debias, seed, device

    def _logit(self, x: torch.Tensor, train: bool, generator: torch.Generator | None = None) -> torch.Tensor:
        W1, b1, W2, b2 = self.classifier_
        h = torch.relu(x @ W1 + b1)
        if train:
            keep = (torch.rand(h.shape, generator=generator, device=h.device) < 0.8).to(h.dtype)
            h = h * keep / 0.8
        return (h @ W2 + b2).squeeze(1)

    def _adversary_logit(self, logit: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        c, W, b = self.adversary_
        s = torch.sigmoid((1 + c.abs()) * logit)
        return (torch.stack([s, s * y, s * (1.0 - y)], dim=1) @ W + b).squeeze(1)

    def fit(self, X, y, *, sensitive_features, validation: Validation | None = None) -> "AdversarialDebiasing":
        X, y, a, _ = self._check_fit(X, y, sensitive_features, validation)
        device = torch.device(self.device)
        gen = torch.Generator().manual_seed(self.seed)
        d = X.shape[1]
        self.classifier_ = [t.to(device).requires_grad_(True) for t in
                            (_glorot(d, self.hidden, gen), torch.zeros(self.hidden), _glorot(self.hidden, 1, gen), torch.zeros(1))]
        self.adversary_ = [t.to(device).requires_grad_(True) for t in (torch.tensor(1.0), _glorot(3, 1, gen), torch.zeros(1))]
        opt_clf = torch.optim.Adam(self.classifier_, lr=1e-3)
        opt_adv = torch.optim.Adam(self.adversary_, lr=1e-3)
        Xt = torch.as_tensor(X, device=device)
        Yt = torch.as_tensor(y, device=device, dtype=torch.float32)
        At = torch.as_tensor(a, device=device, dtype=torch.float32)
        rng = np.random.default_rng(self.seed)
        dropout = torch.Generator(device=device).manual_seed(self.seed + 1)
        tiny = float(np.finfo(np.float32).tiny)
        step, self.history_ = 0, []
        for epoch in range(self.epochs):
            order = torch.as_tensor(rng.permutation(len(X)), device=device)
            sums = np.zeros(2)
            batches = len(X) // self.batch_size
            for i in range(batches):
                idx = order[i * self.batch_size:(i + 1) * self.batch_size]
                x, yb, ab = Xt[idx], Yt[idx], At[idx]
                logit = self._logit(x, True, dropout)
                clf_loss = tf.binary_cross_entropy_with_logits(logit, yb)
                adv_loss = tf.binary_cross_entropy_with_logits(self._adversary_logit(logit, yb), ab)
                if not (torch.isfinite(clf_loss) and torch.isfinite(adv_loss)):
                    raise TrainingDivergedError(f"adversarial debiasing loss is {float(clf_loss)}, {float(adv_loss)} at epoch {epoch}")
                clf_grads = torch.autograd.grad(clf_loss, self.classifier_, retain_graph=True)
                adv_all = torch.autograd.grad(adv_loss, self.classifier_ + self.adversary_)
                adv_grads_clf, adv_grads = adv_all[:len(self.classifier_)], adv_all[len(self.classifier_):]
                lr = 1e-3 * 0.96 ** (step // 1000)
                for group in (*opt_clf.param_groups, *opt_adv.param_groups):
                    group["lr"] = lr
                with torch.no_grad():
                    for param, g, g_adv in zip(self.classifier_, clf_grads, adv_grads_clf):
                        unit = g_adv / (g_adv.norm() + tiny)
                        param.grad = g - (g * unit).sum() * unit - self.alpha * g_adv if self.debias else g
                    for param, g in zip(self.adversary_, adv_grads):
                        param.grad = g
                opt_clf.step()
                if self.debias:
                    opt_adv.step()
                step += 1
                sums += (float(clf_loss.detach()), float(adv_loss.detach()))
            self.history_.append({"epoch": epoch + 1, "classifier_loss": sums[0] / max(batches, 1),
                                  "adversary_loss": sums[1] / max(batches, 1)})
        for t in (*self.classifier_, *self.adversary_):
            t.requires_grad_(False)
        self.n_features_in_ = d
        return self

    @torch.no_grad()
    def predict_proba(self, X, *, sensitive_features) -> np.ndarray:
        X, _ = self._check_predict(X, sensitive_features)
        return torch.sigmoid(self._logit(torch.as_tensor(X, device=torch.device(self.device)), False)).cpu().numpy()

    def predict(self, X, *, sensitive_features) -> np.ndarray:
        return (self.predict_proba(X, sensitive_features=sensitive_features) > 0.5).astype(np.int64)


# --------------------------------------------------------------------------- LAFTR


def _mlp(i: int, h: int, o: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(i, h), nn.LeakyReLU(0.2), nn.Linear(h, o))


def wass_adversary_loss(predicted: torch.Tensor, sensitive_features: torch.Tensor) -> torch.Tensor:
    """Group-balanced L1 error of the adversary's prediction â ∈ [0, 1] (n,) of the sensitive values a (n,):
    ½ (E[|a − â| | a=0] + E[|a − â| | a=1]) (LAFTR ``WeightedDemParWassGan``). 1 − this is the
    adversary's advantage; a representation that hides a holds it at ½ or above."""
    a = sensitive_features
    err = (a.float() - predicted).abs()
    terms = [err[a == g].mean() for g in (0, 1) if (a == g).any()]
    return torch.stack(terms).mean()


class LAFTR(FairClassifierBase):
    """Madras et al. 2018 (demographic parity, Wasserstein-style adversary), own PyTorch code.

    Args:
        hidden, z_dim: widths (LAFTR's Adult config: hidden 8, z 8).
        class_coeff, fair_coeff: loss weights (1, 1).
        epochs, batch_size, lr: Adam training (LAFTR: 1000 epochs, batch 64, lr 1e-3).

    Fitted: ``encoder_``, ``classifier_``, ``adversary_``, ``history_`` (per-epoch losses).
    """

    name = "laftr"

    def __init__(self, *, hidden: int = 8, z_dim: int = 8, class_coeff: float = 1.0, fair_coeff: float = 1.0,
                 epochs: int = 100, batch_size: int = 64, lr: float = 1e-3, seed: int = 0, device: str = "cpu"):
        for name, value in (("hidden", hidden), ("z_dim", z_dim), ("epochs", epochs), ("batch_size", batch_size)):
            _check_int(name, value)
        for name, value in (("class_coeff", class_coeff), ("fair_coeff", fair_coeff)):
            _check_float(name, value, 0.0)
        _check_float("lr", lr, 1e-12, text="a finite float > 0")
        self.hidden, self.z_dim, self.class_coeff, self.fair_coeff = hidden, z_dim, class_coeff, fair_coeff
        self.epochs, self.batch_size, self.lr, self.seed, self.device = epochs, batch_size, lr, seed, device

    def fit(self, X, y, *, sensitive_features, validation: Validation | None = None) -> "LAFTR":
        X, y, a, _ = self._check_fit(X, y, sensitive_features, validation)
        device = torch.device(self.device)
        torch.manual_seed(self.seed)
        gen = torch.Generator(device=device).manual_seed(self.seed)
        d = X.shape[1]
        self.encoder_ = _mlp(d, self.hidden, self.z_dim).to(device)
        self.classifier_ = _mlp(self.z_dim, self.hidden, 1).to(device)
        self.adversary_ = _mlp(self.z_dim, self.hidden, 1).to(device)
        opt_model = torch.optim.Adam(list(self.encoder_.parameters()) + list(self.classifier_.parameters()), lr=self.lr)
        opt_adv = torch.optim.Adam(self.adversary_.parameters(), lr=self.lr)
        Xt, Yt, At = (torch.as_tensor(v, device=device) for v in (X, y, a))
        self.history_ = []
        for epoch in range(self.epochs):
            order = torch.randperm(len(Xt), device=device, generator=gen)
            for start in range(0, len(Xt), self.batch_size):
                idx = order[start:start + self.batch_size]
                x, yb, ab = Xt[idx], Yt[idx].float(), At[idx]
                # model step: classify well, make the adversary's balanced L1 error large
                z = self.encoder_(x)
                class_loss = tf.binary_cross_entropy_with_logits(self.classifier_(z).squeeze(1), yb)
                adv_loss = wass_adversary_loss(torch.sigmoid(self.adversary_(z).squeeze(1)), ab)
                loss = self.class_coeff * class_loss - self.fair_coeff * adv_loss
                if not torch.isfinite(loss):
                    raise TrainingDivergedError(f"LAFTR loss is {float(loss)} at epoch {epoch}")
                opt_model.zero_grad(set_to_none=True)
                loss.backward()
                opt_model.step()
                # adversary step (aud_steps = 1) on the updated, frozen representation
                adv_loss = wass_adversary_loss(torch.sigmoid(self.adversary_(self.encoder_(x).detach()).squeeze(1)), ab)
                opt_adv.zero_grad(set_to_none=True)
                adv_loss.backward()
                opt_adv.step()
            self.history_.append({"epoch": epoch + 1, "class_loss": float(class_loss.detach()), "adversary_l1": float(adv_loss.detach())})
        self.n_features_in_ = d
        return self

    @torch.no_grad()
    def predict_proba(self, X, *, sensitive_features) -> np.ndarray:
        X, _ = self._check_predict(X, sensitive_features)
        z = self.encoder_(torch.as_tensor(X, device=torch.device(self.device)))
        return torch.sigmoid(self.classifier_(z).squeeze(1)).cpu().numpy()

    @torch.no_grad()
    def predict(self, X, *, sensitive_features) -> np.ndarray:
        X, _ = self._check_predict(X, sensitive_features)
        z = self.encoder_(torch.as_tensor(X, device=torch.device(self.device)))
        return (self.classifier_(z).squeeze(1) > 0).cpu().numpy().astype(np.int64)


# --------------------------------------------------------------------------- Plain classifier C


class PlainClassifier(FairClassifierBase):
    """The paper's Baseline: classifier C trained on the raw training rows only (``network_``).
    Without ``validation``, early stopping reads the training rows."""

    name = "baseline"

    def __init__(self, settings: ClassifierSettings | None = None, *, seed: int = 0, device: str = "cpu"):
        self.settings = settings
        self.seed = seed
        self.device = device

    def fit(self, X, y, *, sensitive_features, validation: Validation | None = None) -> "PlainClassifier":
        X, y, _, validation = self._check_fit(X, y, sensitive_features, validation)
        val = (X, y) if validation is None else (validation[0], validation[1])
        training = ClassifierTraining(self.settings or ClassifierSettings(), device=self.device, seed=self.seed)
        self.network_ = training.fit_plain(X, y, val)
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X, *, sensitive_features) -> np.ndarray:
        X, _ = self._check_predict(X, sensitive_features)
        return self.network_.predict_proba(X)


BASELINES = {
    "baseline": PlainClassifier,
    "reweighing": Reweighing,
    "disparate_impact_remover": DisparateImpactRemover,
    "calibrated_eq_odds": CalibratedEqOdds,
    "meta_fair_classifier": MetaFairClassifier,
    "adversarial_debiasing": AdversarialDebiasing,
    "laftr": LAFTR,
}
