"""Decaf's structural generator multiplies only each node's parent columns (and its noise column) by its input
layer. That is DECAF.py's masked full-width layer written with less arithmetic: this test computes the masked
reference from the same weights and asserts the same rows, with and without edge removal (same permutations)."""

from __future__ import annotations

import torch

from fairnb.paper000.baselines.decaf import _CausalGenerator


def masked_reference(generator: _CausalGenerator, z: torch.Tensor, removed: dict | None, rng: torch.Generator | None):
    """DECAF.py's forward: node i reads the whole row with its non-parent columns masked to 0, nodes in order."""
    out = torch.zeros(z.shape[0], generator.masks.shape[1])
    for i, (block, is_cat) in enumerate(zip(generator.slices, generator.categorical)):
        parents = out * generator.masks[i]
        for cut in (removed or {}).get(i, []):
            perm = torch.randperm(z.shape[0], generator=rng)
            parents = parents.clone()
            parents[:, cut] = parents[perm][:, cut]
        h = generator.trunk(torch.relu(generator.inputs[i](torch.cat([parents, z[:, i:i + 1]], dim=1))))
        logits = generator.outputs[i](h)
        value = torch.softmax(logits, dim=1) if is_cat else torch.sigmoid(logits)
        out = torch.cat([out[:, :block.start], value, out[:, block.stop:]], dim=1)
    return out


def test_the_parents_only_forward_is_the_masked_layer():
    torch.manual_seed(0)
    # four nodes: a categorical root (3 columns), a numeric child of it, a categorical grandchild (2 columns) of
    # both, a numeric node with every other node as parent; blocks laid out not in topological order
    slices = [slice(3, 6), slice(0, 1), slice(1, 3), slice(6, 7)]
    categorical = [True, False, True, False]
    parents = {0: [], 1: [0], 2: [0, 1], 3: [0, 1, 2]}
    masks = torch.zeros(4, 7)
    for child, found in parents.items():
        for j in found:
            masks[child, slices[j]] = 1.0
    generator = _CausalGenerator(7, slices, categorical, masks, hidden=16)
    z = torch.randn(50, 4)
    torch.testing.assert_close(generator(z), masked_reference(generator, z, None, None))
    removed = {2: [slices[0]], 3: [slices[0]]}  # edges from node 0 cut at generation, as DECAF-DP does
    ours = generator(z, removed=removed, rng=torch.Generator().manual_seed(3))
    reference = masked_reference(generator, z, removed, torch.Generator().manual_seed(3))
    torch.testing.assert_close(ours, reference)
    assert not torch.allclose(ours, generator(z))  # the removal changes the rows
