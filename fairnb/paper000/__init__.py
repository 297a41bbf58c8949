"""Paper 000 (Sikder et al.): fair latent distillation — the FairDisco teacher, the distilled
student, the generator pipeline, the image models, the baselines of Table 1, studies, figures and
the reproduction tables."""

from fairnb.paper000.conv import ConvDecoder, ConvEncoder, ImageFairDistillation, bce_reconstruction, prepare_images, student_encoder
from fairnb.paper000.distill import QUALITY_LOSSES, StudentEncoder, distill, quality_loss_fn
from fairnb.paper000.fairdisco import DCOV_ESTIMATORS, FairDisco, MLPDecoder, MLPEncoder, block_reconstruction, fairness_term
from fairnb.paper000.pipeline import FairLatentDistillation

__all__ = ["ConvDecoder", "ConvEncoder", "DCOV_ESTIMATORS", "FairDisco", "FairLatentDistillation", "ImageFairDistillation",
           "MLPDecoder", "MLPEncoder", "QUALITY_LOSSES", "StudentEncoder", "bce_reconstruction", "block_reconstruction", "distill",
           "fairness_term", "prepare_images", "quality_loss_fn", "student_encoder"]
