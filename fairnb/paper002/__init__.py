"""Paper 002 (Jang, Zheng & Wang): the VAE-GAN translator into every (sensitive, label) pair, the fair
classifier pre-trained on balanced synthetic data, the six baselines, studies, figures and the
reproduction tables."""

from fairnb.paper002.classifier import RATIO_SWEEP, Classifier, ClassifierSettings, FairClassifier
from fairnb.paper002.translator import DOMAINS, FairTranslator, TranslatorSettings

__all__ = ["DOMAINS", "RATIO_SWEEP", "Classifier", "ClassifierSettings", "FairClassifier", "FairTranslator", "TranslatorSettings"]
