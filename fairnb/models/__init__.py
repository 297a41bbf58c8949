"""Models: stage networks and training loops (paper 000: FairDisco teacher, distilled student, generator)."""

from fairnb.models.distill import QUALITY_LOSSES, StudentEncoder, distill, quality_loss_fn
from fairnb.models.fairdisco import DCOV_ESTIMATORS, FairDisco, MLPDecoder, MLPEncoder, block_reconstruction, fairness_term
from fairnb.models.generator import FairLatentDistillation, group_codes
from fairnb.models.train import TrainingDivergedError, gaussian_kl, reparameterise, train_loop, train_vae
from fairnb.models.fair_classifier import RATIO_SWEEP, Classifier, ClassifierSettings, FairClassifier
from fairnb.models.vaegan import DOMAINS, FairTranslator, TranslatorSettings
from fairnb.models.conv import ConvDecoder, ConvEncoder, ImageFairDistillation, bce_reconstruction, prepare_images, student_encoder
