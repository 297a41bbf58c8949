"""Decaf (van Breugel et al. 2021): a causally-aware GAN with fair edge removal at generation.

Implemented from the paper and the authors' ``decaf/DECAF.py`` (synthcity's plugin cannot be
installed beside our torch/numpy pins). What we keep and what we chose:

- **Graph.** Decaf needs a DAG over the columns. The authors learn or seed one; we use a
  *hand-specified* DAG per dataset (``DAGS``), written in tiers — demographics → family and
  education → work → outcome — following the causal graph of Zhang, Wu & Wu (2017) for Adult
  and the same tiers for COMPAS. The book prints it.
- **Structural generator.** One node per column, generated in topological order. Node i gets
  its parents' encoded values (all other columns masked to 0) and one standard-normal noise
  value z_i, passes them through its own input layer, a trunk shared by all nodes (2 × Linear
  (h, h) + ReLU, as in DECAF.py) and its own output layer: softmax over the categories of a
  categorical column, sigmoid for a min-max scaled numeric column (the role of synthcity's
  ``nonlin_out``). Training generates sequentially, like DECAF.py's ``training_step``.
- **Critic and loss.** WGAN-GP critic Linear(d, h) → ReLU → Linear(h, h) → ReLU → Linear(h, 1),
  gradient penalty 10, one critic and one generator step per batch, AdamW (lr 1e-3, betas
  (0.5, 0.999), weight decay 1e-2); the generator loss adds DECAF.py's ADS-GAN term
  −λ_p · mean_i sqrt(mean_j (x_ij − x̂_ij)² + ε).
- **Fairness at generation (DECAF-DP).** Demographic parity needs Y ⊥ A in the generated data,
  so every directed path A → … → Y is cut: each edge from the sensitive attribute A into the
  target or into an ancestor of the target is removed at generation time. As in DECAF.py, a
  removed parent's values are replaced by a random permutation across the generated batch, so
  the child sees A's marginal distribution but not the record's own A. ``fairness="ftu"`` cuts
  only A → Y (fairness through unawareness); ``"none"`` generates from the full graph.

Hyper-parameters: ``fairnb.paper000.baselines.hyperparameters.HYPERPARAMETERS["decaf"]``.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import pandas as pd
import torch
from torch import nn

from fairnb.nn import losses as losses_module, train as train_module
from fairnb.paper000.baselines import hyperparameters as hp
from fairnb.metrics.collapse import moment_distance
from fairnb.nn.losses import gradient_penalty
from fairnb.nn.store import ModelStore, array_checksum
from fairnb.nn.train import Convergence, EarlyStopping, progress, resolve_stopping, validation_split
from fairnb.nn.device import generator_for, resolve_device
from fairnb.paper000.baselines.base import (Settings, batches, check_epochs, check_finite, check_seed, check_training_input,
                                            restore_schema, start_sampling)
from fairnb.data import TabularDataset, TabularEncoder
from fairnb.errors import ParameterError, one_of

# the source files that define a trained Decaf generator (part of its model-store key)
DECAF_SOURCES = (__file__, hp.__file__, train_module.__file__, losses_module.__file__)

_ADULT_WORK = ["age", "sex", "race", "education", "marital-status"]
DAGS: dict[str, dict[str, list[str]]] = {
    # column -> parents. Tiers: demographics -> family/education -> work -> income.
    "adult": {
        "age": [], "sex": [], "race": [], "native-country": [],
        "education": ["age", "sex", "race", "native-country"],
        "education-num": ["education"],
        "marital-status": ["age", "sex", "race", "native-country"],
        "relationship": ["marital-status", "sex", "age"],
        "workclass": _ADULT_WORK,
        "occupation": _ADULT_WORK + ["workclass"],
        "hours-per-week": ["age", "sex", "education", "marital-status", "workclass", "occupation"],
        "capital-gain": ["age", "education", "workclass", "occupation"],
        "capital-loss": ["age", "education", "workclass", "occupation"],
        "income": ["age", "sex", "race", "native-country", "education", "education-num", "marital-status",
                   "relationship", "workclass", "occupation", "hours-per-week", "capital-gain", "capital-loss"],
    },
    # Tiers: demographics -> juvenile record -> adult record -> current charge -> recidivism.
    "compas": {
        "sex": [], "race": [], "age": [],
        "age_cat": ["age"],
        "juv_fel_count": ["age", "sex", "race"],
        "juv_misd_count": ["age", "sex", "race"],
        "juv_other_count": ["age", "sex", "race"],
        "priors_count": ["age", "sex", "race", "juv_fel_count", "juv_misd_count", "juv_other_count"],
        "c_charge_degree": ["age", "sex", "race", "priors_count"],
        "c_charge_desc": ["age", "sex", "race", "c_charge_degree"],
        "no_recid": ["sex", "race", "age", "age_cat", "juv_fel_count", "juv_misd_count", "juv_other_count",
                     "priors_count", "c_charge_degree", "c_charge_desc"],
    },
}
FAIRNESS = ("dp", "ftu", "none")


def topological_order(dag: dict[str, list[str]]) -> list[str]:
    """Columns so that every parent comes before its children (Kahn's algorithm, stable order).

    Raises ``ValueError`` when the graph has a cycle or names an unknown parent.
    """
    unknown = {p for parents in dag.values() for p in parents} - set(dag)
    if unknown:
        raise ValueError(f"DAG names parents that are not nodes: {sorted(unknown)}")
    order: list[str] = []
    remaining = dict(dag)
    while remaining:
        ready = [c for c, parents in remaining.items() if all(p in order for p in parents)]
        if not ready:
            raise ValueError(f"DAG has a cycle among {sorted(remaining)}")
        order += ready
        for c in ready:
            del remaining[c]
    return order


def ancestors(dag: dict[str, list[str]], node: str) -> set[str]:
    """Every node with a directed path into ``node``."""
    found: set[str] = set()
    stack = list(dag[node])
    while stack:
        parent = stack.pop()
        if parent not in found:
            found.add(parent)
            stack += dag[parent]
    return found


def biased_edges(dag: dict[str, list[str]], sensitive: str, target: str, fairness: str = "dp") -> dict[str, list[str]]:
    """Edges (child → [sensitive]) removed at generation.

    ``dp``: every edge from ``sensitive`` into ``target`` or an ancestor of ``target`` (cuts every
    directed path sensitive → target); ``ftu``: only ``sensitive → target``; ``none``: nothing.
    """
    if fairness not in FAIRNESS:
        raise ParameterError("fairness", fairness, one_of(FAIRNESS))
    if fairness == "none":
        return {}
    children = {target} if fairness == "ftu" else ancestors(dag, target) | {target}
    return {c: [sensitive] for c in sorted(children) if sensitive in dag[c]}


def dag_table(dataset: str) -> pd.DataFrame:
    """The hand-specified DAG of ``dataset`` as a table: column, parents (for the book)."""
    dag = DAGS[dataset]
    return pd.DataFrame([{"column": c, "parents": ", ".join(dag[c]) or "(root)"} for c in topological_order(dag)])


class _CausalGenerator(nn.Module):
    """Per-node input and output layers around a shared trunk (DECAF.py ``Generator_causal``).

    Node i's input layer reads the whole encoded row with every non-parent column masked to 0, as in
    DECAF.py; since a masked column contributes nothing to the layer's output (and receives a zero
    gradient), the forward pass multiplies only the parents' columns and the noise column by their
    weights — the same function in a fraction of the arithmetic (the full-width weights are kept).
    """

    def __init__(self, width: int, slices: list[slice], categorical: list[bool], masks: torch.Tensor, hidden: int):
        super().__init__()
        self.slices, self.categorical = slices, categorical
        self.register_buffer("masks", masks)  # (nodes, width): 1 on the encoded columns of the node's parents
        self.inputs = nn.ModuleList(nn.Linear(width + 1, hidden) for _ in slices)
        self.trunk = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.outputs = nn.ModuleList(nn.Linear(hidden, s.stop - s.start) for s in slices)
        # node i's parent nodes, in the order of their encoded columns (the mask's nonzero columns, ascending)
        self.parent_nodes = [sorted((j for j, s in enumerate(slices) if bool(masks[i, s.start:s.stop].any())),
                                    key=lambda j: slices[j].start) for i in range(len(slices))]
        # the input-layer columns each node multiplies: its parents' columns, then the noise column
        self.input_columns = [torch.tensor([c for j in parents for c in range(slices[j].start, slices[j].stop)] + [width])
                              for parents in self.parent_nodes]
        # the encoded row's blocks in column order, to assemble the output
        self.column_order = sorted(range(len(slices)), key=lambda j: slices[j].start)

    def forward(self, z: torch.Tensor, removed: dict[int, list[slice]] | None = None,
                rng: torch.Generator | None = None) -> torch.Tensor:
        """Noise (batch, nodes) → encoded rows (batch, width), nodes in topological order.

        ``removed``: node index → parent slices replaced by a batch permutation (edge removal).
        """
        values: list[torch.Tensor | None] = [None] * len(self.slices)
        for i, (block, is_cat) in enumerate(zip(self.slices, self.categorical)):
            parents = {j: values[j] for j in self.parent_nodes[i]}
            for cut in (removed or {}).get(i, []):
                perm = torch.randperm(z.shape[0], generator=rng, device=rng.device if rng is not None else "cpu").to(z.device)
                for j in parents:
                    if self.slices[j].start < cut.stop and cut.start < self.slices[j].stop:
                        parents[j] = parents[j][perm]
            layer = self.inputs[i]
            columns = self.input_columns[i].to(layer.weight.device)
            x = torch.cat([*parents.values(), z[:, i:i + 1]], dim=1)
            h = self.trunk(torch.relu(nn.functional.linear(x, layer.weight.index_select(1, columns), layer.bias)))
            logits = self.outputs[i](h)
            values[i] = torch.softmax(logits, dim=1) if is_cat else torch.sigmoid(logits)
        return torch.cat([values[j] for j in self.column_order], dim=1)


class Decaf(Settings):
    """Decaf behind the ``SyntheticGenerator`` interface.

    Args:
        epochs: passes over the training rows (synthcity's n_iter = 1000); the budget when
            ``patience`` > 0.
        fairness: ``dp`` (DECAF-DP, default), ``ftu`` or ``none`` (see module doc).
        dag: column → parents; ``None`` = ``DAGS[dataset.name]``.
        seed, device: as everywhere.
        patience, min_delta, validation_fraction: the stopping rule (None: a fixed budget, nothing
            held out; a study passes its ``fairnb.nn.train.TrainingRule``). ``validation_fraction`` of the
            rows (seeded, ``fairnb.nn.train.validation_split``) is held out; after every epoch the
            generator (full graph, fixed noise) produces as many rows as are held out, and their
            ``moment_distance`` to the held-out rows (``fairnb.metrics.collapse``) is the validation
            criterion. With ``patience`` > 0 training stops once it has not improved by
            ``min_delta`` (relative) for ``patience`` epochs, and the best epoch's generator is kept.
        reuse: take the trained generator from the trained-model store when it was trained before
            (None or False: train afresh; a study passes its ``TrainingRule``'s ``reuse``).
            The edge removal acts at generation only, so every ``fairness`` shares one trained generator.

    Fitted attributes: ``generator_``, ``history_`` (one dict per epoch: critic and generator loss
    of the epoch's last batch, ``val_moment_distance`` with held-out rows, ``seconds``),
    ``learning_curve_`` (the same as a DataFrame), ``convergence_`` (``fairnb.nn.train.Convergence``),
    ``reused_`` (True when the generator came from the trained-model store),
    ``fit_seconds_``, ``dag_`` (the graph used), ``order_`` (its topological order),
    ``removed_edges_`` (child → parents cut at generation), ``encoder_``, ``dataset_``, ``sensitive_``, ``device_``.
    """

    name = "decaf"

    def __init__(self, epochs: int = 1000, fairness: str = "dp", dag: dict[str, list[str]] | None = None,
                 seed: int = 0, device: str = "auto", patience: int | None = None, min_delta: float | None = None,
                 validation_fraction: float | None = None, reuse: bool | None = None):
        self.epochs, self.fairness, self.dag, self.seed, self.device = epochs, fairness, dag, seed, device
        self.patience, self.min_delta, self.validation_fraction = patience, min_delta, validation_fraction
        self.reuse = reuse

    def _check_params(self, dataset: TabularDataset) -> dict[str, list[str]]:
        """Validate the settings; return the DAG to use."""
        check_epochs("epochs", self.epochs)
        if self.fairness not in FAIRNESS:
            raise ParameterError("fairness", self.fairness, one_of(FAIRNESS))
        check_seed(self.seed)
        self.rule_, self.validation_fraction_ = resolve_stopping(self.epochs, self.patience, self.min_delta, self.validation_fraction)
        dag = self.dag if self.dag is not None else DAGS.get(dataset.name)
        if dag is None:
            raise ParameterError("dataset", dataset.name, f"a dataset with a DAG ({one_of(DAGS)}) or pass dag=")
        if not isinstance(dag, dict) or set(dag) != set(dataset.frame.columns):
            raise ParameterError("dag", sorted(dag) if isinstance(dag, dict) else dag,
                                 f"one node per column of {dataset.name}: {list(dataset.frame.columns)}", "wrong nodes")
        try:
            topological_order(dag)
        except ValueError as error:
            raise ParameterError("dag", dag, "an acyclic graph over the columns", str(error)) from None
        return dag

    def fit(self, frame: pd.DataFrame, *, dataset: TabularDataset | str, sensitive: str) -> "Decaf":
        """Train on ``frame``; edges from ``sensitive`` are cut at generation (``fairness``).

        With ``reuse`` a generator trained before with the same settings, graph, rows and code comes
        from the trained-model store (``fit_seconds_`` is then its original training time).
        """
        dataset = check_training_input(frame, dataset, sensitive)
        dag = self._check_params(dataset)
        self.device_ = device = resolve_device(self.device)
        self.dataset_, self.sensitive_, self.dag_ = dataset, sensitive, dag
        self.order_ = order = topological_order(dag)
        self.removed_edges_ = biased_edges(dag, sensitive, dataset.target, self.fairness)
        categorical = [c for c in order if c not in dataset.numeric]
        numeric = [c for c in order if c in dataset.numeric]
        started = time.perf_counter()
        torch.manual_seed(self.seed)
        encoder = TabularEncoder(categorical, numeric, dataset.integer, scaling="minmax")
        encoder.fit(frame.astype({c: str for c in categorical}))
        blocks = {b.column: b for b in encoder.blocks}
        masks = torch.zeros(len(order), encoder.width)
        for i, column in enumerate(order):
            for parent in dag[column]:
                masks[i, blocks[parent].slice] = 1.0
        generator = _CausalGenerator(encoder.width, [blocks[c].slice for c in order], [c in categorical for c in order], masks,
                                     hp.get("decaf", "hidden")).to(device)
        encoded = torch.from_numpy(encoder.transform(frame.astype({c: str for c in categorical})))
        reuse = bool(self.reuse)

        def train() -> tuple[dict, dict]:
            history, self.convergence_ = self._train(generator, encoded, len(order))
            # the encoding and the training, not the store's input and output
            return {"generator": generator.state_dict()}, {"history": history, "seconds": time.perf_counter() - started,
                                                           "convergence": self.convergence_.as_dict(),
                                                           "stopped_early": self.convergence_.stopped == "early",
                                                           "budget_used": self.convergence_.epochs}

        if reuse:
            settings = {"model": "Decaf", "epochs": int(self.epochs), "dag": {c: list(p) for c, p in dag.items()},
                        "order": order, "seed": int(self.seed), "patience": self.rule_.patience, "min_delta": self.rule_.min_delta,
                        "validation_fraction": self.validation_fraction_, "device": device.type}
            state, metadata, self.reused_ = ModelStore().get_or_train(settings, array_checksum(encoded), DECAF_SOURCES, train,
                                                                      budget="epochs")
            if self.reused_:
                generator.load_state_dict(state["generator"])
                rule = self.rule_.describe("moment distance of generated to held-out rows") if self.rule_.early else None
                self.convergence_ = Convergence(**{**metadata["convergence"], **({"rule": rule} if rule else {})})
            history, seconds = metadata["history"], float(metadata["seconds"])
        else:
            _, metadata = train()
            history, seconds, self.reused_ = metadata["history"], float(metadata["seconds"]), False
        generator.eval()
        self.encoder_, self.generator_, self.history_ = encoder, generator, history
        self.learning_curve_ = pd.DataFrame(history)
        # a stored generator counts with its original training time
        self.fit_seconds_ = seconds
        return self

    def _train(self, generator: "_CausalGenerator", encoded: torch.Tensor, nodes: int) -> tuple[list[dict], "Convergence"]:
        """The WGAN-GP training of ``generator`` on the encoded rows (module doc), under the stopping rule."""
        device = self.device_
        rng = generator_for(self.seed, device)
        hidden, width = hp.get("decaf", "hidden"), encoded.shape[1]
        critic = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1)).to(device)
        fit_rows, held_rows = validation_split(len(encoded), self.validation_fraction_, self.seed)
        data, held = encoded[fit_rows].to(device), encoded[held_rows].to(device)
        kwargs = {"lr": hp.get("decaf", "lr"), "betas": hp.get("decaf", "betas"), "weight_decay": hp.get("decaf", "weight_decay")}
        opt_g = torch.optim.AdamW(generator.parameters(), **kwargs)
        opt_c = torch.optim.AdamW(critic.parameters(), **kwargs)
        gp_weight, privacy = hp.get("decaf", "gp_weight"), hp.get("decaf", "privacy_weight")
        # the validation draws: fixed noise, so the criterion is a function of the parameters
        fixed = torch.randn(len(held), nodes, device=device, generator=generator_for(self.seed + 7919, device))
        stopper = EarlyStopping(self.rule_, "moment distance of generated to held-out rows")
        history = []
        for epoch in progress(range(1, self.epochs + 1), "Decaf", total=self.epochs):
            epoch_started = time.perf_counter()
            for step, index in enumerate(batches(len(data), hp.get("decaf", "batch_size"), rng)):
                real = data[index.to(device)]
                with torch.no_grad():  # the critic's step needs the rows, not the generator's graph
                    fake = generator(torch.randn(len(real), nodes, device=device, generator=rng))
                critic_loss = critic(fake).mean() - critic(real).mean() + gp_weight * gradient_penalty(critic, real, fake, rng)
                opt_c.zero_grad()
                critic_loss.backward()
                opt_c.step()
                fake = generator(torch.randn(len(real), nodes, device=device, generator=rng))
                distance = torch.sqrt(((real - fake) ** 2).mean(dim=1) + 1e-8).mean()
                generator_loss = -critic(fake).mean() - privacy * distance
                check_finite(generator_loss, self.name, epoch, step)
                opt_g.zero_grad()
                generator_loss.backward()
                opt_g.step()
            row = {"epoch": epoch, "critic_loss": critic_loss.item(), "generator_loss": generator_loss.item(),
                   "seconds": time.perf_counter() - epoch_started}
            if len(held):
                with torch.no_grad():
                    generator.eval()
                    row["val_moment_distance"] = moment_distance(held, generator(fixed))
                    generator.train()
            history.append(row)
            if stopper.update(epoch, row.get("val_moment_distance"), lambda: copy.deepcopy(generator.state_dict())):
                break
        if stopper.best_state is not None and self.rule_.early:
            generator.load_state_dict(stopper.best_state)
        return history, stopper.result(len(history))

    @torch.no_grad()
    def sample(self, n: int, *, seed: int | None = None) -> pd.DataFrame:
        """``n`` synthetic records generated with the fair edges removed (seeded; ``seed=None``
        uses ``self.seed + 1``)."""
        n, _, rng = start_sampling(self, "generator_", n, seed, seed_offset=1)
        index = {c: i for i, c in enumerate(self.order_)}
        blocks = {b.column: b for b in self.encoder_.blocks}
        removed = {index[child]: [blocks[p].slice for p in parents] for child, parents in self.removed_edges_.items()}
        z = torch.randn(n, len(self.order_), device=self.device_, generator=rng)
        encoded = self.generator_(z, removed=removed, rng=rng).cpu().numpy()
        decoded = self.encoder_.inverse_transform(encoded)
        return restore_schema(decoded, self.dataset_)
