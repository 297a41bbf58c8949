"""Evaluation metrics: distance covariance, density/coverage, downstream fairness and utility, latent views."""

from fairnb.metrics.dcov import dcov2, posterior_dcov2
from fairnb.metrics.density import density_coverage, density_coverage_numpy
from fairnb.metrics.downstream import FeatureMap, evaluate, evaluate_conventions, evaluate_protocols, score, shap_importance
from fairnb.metrics.latent import project_latents
from fairnb.metrics.fid import NOISE_SIGMA, frechet_distance, maxabs_scale, noise_reference
from fairnb.metrics.group import HEADLINE, METRIC_LABELS, METRIC_NAMES, fairness_metrics, group_rates
from fairnb.metrics.image_scores import SmallCNN, binary_event, downstream_scores, embedding_density_coverage, train_classifier
