"""Images (paper 000 on Colour-MNIST and CelebA): conv networks, training, grids, CelebA layout
checks, evaluation metrics and the notebook on a generated CelebA fixture."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

import fairnb.data as data
from fairnb.paper000 import images
from fairnb.errors import DataNotFoundError, ParameterError
from fairnb.metrics import image_scores as image_metrics
from fairnb.paper000 import conv
from fairnb.nn.train import Training, gaussian_kl, train_vae
from fairnb.paper000.figures import real_vs_generated_figure, subgroup_grid_figure, subgroup_grids
from fairnb.runs.manifest import read_template

ROOT = Path(__file__).resolve().parents[1]




@pytest.fixture(scope="module")
def digits():
    """96 Colour-MNIST training images at 32 × 32 (stratified), with targets and colours."""
    prepared, missing = images.load_images("colour_mnist", 32, max_images=96, seed=0)
    assert missing is None
    return prepared


@pytest.mark.parametrize("size", [32, 64])
def test_conv_shapes_and_student_is_smaller(size):
    x = torch.rand(5, 3, size, size)
    s = torch.tensor([0, 1, 0, 1, 1])
    encoder, decoder = conv.ConvEncoder(3, size, 10), conv.ConvDecoder(10, 2, 3, size)
    mean, logvar = encoder(x, s)
    assert mean.shape == logvar.shape == (5, 10)
    assert decoder(mean, s).shape == (5, 3, size, size)
    student = conv.student_encoder(3, size, 10)
    assert student(x)[0].shape == (5, 10)
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert count(student) < count(encoder) / 4
    # uint8 input is scaled to [0, 1]: same code as the float image
    as_uint8 = (x * 255).round().to(torch.uint8)
    assert torch.allclose(encoder(as_uint8)[0], encoder(as_uint8.float() / 255)[0])


def test_conv_bad_shapes_raise():
    with pytest.raises(ParameterError, match="image_size"):
        conv.ConvEncoder(3, 48)
    with pytest.raises(ParameterError, match=r"\(n, 3, 32, 32\)"):
        conv.ConvEncoder(3, 32)(torch.rand(2, 3, 28, 28))
    model = conv.ImageFairDistillation(image_size=32)
    with pytest.raises(ParameterError, match="x"):
        model.fit(np.zeros((4, 3, 28, 28), np.float32), np.zeros(4, int))
    with pytest.raises(ParameterError, match="beta_exponent"):
        conv.ImageFairDistillation(beta_exponent=11)


def test_prepare_images_pads_mnist_and_resizes():
    images_u8 = np.zeros((2, 3, 28, 28), np.uint8)
    images_u8[0, 1, 0, 0] = 255
    padded = conv.prepare_images(images_u8, 32)
    assert padded.shape == (2, 3, 32, 32) and padded.dtype == np.float32
    assert padded[0, 1, 2, 2] == 1.0 and padded.sum() == 1.0  # shifted by the 2-pixel border, not blurred
    resized = conv.prepare_images(np.full((1, 3, 50, 50), 255, np.uint8), 64)
    assert resized.shape == (1, 3, 64, 64) and np.allclose(resized, 1.0, atol=1e-5)


def test_one_training_step_reduces_the_stage1_loss(digits):
    x = torch.as_tensor(digits.x_train[:64])
    s = torch.as_tensor(digits.sensitive_train[:64])
    torch.manual_seed(0)
    encoder, decoder = conv.ConvEncoder(3, 32, 10), conv.ConvDecoder(10, 2, 3, 32)

    def objective() -> float:  # the deterministic part (posterior means): BCE + KL
        with torch.no_grad():
            mean, logvar = encoder(x)
            return float(conv.bce_reconstruction(decoder(mean, s), x) + gaussian_kl(mean, logvar))

    before = objective()
    history = train_vae(encoder, decoder, torch.utils.data.TensorDataset(x, s), conv.bce_reconstruction,
                        Training(epochs=1, batch_size=64, seed=0))
    assert len(history) == 1
    assert objective() < before


def test_pipeline_runs_and_is_seeded(digits):
    x, s = digits.x_train[:48], digits.sensitive_train[:48]
    options = dict(image_size=32, teacher_epochs=1, student_epochs=1, batch_size=24, seed=3)
    first = conv.ImageFairDistillation(**options).fit(x, s)
    again = conv.ImageFairDistillation(**options).fit(x, s)
    generated = first.generate(x, s)
    assert generated.shape == x.shape and generated.min() >= 0 and generated.max() <= 1
    np.testing.assert_array_equal(generated, again.generate(x, s))
    z, z_student = first.latents(x, s)
    assert z.shape == z_student.shape == (48, 10)
    assert set(first.teacher_history.columns) >= {"reconstruction", "kl", "fairness"}
    assert "quality" in first.student_history.columns
    counts = first.parameter_counts()
    assert counts["student_encoder"] < counts["teacher_encoder"]
    import pickle

    restored = pickle.loads(pickle.dumps(first))  # a fitted pipeline survives a round trip
    np.testing.assert_array_equal(restored.generate(x, s), generated)


def test_grids_for_every_subgroup(digits):
    grids = subgroup_grids(digits.x_train, digits.target_train, digits.sensitive_train, per_group=4, nrow=4)
    present = {(int(t), int(s)) for t, s in zip(digits.target_train, digits.sensitive_train)}
    assert set(grids) == present
    for grid in grids.values():
        assert grid.shape[0] == 3 and grid.shape[1] >= 32
    fig = subgroup_grid_figure(grids, digits.target_labels, digits.sensitive_labels, "digit", "colour")
    assert len(fig.axes) == 10 * 2
    titles = {ax.get_title() for ax in fig.axes}
    assert {"colour = red", "colour = green"} <= titles
    pair = real_vs_generated_figure(digits.x_test[:6], {"generated": digits.x_test[:6] * 0.5}, n=6)
    assert len(pair.axes) == 2
    with pytest.raises(ParameterError):
        real_vs_generated_figure(digits.x_test[:6], {"generated": digits.x_test[:6, :, :16]})


def test_celeba_fixture_loads(celeba_dir):
    celeba = data.load_celeba(celeba_dir, image_size=32)
    assert celeba.images.shape == (48, 3, 32, 32) and celeba.images.dtype == np.uint8
    assert set(np.unique(celeba.target)) == {0, 1} and set(np.unique(celeba.sensitive)) == {0, 1}
    assert (celeba.split == "test").sum() == 12
    prepared, missing = images.load_images("celeba", 32, data_path=str(celeba_dir))
    assert missing is None and prepared.x_test.shape == (12, 3, 32, 32)
    assert len(prepared.sizes()) == 4  # every (Male, Smiling) subgroup


def test_celeba_partial_read_holds_out_a_test_set(celeba_dir):
    prepared, _ = images.load_images("celeba", 32, max_images=16, data_path=str(celeba_dir))
    assert len(prepared.x_train) + len(prepared.x_test) == 20  # 1.25 × 16 images read, all official training images
    assert len(prepared.x_test) == 4 and any("held out" in rule for rule in prepared.rules)


def test_celeba_missing_folder_image_and_attribute(tmp_path, celeba_dir):
    with pytest.raises(DataNotFoundError, match="list_attr_celeba.txt"):
        data.load_celeba(tmp_path / "nothing")
    prepared, message = images.load_images("celeba", 32, data_path=str(tmp_path / "nothing"))
    assert prepared is None and "img_align_celeba" in message
    with pytest.raises(ParameterError, match="target='Gender'"):
        data.load_celeba(celeba_dir, target="Gender")
    (celeba_dir / "celeba" / "img_align_celeba" / "000007.jpg").unlink()
    with pytest.raises(DataNotFoundError, match="000007.jpg"):
        data.load_celeba(celeba_dir)
    shutil.rmtree(celeba_dir / "celeba" / "img_align_celeba")
    with pytest.raises(DataNotFoundError, match="img_align_celeba"):
        data.load_celeba(celeba_dir)


def test_downstream_scores_by_hand():
    y_true = np.array([1, 7, 2, 8, 3, 9, 0, 5])
    y_pred = np.array([1, 7, 6, 8, 3, 9, 5, 2])
    group = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    scores = image_metrics.downstream_scores("colour_mnist", y_true, y_pred, group)
    assert scores["accuracy"] == pytest.approx(5 / 8)
    # event digit >= 5: predicted rate 3/4 in group 0, 2/4 in group 1
    assert scores["positive_rate/0"] == 0.75 and scores["positive_rate/1"] == 0.5
    assert scores["dpr"] == pytest.approx(0.5 / 0.75)
    # group 0: TPR 2/2, FPR 1/2; group 1: TPR 1/2, FPR 1/2 → EOR = min(0.5/1, 1) = 0.5
    assert scores["eor"] == pytest.approx(0.5)
    assert image_metrics.binary_event("celeba", np.array([0, 1])).tolist() == [0, 1]
    with pytest.raises(ParameterError):
        image_metrics.binary_event("adult", y_true)


def test_classifier_learns_and_density_coverage(digits):
    classifier = image_metrics.train_classifier(digits.x_train, digits.target_train, 10, epochs=3, batch_size=32, seed=0)
    assert classifier.history["loss"].iloc[-1] < classifier.history["loss"].iloc[0]
    assert image_metrics.embed(classifier, digits.x_test[:5]).shape == (5, image_metrics.EMBEDDING_DIM)
    same = image_metrics.embedding_density_coverage(classifier, digits.x_test, digits.x_test.copy(), k=3)
    assert same["coverage"] == 1.0
    blank = image_metrics.embedding_density_coverage(classifier, digits.x_test, np.zeros_like(digits.x_test), k=3)
    assert blank["coverage"] < 0.2 and blank["density"] < same["density"]


def _papermill(tmp_path: Path, *parameters: str) -> nbformat.NotebookNode:
    out = tmp_path / "images.ipynb"
    command = [sys.executable, "-m", "papermill", "-", str(out), "--log-level", "ERROR",  # the template on standard input
               "-p", "profile", "smoke", *parameters]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # as fairnb run sets per worker
    template = nbformat.writes(read_template(ROOT / "notebooks" / "paper000/07_images.md"))
    result = subprocess.run(command, input=template, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return nbformat.read(out, as_version=4)


def _outputs(notebook: nbformat.NotebookNode) -> str:
    return "\n".join(str(o.get("data", {}).get("text/html", "")) + str(o.get("text", ""))
                     for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", []))


@pytest.mark.slow
def test_notebook_on_celeba_fixture(tmp_path, celeba_dir):
    notebook = _papermill(tmp_path, "-p", "dataset", "celeba", "-p", "data_path", str(celeba_dir))
    metrics = [o["metadata"]["fairnb_metrics"] for cell in notebook.cells if cell.cell_type == "code"
               for o in cell.get("outputs", []) if "fairnb_metrics" in o.get("metadata", {})]
    assert len(metrics) == 1
    assert {"accuracy", "dpr", "eor", "density", "coverage", "real/accuracy"} <= set(metrics[0])
    assert "Data not available" not in _outputs(notebook)


@pytest.mark.slow
def test_notebook_without_celeba_shows_the_box(tmp_path):
    notebook = _papermill(tmp_path, "-p", "dataset", "celeba", "-p", "data_path", str(tmp_path / "absent"))
    text = _outputs(notebook)
    assert "Data not available here" in text and "list_attr_celeba.txt" in text
    assert not any("fairnb_metrics" in o.get("metadata", {}) for cell in notebook.cells if cell.cell_type == "code"
                   for o in cell.get("outputs", []))


def test_glued_figure_label_is_per_run():
    from fairnb.paper000.figures import glued_figure

    text = glued_figure("images_subgroups", "fig-images-subgroups-colour_mnist", "Caption.").data
    assert text.startswith("```{glue:figure} images_subgroups\n")
    assert ":name: fig-images-subgroups-colour-mnist\n" in text and text.endswith("Caption.\n```")
