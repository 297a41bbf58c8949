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
  on validation scores of a logistic regression, as AIF360's ``CalibratedEqOddsPostprocessing``.
- ``MetaFairClassifier``: a **simplified** Celis et al. (2019) — false discovery rate parity
  (``fdr``) or statistical rate (``sr``). Celis et al. estimate the joint density with a Gaussian
  and solve a constrained program whose optimum is a threshold rule on P(y=1 | x) shifted by terms
  in P(a | x); here P(y=1 | x) and P(a=1 | x) are logistic regressions and the shift (λ₀, λ₁) is
  found by grid search, maximising training accuracy subject to the fairness ratio of the training
  predictions being ≥ τ (0.8), falling back to the fairest point of the grid.
- ``AdversarialDebiasing`` — demographic parity variant: fairlearn's
  ``AdversarialFairnessClassifier`` (PyTorch backend) standing in for AIF360's TensorFlow-1
  ``AdversarialDebiasing`` (Zhang et al. 2018): one hidden layer of 200 units, adversary weight
  α = 0.1, an adversary that sees only the prediction, 50 epochs in the paper.
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
    "adversarial_debiasing": "demographic parity",
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
        a = np.asarray(sensitive_features)
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
        """Post-processed scores (n,): seeded random replacement by the group base rate."""
        rng = np.random.default_rng(self.seed)
        out = np.array(scores, dtype=np.float64, copy=True)
        for g in (0, 1):
            rows = np.flatnonzero(sensitive_features == g)
            replace = rng.random(len(rows)) <= self.mix_rate_[g]
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


# --------------------------------------------------------------------------- Meta fair classifier (simplified)


def fairness_ratio(y_pred: np.ndarray, y: np.ndarray, sensitive_features: np.ndarray, kind: str) -> float:
    """min(r₀/r₁, r₁/r₀) of a group rate: ``sr`` P(ŷ=1 | a), ``fdr`` P(y=0 | ŷ=1, a) (1 = fair)."""
    rates = []
    for g in (0, 1):
        rows = sensitive_features == g
        if kind == "sr":
            rates.append(y_pred[rows].mean() if rows.any() else 0.0)
        else:
            chosen = rows & (y_pred == 1)
            rates.append((y[chosen] == 0).mean() if chosen.any() else 0.0)
    r0, r1 = rates
    if r0 == 0 and r1 == 0:
        return 1.0
    if r0 == 0 or r1 == 0:
        return 0.0
    return float(min(r0 / r1, r1 / r0))


class MetaFairClassifier(FairClassifierBase):
    """Simplified Celis et al. meta-algorithm (see module doc): ŷ = 1[η(x) + λ₀(1 − π(x)) + λ₁π(x) > ½]
    with η = P(y=1 | x), π = P(a=1 | x) logistic regressions; (λ₀, λ₁) on a grid, accuracy subject to
    fairness ratio ≥ τ."""

    name = "meta_fair_classifier"

    def __init__(self, tau: float = 0.8, kind: str = "fdr", *, grid: int = 21, seed: int = 0):
        if kind not in ("fdr", "sr"):
            raise ParameterError("kind", kind, "one of fdr, sr")
        _check_float("tau", tau, 0.0, 1.0)
        _check_int("grid", grid, 3)
        self.tau, self.kind, self.grid, self.seed = tau, kind, grid, seed

    def _decide(self, eta: np.ndarray, pi: np.ndarray, lam0: float, lam1: float) -> np.ndarray:
        return (eta + lam0 * (1 - pi) + lam1 * pi > 0.5).astype(np.int64)

    def fit(self, X, y, *, sensitive_features, validation: Validation | None = None) -> "MetaFairClassifier":
        X, y, a, _ = self._check_fit(X, y, sensitive_features, validation)
        self.label_model_ = _logistic(self.seed).fit(X, y)
        self.group_model_ = _logistic(self.seed).fit(X, a)
        eta, pi = self.label_model_.predict_proba(X)[:, 1], self.group_model_.predict_proba(X)[:, 1]
        best_ok, best_any = None, None
        for lam0 in np.linspace(-0.5, 0.5, self.grid):
            for lam1 in np.linspace(-0.5, 0.5, self.grid):
                pred = self._decide(eta, pi, lam0, lam1)
                acc, ratio = float((pred == y).mean()), fairness_ratio(pred, y, a, self.kind)
                if ratio >= self.tau and (best_ok is None or acc > best_ok[0]):
                    best_ok = (acc, ratio, lam0, lam1)
                if best_any is None or (ratio, acc) > (best_any[1], best_any[0]):
                    best_any = (acc, ratio, lam0, lam1)
        chosen = best_ok or best_any
        self.train_accuracy_, self.train_ratio_, self.lambdas_ = chosen[0], chosen[1], (chosen[2], chosen[3])
        self.met_constraint_ = best_ok is not None
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X, *, sensitive_features) -> np.ndarray:
        X, _ = self._check_predict(X, sensitive_features)
        eta, pi = self.label_model_.predict_proba(X)[:, 1], self.group_model_.predict_proba(X)[:, 1]
        return self._decide(eta, pi, *self.lambdas_)


# --------------------------------------------------------------------------- Adversarial debiasing (fairlearn)


class AdversarialDebiasing(FairClassifierBase):
    """fairlearn ``AdversarialFairnessClassifier`` (PyTorch), configured like AIF360's demo."""

    name = "adversarial_debiasing"

    def __init__(self, *, epochs: int = 50, alpha: float = 0.1, hidden: int = 200, batch_size: int = 128,
                 seed: int = 0, device: str = "cpu"):
        _check_int("epochs", epochs)
        _check_int("hidden", hidden)
        _check_int("batch_size", batch_size)
        _check_float("alpha", alpha, 0.0)
        self.epochs, self.alpha, self.hidden, self.batch_size, self.seed, self.device = epochs, alpha, hidden, batch_size, seed, device

    def fit(self, X, y, *, sensitive_features, validation: Validation | None = None) -> "AdversarialDebiasing":
        from fairlearn.adversarial import AdversarialFairnessClassifier

        X, y, a, _ = self._check_fit(X, y, sensitive_features, validation)
        torch.manual_seed(self.seed)
        self.model_ = AdversarialFairnessClassifier(
            backend="torch", predictor_model=[self.hidden, "relu"], adversary_model=[self.hidden, "relu"],
            constraints="demographic_parity", learning_rate=1e-3, alpha=self.alpha, epochs=self.epochs,
            batch_size=self.batch_size, shuffle=True, random_state=self.seed, cuda=str(self.device).startswith("cuda"),
        )
        self.model_.fit(X, y, sensitive_features=a)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X, *, sensitive_features) -> np.ndarray:
        X, _ = self._check_predict(X, sensitive_features)
        return np.asarray(self.model_.predict(X)).astype(np.int64)


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
