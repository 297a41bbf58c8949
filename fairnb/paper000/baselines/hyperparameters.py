"""Every hyper-parameter of every paper-000 baseline, in one place, with its source.

``HYPERPARAMETERS[baseline][name]`` is a ``Setting(value, source)``. The paper says the
baselines were trained "with the same hyper-parameters as in their respective original
publication" (Sikder et al., §5); where the publication's code states a value we cite that file,
where nothing is published we say what we chose and why. Training length (epochs) is *not* here:
it depends on the run profile (``fairnb.runs.profiles``, parameters ``tabfairgan_epochs``,
``decaf_epochs``, ``fldgm_epochs``); the publication's lengths are in ``PUBLISHED_EPOCHS``.

Abbreviations: TFG = github.com/amirarsalan90/TabFairGAN (TabFairGAN.py and experiments/ logs),
DECAF = github.com/vanderschaarlab/DECAF (decaf/DECAF.py), SC = synthcity
(plugins/privacy/plugin_decaf.py), FL = github.com/fahim-sikder/FLDGM (run-FLDGM-dm.py),
FX = github.com/fahim-sikder/FairX, TFGDT = github.com/emapanagiotou/tabfairgdt (PyPI tabfairgdt 0.1.1;
Panagiotou et al., ICDM 2025, arXiv 2509.19927).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Setting:
    """One hyper-parameter value and where it comes from."""

    value: Any
    source: str


HYPERPARAMETERS: dict[str, dict[str, Setting]] = {
    "tabfairgan": {
        "batch_size": Setting(256, "TFG TabFairGAN.py, experiments/adult log name _10_200_256_30_0-5"),
        "critic_steps": Setting(4, "TFG TabFairGAN.py: critic_repeat = 4 per generator step"),
        "gp_weight": Setting(10.0, "TFG TabFairGAN.py: WGAN-GP lambda 10 (Gulrajani et al. 2017)"),
        "gp_interpolation": Setting("per entry: x = e * real + (1 - e) * fake, e ~ U(0, 1) of shape (batch, d); gradient of the sum of a row's d critic outputs",
                                    "TFG TabFairGAN.py get_gradient: epsilon = torch.rand(batch_size, input_dim), grad_outputs=ones_like(scores)"),
        "critic": Setting("Linear(d, d) -> LeakyReLU -> Linear(d, d) -> LeakyReLU, d outputs averaged by every loss",
                          "TFG TabFairGAN.py Critic (no final Linear(d, 1)); get_crit_loss / get_gen_loss take torch.mean of the (batch, d) output"),
        "critic_slope": Setting(0.01, "TFG TabFairGAN.py Critic: f.leaky_relu with PyTorch's default negative slope 0.01"),
        "batch_order": Setting("one shuffle, then the same batches in the same order every epoch; a last short batch is dropped",
                               "TFG TabFairGAN.py: train_test_split(shuffle=True) once, DataLoader(batch_size, drop_last=True) without shuffle"),
        "holdout": Setting(0.0, "TFG TabFairGAN.py sets 10 % aside (train_test_split(test_size=0.1)) and never uses it; 0 here so every "
                                "method of the comparison learns from the same rows (TabFairGAN(holdout=0.1) does as the authors)"),
        "lr": Setting(2e-4, "TFG TabFairGAN.py: Adam lr 2e-4 for generator and critic"),
        "fair_lr": Setting(1e-4, "TFG TabFairGAN.py: optimizerG_fair lr 1e-4 in the fairness phase"),
        "betas": Setting((0.5, 0.999), "TFG TabFairGAN.py: Adam betas"),
        "gumbel_tau": Setting(0.2, "TFG TabFairGAN.py: gumbel_softmax(tau=0.2) categorical heads"),
        "n_quantiles": Setting(2000, "TFG TabFairGAN.py: QuantileTransformer(n_quantiles=2000, output_distribution='uniform')"),
        "fair_fraction": Setting(0.15, "TFG Adult log: 30 fair epochs of 200 (the fairness phase is the last 15 % of training)"),
        "lambda_fair": Setting({"adult": 0.5, "compas": 2.2}, "TFG experiments logs: lambda_f 0.5 (Adult, _0-5), 2.2 (COMPAS, _2-2)"),
        "noise_dim": Setting("width of the encoded row", "TFG TabFairGAN.py: noise has the input dimension d"),
    },
    "decaf": {
        "hidden": Setting(200, "DECAF decaf/DECAF.py: h_dim = 200 (generator trunk and critic)"),
        "lr": Setting(1e-3, "DECAF decaf/DECAF.py: lr = 1e-3 (AdamW, generator and critic)"),
        "betas": Setting((0.5, 0.999), "DECAF decaf/DECAF.py: b1 = 0.5, b2 = 0.999"),
        "weight_decay": Setting(1e-2, "DECAF decaf/DECAF.py: weight_decay = 1e-2 (AdamW)"),
        "gp_weight": Setting(10.0, "DECAF decaf/DECAF.py: lambda_gp = 10"),
        "privacy_weight": Setting(1.0, "DECAF decaf/DECAF.py: lambda_privacy = 1 (ADS-GAN distance term)"),
        "batch_size": Setting(500, "SC plugin_decaf.py: batch_size = 500 (DECAF's own default 32 is impractical on 36k rows)"),
        "critic_steps": Setting(1, "DECAF decaf/DECAF.py: two optimisers, one critic and one generator step per batch"),
        "edge_removal": Setting("demographic parity (DECAF-DP)", "van Breugel et al. 2021 §4: remove every edge from the sensitive attribute into the target or its ancestors at generation"),
        "dag": Setting("hand-specified (fairnb.paper000.baselines.decaf.DAGS)", "our choice, documented in the book: synthcity's tree search is not available beside our torch/numpy pins"),
    },
    "fldgm": {
        "diffusion_steps": Setting(1000, "FL run-FLDGM-dm.py: GaussianDiffusion1D(timesteps=1000)"),
        "objective": Setting("pred_v", "FL run-FLDGM-dm.py: objective 'pred_v', L2 loss"),
        "hidden": Setting(256, "FL run-FLDGM-dm.py: FairDiscoDiffusion(latent_dim=256) denoiser width"),
        "lr": Setting(1e-4, "FL run-FLDGM-dm.py: Adam lr 1e-4"),
        "betas": Setting((0.9, 0.99), "FL run-FLDGM-dm.py: Adam betas (0.9, 0.99)"),
        "batch_size": Setting(2048, "FL run-FLDGM-dm.py: batch 2048"),
        "latent_map": Setting("(z + 1) / 2", "FL run-FLDGM-dm.py: latents mapped before diffusion, inverted after"),
        "sampling_steps": Setting(50, "our choice: ancestral sampling on 50 evenly spaced of the 1000 steps (respacing, Nichol & Dhariwal 2021) keeps CPU sampling fast; training uses all 1000"),
        "teacher": Setting("FairDisco, beta = 1e7", "FL: the generative model is trained on FairDisco (lgβ = 7) latents"),
    },
    "tabfairgdt": {
        "lamda": Setting(0.5, "TFGDT tabfairgdt.py TABFAIRGDT.fit(df, lamda=0.5) default; README: 0 = no fairness, 1 = max fairness"),
        "criterion": Setting("dp", "TFGDT tabfairgdt.py: criterion='dp', the only criterion of the leaf relabelling"),
        "acc_threshold": Setting(-1, "TFGDT tabfairgdt.py: acc_threshold=-1, no limit on the accuracy the relabelling may cost"),
        "min_samples_leaf": Setting(5, "TFGDT method/cart.py, method/tabfairgdt.py: minibucket=5 (DecisionTree*(min_samples_leaf=5))"),
        "column_models": Setting("CART per column (the first column drawn from its marginal); the target's CART with leaf relabelling",
                                 "TFGDT tabfairgdt.py: default_method='cart'; fit() uses 'cart_leaf_relab_lamda' for the target"),
        "max_depth": Setting(None, "TFGDT method/cart.py, method/tabfairgdt.py: max_depth=None (trees grown until min_samples_leaf)"),
        "visit_sequence": Setting("the dataset's column order; sensitive attribute and target last",
                                  "TFGDT tabfairgdt.py: visit_sequence=None (data order), the protected attribute and target are generated last"),
        "proper, smoothing": Setting("False, False", "TFGDT tabfairgdt.py defaults (no bootstrap, no kernel smoothing of numerics)"),
        "parallel": Setting(False, "our choice: columns fitted one after the other; the package's thread pool (parallel=True) gives the same trees"),
    },
    "fairdisco": {
        "teacher": Setting("fairnb.paper000.fairdisco (stage 1 of the fair-distillation pipeline)", "same teacher as our method, decoded directly: x = D(z ⊕ s), z ~ q(z | x, s)"),
    },
    "correlation_remover": {
        "alpha": Setting(1.0, "FX preprocessing/correlationRemover.py: CorrelationRemover(alpha=1)"),
        "features": Setting("ordinal-encoded features, sensitive column removed by the transform", "FX preprocessing/correlationRemover.py"),
        "classifier": Setting("the downstream classifier of the evaluation", "same classifier as every other method"),
    },
    "threshold_optimizer": {
        "constraints": Setting("demographic_parity", "FX postprocessing/thresholdOptimizers/algo.py"),
        "estimator": Setting("XGBClassifier(objective='binary:logistic')", "FX postprocessing/thresholdOptimizers/algo.py"),
        "objective": Setting("accuracy_score", "fairlearn default"),
        "predict_method": Setting("predict_proba", "fairlearn: scores from the prefit XGB model"),
    },
    "original": {
        "data": Setting("the real training split", "reference row of Table 1"),
    },
}

PUBLISHED_EPOCHS: dict[str, dict[str, int]] = {
    # TFG experiments logs: Adult 200 epochs, COMPAS 70; SC/FX: DECAF n_iter 1000; FL: 5000 epochs.
    "tabfairgan": {"adult": 200, "compas": 70},
    "decaf": {"adult": 1000, "compas": 1000},
    "fldgm": {"adult": 5000, "compas": 5000},
}


def get(baseline: str, name: str, dataset: str | None = None) -> Any:
    """The value of one hyper-parameter (dataset-specific values are looked up by ``dataset``)."""
    value = HYPERPARAMETERS[baseline][name].value
    if isinstance(value, dict) and dataset is not None:
        return value.get(dataset, next(iter(value.values())))
    return value


def hyperparameter_table() -> pd.DataFrame:
    """One row per (baseline, hyper-parameter): value and source — for the book."""
    rows = [{"baseline": b, "hyper-parameter": n, "value": str(s.value), "source": s.source}
            for b, settings in HYPERPARAMETERS.items() for n, s in settings.items()]
    rows += [{"baseline": b, "hyper-parameter": "epochs (publication)", "value": str(e), "source": "see PUBLISHED_EPOCHS"}
             for b, e in PUBLISHED_EPOCHS.items()]
    return pd.DataFrame(rows)
