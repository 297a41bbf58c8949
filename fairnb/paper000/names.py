"""Paper 000's names in one place: quality losses, methods and their labels, label codings, metrics — each in
the order of the paper's Table 1. Every page and module of paper 000 reads its labels from here.

Two spellings of one of our rows exist on purpose: the stage-3 study names a student by its quality loss
(``l1``), the comparison by ``ours_l1`` (it also scores the baselines); ``method_label`` labels both.
"""

from __future__ import annotations

from fairnb.metrics.downstream import HEADLINE_CODING, POSITIVE_LABELS

QUALITY_LOSSES = ("l1", "huber", "mse", "mean_difference")  # Table 1's order
QUALITY_LOSS_LABELS = {"l1": "L1-KL", "huber": "Huber-KL", "mse": "MSE-KL", "mean_difference": "MD-KL"}
REPRESENTATION = "fairdisco_representation"
OURS = tuple(f"ours_{loss}" for loss in QUALITY_LOSSES)
GENERATORS = ("tabfairgan", "decaf", "fldgm", "fairdisco")
PREDICTORS = ("correlation_remover", "threshold_optimizer")
BEYOND_PAPER = ("tabfairgdt",)  # generators the paper does not compare with
# every row of paper 000's tables, in Table 1's order; the representation row comes with FairDisco's
ROWS = GENERATORS + (REPRESENTATION,) + PREDICTORS + ("original",) + OURS + BEYOND_PAPER
METHOD_LABELS = {
    "tabfairgan": "TabFairGAN", "decaf": "Decaf", "fldgm": "FLDGMs (DM)", "fairdisco": "FairDisco",
    REPRESENTATION: "FairDisco (representation)",
    "correlation_remover": "CorrelationRemover", "threshold_optimizer": "ThresholdOptimizer", "original": "Original data",
    **{f"ours_{loss}": f"Ours {label}" for loss, label in QUALITY_LOSS_LABELS.items()},
    "tabfairgdt": "TabFairGDT (not in the paper)",
}
REFERENCE_CODING = next(c for c in POSITIVE_LABELS if c != HEADLINE_CODING)
CODINGS = (HEADLINE_CODING, REFERENCE_CODING)
CODING_LABELS = {HEADLINE_CODING: "favourable coding (class 1 = >50K, no recidivism)",
                 REFERENCE_CODING: "reference code's coding (class 1 = <=50K, recidivism)"}
METRIC_LABELS = {"dpr": "DPR", "eor": "EOR", "accuracy": "ACC", "recall": "Recall", "f1": "F1",
                 "density": "Density", "coverage": "Coverage"}


def method_label(method: str) -> str:
    """The label of a method name of either spelling (``l1`` or ``ours_l1`` → "Ours L1-KL"); unknown names as given."""
    if method in QUALITY_LOSSES:
        method = f"ours_{method}"
    return METHOD_LABELS.get(method, method)
