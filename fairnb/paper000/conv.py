"""Paper 000 on images: convolutional FairDisco teacher, a smaller convolutional student, one pipeline.

The networks follow the FairDisco reference image model (``FairDisCoImage``, Liu et al. 2022):

- ``ConvEncoder``: stride-2 4×4 convolutions halve the image down to 4×4 (widths 32, 32, 64, 64
  for 64×64 inputs), a 4×4 convolution to ``hidden`` = 256 channels and a 1×1 convolution to
  2·z_dim, split into (mean, logvar). The reference encoder does not see s; ours accepts s to
  keep the ``train_vae`` contract and ignores it.
- Weights are He-initialised (``he_initialise``), a deviation from the reference explained there.
- ``ConvDecoder``: z ⊕ onehot(s) → 1×1 convolution to 256 → 4×4 transposed convolution → stride-2
  transposed convolutions back to the image size. It returns **logits**; pixel probabilities are
  ``sigmoid(logits)``. The reference applies the sigmoid inside and uses ``binary_cross_entropy``;
  ``bce_reconstruction`` computes the same loss from logits, which is numerically safer.
- The distilled student (``student_encoder``) is a ``ConvEncoder`` with half the widths and a
  64-channel head: about a sixth of the teacher encoder's parameters (6.0× fewer at 64×64 RGB).

Images enter the networks as float tensors (n, channels, size, size) in [0, 1]; ``size`` is a power
of two ≥ 8 (the reference: 64). ``prepare_images`` turns a dataset's uint8 images into that form.

Training is the shared paper-000 code: stage 1 is ``fairnb.paper000.fairdisco.FairDisco`` (the loop of
``fairnb.nn.train.train_vae``) with these networks and the BCE loss; stage 2 is
``fairnb.paper000.distill.distill``; stage 3 decodes the student's codes with the teacher's decoder.
"""

from __future__ import annotations

import math
import time
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fairnb.errors import ParameterError
from fairnb.paper000.distill import check_lam, distill, quality_loss_fn
from fairnb.paper000.fairdisco import DCOV_ESTIMATORS, FairDisco, check_beta_exponent
from fairnb.nn.train import Training, reparameterise

TEACHER_WIDTHS = (32, 32, 64, 64)
STUDENT_WIDTHS = (16, 16, 32, 32)


def check_image_size(image_size: int) -> int:
    """``image_size`` must be a power of two ≥ 8 (the networks halve it down to 4×4)."""
    if not isinstance(image_size, (int, np.integer)) or isinstance(image_size, bool) or image_size < 8 \
            or image_size & (image_size - 1):
        raise ParameterError("image_size", image_size, "a power of two >= 8 (e.g. 32, 64)")
    return int(image_size)


def _downsamplings(image_size: int) -> int:
    """Number of stride-2 layers that take ``image_size`` to 4: log2(size / 4)."""
    return int(math.log2(check_image_size(image_size))) - 2


def _widths(widths: Sequence[int], layers: int) -> list[int]:
    """The last ``layers`` widths (the reference's first layers are dropped for smaller images),
    repeating the first width when more layers are needed."""
    widths = list(widths)
    if layers > len(widths):
        widths = [widths[0]] * (layers - len(widths)) + widths
    return widths[len(widths) - layers:]


def he_initialise(module: nn.Module) -> None:
    """He (Kaiming-normal, ReLU gain) weights and zero biases for every (transposed) convolution.

    PyTorch's default initialisation (the reference's) shrinks the signal through this deep ReLU
    stack: sparse images such as MNIST then sit on a plateau at the mean image for hundreds of
    steps and the VAE's latent collapses before it leaves it. He initialisation keeps activations
    at scale, so short runs (the CPU profiles) learn from the first epoch."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)


def as_float_images(x: torch.Tensor) -> torch.Tensor:
    """uint8 images in 0..255 → float in [0, 1]; float images pass unchanged."""
    return x.float().div(255.0) if x.dtype == torch.uint8 else x


class ConvEncoder(nn.Module):
    """(x (n, channels, size, size) in [0, 1], s ignored) → (mean, logvar), each (n, z_dim).

    Args:
        channels: image channels (3 for RGB).
        image_size: side of the square input, a power of two ≥ 8.
        z_dim: latent dimension (reference 10).
        widths: channels of the stride-2 convolutions (reference 32, 32, 64, 64 at 64×64).
        hidden: channels of the 4×4 head convolution (reference 256).
    """

    def __init__(self, channels: int = 3, image_size: int = 64, z_dim: int = 10,
                 widths: Sequence[int] = TEACHER_WIDTHS, hidden: int = 256):
        super().__init__()
        self.channels, self.image_size, self.z_dim = channels, check_image_size(image_size), z_dim
        layers: list[nn.Module] = []
        previous = channels
        for width in _widths(widths, _downsamplings(image_size)):
            layers += [nn.Conv2d(previous, width, 4, 2, 1), nn.ReLU(True)]
            previous = width
        layers += [nn.Conv2d(previous, hidden, 4, 1), nn.ReLU(True), nn.Conv2d(hidden, 2 * z_dim, 1), nn.Flatten()]
        self.net = nn.Sequential(*layers)
        he_initialise(self)

    def forward(self, x: torch.Tensor, s: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if x.ndim != 4 or x.shape[1:] != (self.channels, self.image_size, self.image_size):
            raise ParameterError("x", f"tensor of shape {tuple(x.shape)}",
                                 f"(n, {self.channels}, {self.image_size}, {self.image_size})", "wrong shape")
        h = self.net(as_float_images(x))
        return h[:, :self.z_dim], h[:, self.z_dim:]


class ConvDecoder(nn.Module):
    """(z (n, z_dim), s (n,) int codes) → pixel logits (n, channels, size, size)."""

    def __init__(self, z_dim: int = 10, s_dim: int = 2, channels: int = 3, image_size: int = 64,
                 widths: Sequence[int] = TEACHER_WIDTHS, hidden: int = 256):
        super().__init__()
        self.z_dim, self.s_dim = z_dim, s_dim
        widths = _widths(widths, _downsamplings(image_size))[::-1]  # mirror of the encoder
        layers: list[nn.Module] = [nn.Conv2d(z_dim + s_dim, hidden, 1), nn.ReLU(True),
                                   nn.ConvTranspose2d(hidden, widths[0], 4), nn.ReLU(True)]  # 1×1 → 4×4
        for i, width in enumerate(widths):
            out = widths[i + 1] if i + 1 < len(widths) else channels
            layers.append(nn.ConvTranspose2d(width, out, 4, 2, 1))
            if i + 1 < len(widths):
                layers.append(nn.ReLU(True))
        self.net = nn.Sequential(*layers)
        he_initialise(self)

    def forward(self, z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        code = torch.cat([z, F.one_hot(s.long(), self.s_dim).to(z.dtype)], dim=1)
        return self.net(code[:, :, None, None])


def student_encoder(channels: int = 3, image_size: int = 64, z_dim: int = 10) -> ConvEncoder:
    """The distilled encoder E': half the teacher's widths, a 64-channel head (paper: "smaller")."""
    return ConvEncoder(channels, image_size, z_dim, widths=STUDENT_WIDTHS, hidden=64)


def bce_reconstruction(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of pixel logits against images in [0, 1]: summed over pixels and
    channels, averaged over the batch (nats per image), as the reference's ``calculate_re``."""
    return F.binary_cross_entropy_with_logits(logits, as_float_images(x), reduction="sum") / x.shape[0]


def prepare_images(images: np.ndarray, image_size: int) -> np.ndarray:
    """uint8 images (n, c, h, w) → float32 (n, c, image_size, image_size) in [0, 1].

    Square images up to 8 pixels smaller are zero-padded evenly (28×28 MNIST → 32×32, exact: the
    digits lie on black); anything else is resized with bilinear, anti-aliased interpolation (the
    reference resizes MNIST to 64×64).
    """
    image_size = check_image_size(image_size)
    images = np.asarray(images)
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ParameterError("images", f"array {images.dtype} of shape {images.shape}", "uint8 array (n, c, h, w)", "wrong shape")
    x = torch.from_numpy(images).float().div_(255.0)
    h, w = images.shape[2:]
    if (h, w) == (image_size, image_size):
        return x.numpy()
    if h == w and 0 < image_size - h <= 8 and (image_size - h) % 2 == 0:
        pad = (image_size - h) // 2
        return F.pad(x, (pad, pad, pad, pad)).numpy()
    out = [F.interpolate(x[i:i + 4096], size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False)
           for i in range(0, len(x), 4096)]
    return torch.cat(out).clamp_(0, 1).numpy()


class ImageFairDistillation:
    """Fair synthetic images by learning and distilling a fair representation (paper 000, images).

    Stage 1: the convolutional FairDisco teacher (BCE + KL + β·V²(z, s)); stage 2: the smaller
    convolutional student distilled with ``quality_loss`` + λ·KL; stage 3: x_fair = D(z', s) with
    z' ~ E'(x) and D the teacher's decoder.

    Args:
        channels, image_size: image shape (channels, image_size, image_size).
        s_dim: number of sensitive groups; z_dim: latent dimension (reference 10).
        beta_exponent: β = 10**beta_exponent (reference 7); dcov_estimator: ``posterior`` or ``sample``.
        quality_loss, lam: stage-2 loss (l1, mse, huber, mean_difference) and KL weight.
        teacher_epochs, student_epochs, batch_size, lr: optimisation (reference: 1000 epochs, batch 2048, Adam 1e-3).
        seed, device: everything is seeded from ``seed``; ``device`` is cpu or cuda.

    Both stages train a fixed budget of epochs on every image (the reference's rule), whatever the
    run's stopping rule for the tabular generators.
    """

    def __init__(self, channels: int = 3, image_size: int = 64, s_dim: int = 2, z_dim: int = 10, beta_exponent: int = 7,
                 dcov_estimator: str = "posterior", quality_loss: str = "l1", lam: float = 1.0, teacher_epochs: int = 1000,
                 student_epochs: int = 200, batch_size: int = 2048, lr: float = 1e-3, seed: int = 0, device: str = "cpu"):
        check_image_size(image_size)
        check_beta_exponent(beta_exponent)
        quality_loss_fn(quality_loss)
        check_lam(lam)
        if dcov_estimator not in DCOV_ESTIMATORS:
            raise ParameterError("dcov_estimator", dcov_estimator, "one of " + ", ".join(DCOV_ESTIMATORS))
        for name, value in (("teacher_epochs", teacher_epochs), ("student_epochs", student_epochs), ("batch_size", batch_size)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ParameterError(name, value, "a positive int")
        self.channels, self.image_size, self.s_dim, self.z_dim = channels, image_size, s_dim, z_dim
        self.beta_exponent, self.dcov_estimator, self.quality_loss, self.lam = beta_exponent, dcov_estimator, quality_loss, float(lam)
        self.teacher_epochs, self.student_epochs = int(teacher_epochs), int(student_epochs)
        self.batch_size, self.lr, self.seed, self.device = int(batch_size), lr, seed, device
        self.teacher: FairDisco | None = None
        self.student: ConvEncoder | None = None
        self.timings: dict[str, float] = {}

    def _check_inputs(self, x: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, s = np.asarray(x), np.asarray(s)
        expected = (self.channels, self.image_size, self.image_size)
        if x.ndim != 4 or x.shape[1:] != expected:
            raise ParameterError("x", f"array of shape {x.shape}", f"(n, {', '.join(map(str, expected))}) from prepare_images", "wrong shape")
        if s.shape != (len(x),) or not np.isin(s, np.arange(self.s_dim)).all():
            raise ParameterError("s", f"array of shape {s.shape}", f"({len(x)},) int codes in 0..{self.s_dim - 1}")
        return x, s.astype(np.int64)

    def fit(self, x: np.ndarray, s: np.ndarray) -> "ImageFairDistillation":
        """Stages 1 and 2 on images x (n, c, size, size) float in [0, 1] and group codes s (n,)."""
        x, s = self._check_inputs(x, s)
        started = time.perf_counter()
        torch.manual_seed(self.seed)  # initialisation of the teacher's networks
        encoder = ConvEncoder(self.channels, self.image_size, self.z_dim)
        decoder = ConvDecoder(self.z_dim, self.s_dim, self.channels, self.image_size)
        self.teacher = FairDisco(0, s_dim=self.s_dim, z_dim=self.z_dim, beta_exponent=self.beta_exponent,
                                 dcov_estimator=self.dcov_estimator, epochs=self.teacher_epochs, batch_size=self.batch_size,
                                 lr=self.lr, seed=self.seed, device=self.device, encoder=encoder, decoder=decoder,
                                 reconstruction=bce_reconstruction, patience=0, validation_fraction=0.0).fit(x, s)
        self.timings["teacher_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        torch.manual_seed(self.seed + 1)  # the student's initialisation
        self.student = student_encoder(self.channels, self.image_size, self.z_dim)
        training = Training(epochs=self.student_epochs, batch_size=self.batch_size, lr=self.lr, seed=self.seed + 1,
                            device=self.device)
        self.student_history = distill(self.teacher.encoder, self.student, x, s, training, quality_loss=self.quality_loss,
                                       lam=self.lam, teacher_target="sample")
        self.timings["student_seconds"] = time.perf_counter() - started
        return self

    @property
    def teacher_history(self):
        return self.teacher.history

    def _check_fitted(self) -> None:
        if self.student is None:
            raise RuntimeError("ImageFairDistillation is not fitted: call fit(x, s) first")

    @torch.no_grad()
    def latents(self, x: np.ndarray, s: np.ndarray, sample: bool = True, seed: int | None = None,
                chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """Teacher codes z and student codes z' of the images, each (n, z_dim) float32.

        ``sample=False`` gives the posterior means; otherwise one seeded draw of each.
        """
        self._check_fitted()
        x, s = self._check_inputs(x, s)
        torch.manual_seed(self.seed if seed is None else seed)
        self.teacher.encoder.eval()
        self.student.eval()
        teacher, student = [], []
        for start in range(0, len(x), chunk):
            xb = torch.as_tensor(x[start:start + chunk], dtype=torch.float32).to(self.device)
            t, st = self.teacher.encoder(xb), self.student(xb)
            teacher.append((reparameterise(*t) if sample else t[0]).cpu())
            student.append((reparameterise(*st) if sample else st[0]).cpu())
        return torch.cat(teacher).numpy(), torch.cat(student).numpy()

    @torch.no_grad()
    def generate(self, x: np.ndarray, s: np.ndarray, use: str = "student", seed: int | None = None,
                 chunk: int = 1024) -> np.ndarray:
        """Fair synthetic images, one per source image: D(z, s) with z ~ E'(x) (``use="student"``,
        paper 000) or z ~ E(x) (``use="teacher"``, plain FairDisco). ``s`` is the code given to the
        decoder (the source's own group, or another group for a counterfactual).

        Returns:
            float32 array (n, channels, size, size) of pixel probabilities in [0, 1].
        """
        self._check_fitted()
        if use not in ("student", "teacher"):
            raise ParameterError("use", use, "one of student, teacher")
        x, s = self._check_inputs(x, s)
        torch.manual_seed(self.seed if seed is None else seed)
        encoder = self.student if use == "student" else self.teacher.encoder
        encoder.eval()
        self.teacher.decoder.eval()
        out = []
        for start in range(0, len(x), chunk):
            xb = torch.as_tensor(x[start:start + chunk], dtype=torch.float32).to(self.device)
            sb = torch.as_tensor(s[start:start + chunk]).to(self.device)
            z = reparameterise(*encoder(xb))
            out.append(torch.sigmoid(self.teacher.decoder(z, sb)).cpu())
        return torch.cat(out).numpy()

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters of the teacher encoder E, the student E' and the decoder D."""
        self._check_fitted()
        counts = self.teacher.parameter_count()
        return {"teacher_encoder": counts["encoder"], "student_encoder": sum(p.numel() for p in self.student.parameters()),
                "decoder": counts["decoder"]}
