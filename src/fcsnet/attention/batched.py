"""Train many independent attention classifiers as one batched computation.

:func:`train_models` fits M models, each on its own variant subset, its own
training and validation samples and, optionally, its own status vector (for
example a label-permutation null). Subsets
of different sizes are padded to the longest subset of their chunk and the
padding is masked out of attention, so padding never changes a model's
output beyond float rounding. The parameters of a chunk are stacked along a
leading model dimension and :func:`~fcsnet.attention.model.forward_stacked`
runs all models of the chunk with batched matrix products.

Every model draws its initial weights and its minibatch order from its own
seed. It takes Adam steps only on minibatches that hold its own samples.
So a model trained inside a batch matches the same model trained alone up
to float rounding (about 1e-7 in the logits after a few epochs).

NOTE: padding changes the order of float sums inside attention, so the two
runs are not bitwise equal, and for some models training amplifies that
rounding. In one check of 16 models trained for 10 epochs at learning rate
0.01, one model's logits differed by up to 1.3 while its validation AUC
moved by 0.005; the other 15 differed by at most 7e-4.

Memory is bounded by ``models_per_chunk`` times ``batch_size`` (and
``eval_batch_size``), not by M, plus the token rows of every sample of a
chunk's models, 2 bytes per sample and token (int16, computed once per
chunk). Chunks take models in order of subset size.
"""

from __future__ import annotations

import ctypes
import logging
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import rankdata

from fcsnet.attention.model import (
    ModelConfig,
    forward_from_rows,
    forward_stacked,
    init_parameters,
    token_rows,
)

logger = logging.getLogger(__name__)


TRAINING_OPTIONS = (
    "max_epochs",
    "patience",
    "learning_rate",
    "weight_decay",
    "batch_size",
    "models_per_chunk",
    "eval_batch_size",
    "device",
    "mixed_precision",
)
"""Config keys that set :class:`TrainingConfig` fields."""


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation and batching settings of :func:`train_models`.

    Attributes
    ----------
    max_epochs : int
        Upper limit of passes over each model's training samples.
    patience : int
        Stop a model after this many epochs without a lower validation loss;
        its weights are reset to the best epoch.
    learning_rate, weight_decay : float
        Adam step size and decoupled (AdamW-style) weight decay.
    batch_size : int
        Training samples per minibatch and model.
    models_per_chunk : int
        Models trained together; with ``batch_size`` this bounds memory.
    eval_batch_size : int
        Samples per model in one forward pass during evaluation.
    device : str
        "auto" (cuda when available, else cpu), "cpu" or "cuda".
    mixed_precision : bool
        Use bfloat16 autocast on cuda; ignored on cpu, where training is
        float32 and deterministic for a given seed.
    """

    max_epochs: int = 40
    patience: int = 6
    learning_rate: float = 0.01
    weight_decay: float = 0.0
    batch_size: int = 256
    models_per_chunk: int = 64
    eval_batch_size: int = 4096
    device: str = "auto"
    mixed_precision: bool = True

    def __post_init__(self) -> None:
        for name in ("max_epochs", "patience", "batch_size", "models_per_chunk", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1; got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive; got {self.learning_rate}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be non-negative; got {self.weight_decay}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda'; got {self.device!r}")


def resolve_device(name: str) -> torch.device:
    """Return the torch device for a :class:`TrainingConfig` device name."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device 'cuda' was requested but torch finds no CUDA device; use 'auto' or 'cpu'"
        )
    return torch.device(name)


_GLIBC_TUNED = False
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers


def keep_freed_memory() -> None:
    """Let glibc keep freed blocks of up to 32 MiB in the process.

    Each training step of a chunk allocates and frees the same activations,
    a few blocks of 0.1-2 MiB. With glibc's defaults such blocks are often
    handed back to the OS when freed (by ``munmap`` or by trimming the top
    of the heap) and their pages are faulted in again at the next step.
    In 3-epoch training runs of 64 models this removed about 22,000 page
    faults per run and, as an estimate on a shared machine, about a tenth
    of the training time.
    This sets glibc's ``M_MMAP_THRESHOLD`` to 32 MiB and ``M_TRIM_THRESHOLD``
    to 1 GiB, once per process, so the heap keeps such blocks for reuse.
    The cost is that up to 1 GiB of freed memory may stay counted in the
    process's resident size. Other C libraries are left as they are.
    """
    global _GLIBC_TUNED
    if _GLIBC_TUNED or platform.libc_ver()[0] != "glibc":
        return
    _GLIBC_TUNED = True
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        logger.debug("glibc's mallopt is not available; malloc settings left unchanged")
        return
    mallopt(_M_MMAP_THRESHOLD, 32 * 2**20)
    mallopt(_M_TRIM_THRESHOLD, 2**30)
    logger.debug("glibc malloc keeps freed blocks of up to 32 MiB for reuse")


def model_seeds(seed: int, n_models: int) -> list[int]:
    """Derive one independent seed per model from a run seed."""
    return [int(value) for value in np.random.SeedSequence(seed).generate_state(n_models)]


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Return the area under the ROC curve (Mann-Whitney U), 0.5 for one class."""
    labels = np.asarray(labels, dtype=bool)
    n_cases = int(labels.sum())
    n_controls = labels.size - n_cases
    if n_cases == 0 or n_controls == 0:
        return 0.5
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_cases * (n_cases + 1) / 2) / (n_cases * n_controls))


def batched_roc_auc(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return the ROC AUC of each row.

    Parameters
    ----------
    scores : numpy.ndarray, float, shape (n_rows, n_samples)
    labels : numpy.ndarray, bool, shape (n_rows, n_samples) or (n_samples,)
    """
    labels = np.broadcast_to(np.asarray(labels, dtype=bool), scores.shape)
    n_cases = labels.sum(axis=1)
    n_controls = labels.shape[1] - n_cases
    ranks = rankdata(scores, axis=1)
    u = (ranks * labels).sum(axis=1) - n_cases * (n_cases + 1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = u / (n_cases * n_controls)
    return np.where((n_cases > 0) & (n_controls > 0), auc, 0.5)


def _as_model_rows(array: np.ndarray, n_models: int, n_samples: int, name: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim == 1:
        array = np.broadcast_to(array, (n_models, array.shape[0]))
    if array.shape != (n_models, n_samples):
        raise ValueError(
            f"{name} must have shape ({n_samples},) or ({n_models}, {n_samples}); got {array.shape}"
        )
    return array


@dataclass
class _Chunk:
    """Stacked best parameters of the models trained together."""

    models: np.ndarray  # int64 (n_models_in_chunk,), indices into TrainedModels.subsets
    n_positions: int
    parameters: dict[str, torch.Tensor]  # each (n_models_in_chunk, ...), on the CPU
    variant_mask: torch.Tensor  # bool (n_models_in_chunk, n_positions)


@dataclass
class TrainedModels:
    """The result of :func:`train_models`.

    Attributes
    ----------
    subsets : list of tuple of int
        Variant indices of each model, in dosage-matrix row order of the input.
    best_epoch_ : numpy.ndarray, int64, shape (n_models,)
        Epoch (1-based) whose weights were kept.
    validation_loss_, validation_auc_ : numpy.ndarray, float64, shape (n_models,)
        Validation log-loss and ROC AUC at the best epoch.
    """

    model_config: ModelConfig
    training_config: TrainingConfig
    subsets: list[tuple[int, ...]]
    best_epoch_: np.ndarray
    validation_loss_: np.ndarray
    validation_auc_: np.ndarray
    chunks: list[_Chunk] = field(repr=False)

    @property
    def n_models(self) -> int:
        return len(self.subsets)

    def logits(self, codes: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Return each model's logits on its own genotype-code rows.

        Parameters
        ----------
        codes : sequence of numpy.ndarray, int, shape (n_rows, len(subset))
            One array per model, columns in the order of the model's subset,
            values from :func:`~fcsnet.attention.model.genotype_codes` (0..3).
            All arrays must have the same number of rows.

        Returns
        -------
        list of numpy.ndarray, float64, shape (n_rows,)
        """
        if len(codes) != self.n_models:
            raise ValueError(f"expected codes for {self.n_models} models; got {len(codes)}")
        n_rows = {len(array) for array in codes}
        if len(n_rows) != 1:
            raise ValueError(f"every model needs the same number of rows; got {sorted(n_rows)}")
        n_rows = n_rows.pop() if n_rows else 0
        device = resolve_device(self.training_config.device)
        results: list[np.ndarray] = [np.zeros(0)] * self.n_models
        for chunk in self.chunks:
            padded = np.zeros((len(chunk.models), n_rows, chunk.n_positions), dtype=np.int64)
            for row, model in enumerate(chunk.models):
                padded[row, :, : len(self.subsets[model])] = codes[model]
            output = _evaluate_codes(
                chunk.parameters,
                chunk.variant_mask,
                torch.from_numpy(padded),
                self.model_config,
                self.training_config,
                device,
            )
            for model, logits in zip(chunk.models, output, strict=True):
                results[model] = logits
        return results

    def logits_of(self, model_index: int, codes: np.ndarray) -> np.ndarray:
        """Return one model's logits, float64 (n_rows,), on codes (n_rows, len(subset))."""
        chunk = next(c for c in self.chunks if model_index in c.models)
        row = int(np.flatnonzero(chunk.models == model_index)[0])
        k = len(self.subsets[model_index])
        parameters = {name: value[row : row + 1] for name, value in chunk.parameters.items()}
        padded = torch.from_numpy(np.asarray(codes, dtype=np.int64)[None, :, :k])
        device = resolve_device(self.training_config.device)
        return _evaluate_codes(
            parameters,
            chunk.variant_mask[row : row + 1, :k],
            padded,
            self.model_config,
            self.training_config,
            device,
        )[0]

    def predict_logits(
        self, dosages: np.ndarray, sample_index: np.ndarray | None = None
    ) -> np.ndarray:
        """Return the logits of every model on the given samples, shape (n_models, n_samples)."""
        dosages = np.asarray(dosages)
        if sample_index is not None:
            dosages = dosages[:, sample_index]
        codes = [_codes_of(dosages, subset).T for subset in self.subsets]
        return np.stack(self.logits(codes)) if codes else np.zeros((0, dosages.shape[1]))


def _codes_of(dosages: np.ndarray, subset: Sequence[int]) -> np.ndarray:
    """Return genotype codes of ``subset``, int64, shape (len(subset), n_samples)."""
    block = np.asarray(dosages[list(subset)], dtype=np.int64)
    return np.where(block < 0, 3, block)


def _forward_function(model_config: ModelConfig):
    def forward(parameters, codes, variant_mask):
        return forward_stacked(parameters, codes, variant_mask, model_config)

    return forward


def _evaluate_codes(
    parameters: dict[str, torch.Tensor],
    variant_mask: torch.Tensor,
    codes: torch.Tensor,
    model_config: ModelConfig,
    training_config: TrainingConfig,
    device: torch.device,
) -> list[np.ndarray]:
    """Run a chunk's models on codes of shape (n_models, n_rows, n_positions)."""
    n_models, n_rows, n_positions = codes.shape
    forward = _forward_function(model_config)
    on_device = {name: value.to(device) for name, value in parameters.items()}
    mask = variant_mask.to(device)
    outputs = []
    with torch.no_grad(), _autocast(device, training_config):
        for start in range(0, n_rows, training_config.eval_batch_size):
            batch = codes[:, start : start + training_config.eval_batch_size].to(device)
            outputs.append(forward(on_device, batch, mask).float().cpu())
    logits = torch.cat(outputs, dim=1) if outputs else torch.zeros(n_models, 0)
    return [row.double().numpy() for row in logits]


def _autocast(device: torch.device, training_config: TrainingConfig):
    enabled = device.type == "cuda" and training_config.mixed_precision
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def _padded_permutations(
    index_lists: list[np.ndarray], generators: list[np.random.Generator]
) -> np.ndarray:
    """Shuffle each model's sample indices; pad rows with -1, shape (n_models, max_len)."""
    width = max(len(indices) for indices in index_lists)
    padded = np.full((len(index_lists), width), -1, dtype=np.int64)
    for row, (indices, generator) in enumerate(zip(index_lists, generators, strict=True)):
        padded[row, : len(indices)] = generator.permutation(indices)
    return padded


def _gather_rows(rows: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Return the token rows of each model's minibatch: rows (M, n_samples, n_tokens), index (M, batch).

    Returns int64 token rows of shape (M, batch, n_tokens); index -1 reads sample 0.
    """
    n_models, n_samples, n_tokens = rows.shape
    # One index_select over all models' samples; torch.gather along the
    # sample dimension took about 3.5 times as long.
    offsets = torch.arange(n_models, device=rows.device).view(n_models, 1) * n_samples
    flat_index = (index.clamp(min=0) + offsets).view(-1)
    picked = rows.view(n_models * n_samples, n_tokens).index_select(0, flat_index)
    return picked.view(n_models, -1, n_tokens).long()


def _sample_rows(codes: np.ndarray, device: torch.device) -> torch.Tensor:
    """Return the token rows of every sample, int16, shape (M, n_samples, 1 + n_positions).

    ``codes`` is int8 of shape (M, n_positions, n_samples). The rows are
    computed once per chunk, one model at a time to bound the int64
    temporaries, so that a training step only gathers them.
    """
    n_models, n_positions, n_samples = codes.shape
    rows = torch.empty(n_models, n_samples, n_positions + 1, dtype=torch.int16)
    for model in range(n_models):
        rows[model] = token_rows(torch.from_numpy(codes[model].T.astype(np.int64)))
    return rows.to(device)


def _masked_losses(
    parameters, rows, variant_mask, index, labels, device, training_config, model_config
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return per-model mean log-loss and the logits over the samples in ``index``."""
    batch_rows = _gather_rows(rows, index.to(device))
    weight = (index >= 0).to(device=device, dtype=torch.float32)
    targets = torch.gather(labels, 1, index.clamp(min=0).to(device))
    with _autocast(device, training_config):
        logits = forward_from_rows(parameters, batch_rows, variant_mask, model_config)
    losses = F.binary_cross_entropy_with_logits(logits.float(), targets, reduction="none")
    per_model = (losses * weight).sum(dim=1) / weight.sum(dim=1).clamp(min=1.0)
    return per_model, logits.float()


def train_models(
    dosages: np.ndarray,
    subsets: Sequence[Sequence[int]],
    status: np.ndarray,
    training_mask: np.ndarray,
    validation_mask: np.ndarray,
    *,
    seeds: Sequence[int],
    model_config: ModelConfig | None = None,
    training_config: TrainingConfig | None = None,
) -> TrainedModels:
    """Train one attention classifier per variant subset, batched.

    Parameters
    ----------
    dosages : numpy.ndarray, int8, shape (n_variants, n_samples)
        Alternate-allele counts, -1 for a missing call.
    subsets : sequence of sequence of int
        Variant row indices of each model (M models); sizes may differ.
    status : numpy.ndarray, 0/1, shape (n_samples,) or (M, n_samples)
        Case status, shared by all models or one row per model.
    training_mask, validation_mask : numpy.ndarray, bool, shape (n_samples,) or (M, n_samples)
        Samples that each model trains on and early-stops on.
    seeds : sequence of int, length M
        Seed of each model's initial weights and minibatch order; see
        :func:`model_seeds`. A model given the same seed and data trains to
        the same weights alone or in any batch.
    model_config, training_config
        Defaults of :class:`ModelConfig` and :class:`TrainingConfig` when None.

    Returns
    -------
    TrainedModels
    """
    model_config = model_config or ModelConfig()
    training_config = training_config or TrainingConfig()
    dosages = np.asarray(dosages)
    if dosages.ndim != 2:
        raise ValueError(f"dosages must be 2-D (n_variants, n_samples); got shape {dosages.shape}")
    n_variants, n_samples = dosages.shape
    subsets = [tuple(int(index) for index in subset) for subset in subsets]
    n_models = len(subsets)
    if len(seeds) != n_models:
        raise ValueError(f"seeds must have one entry per subset ({n_models}); got {len(seeds)}")
    for subset in subsets:
        if not subset:
            raise ValueError("every subset must contain at least one variant; got an empty subset")
        if min(subset) < 0 or max(subset) >= n_variants:
            raise ValueError(f"subset {subset} has variant indices outside 0..{n_variants - 1}")
    status = _as_model_rows(status, n_models, n_samples, "status")
    training_mask = _as_model_rows(training_mask, n_models, n_samples, "training_mask").astype(bool)
    validation_mask = _as_model_rows(
        validation_mask, n_models, n_samples, "validation_mask"
    ).astype(bool)
    for name, mask in (("training_mask", training_mask), ("validation_mask", validation_mask)):
        empty = np.flatnonzero(mask.sum(axis=1) == 0)
        if empty.size:
            raise ValueError(f"{name} selects no samples for model(s) {empty[:5].tolist()}")

    device = resolve_device(training_config.device)
    keep_freed_memory()
    best_epoch = np.zeros(n_models, dtype=np.int64)
    best_loss = np.full(n_models, np.inf)
    best_auc = np.full(n_models, 0.5)
    chunks = []
    # Chunks take models in order of subset size, so that each chunk pads
    # its subsets to a length close to their own.
    by_size = np.argsort([len(subset) for subset in subsets], kind="stable")
    for start in range(0, n_models, training_config.models_per_chunk):
        members = by_size[start : start + training_config.models_per_chunk]
        chunk, epochs, losses, aucs = _train_chunk(
            dosages,
            [subsets[model] for model in members],
            status[members],
            training_mask[members],
            validation_mask[members],
            [seeds[model] for model in members],
            model_config,
            training_config,
            device,
        )
        chunk.models = members
        chunks.append(chunk)
        best_epoch[members] = epochs
        best_loss[members] = losses
        best_auc[members] = aucs
        logger.info(
            "trained models %d-%d of %d (chunk padded to %d variants) on %s",
            start + 1,
            start + len(members),
            n_models,
            chunk.n_positions,
            device,
        )
    return TrainedModels(
        model_config=model_config,
        training_config=training_config,
        subsets=subsets,
        best_epoch_=best_epoch,
        validation_loss_=best_loss,
        validation_auc_=best_auc,
        chunks=chunks,
    )


def _train_chunk(
    dosages,
    subsets,
    status,
    training_mask,
    validation_mask,
    seeds,
    model_config,
    training_config,
    device,
) -> tuple[_Chunk, np.ndarray, np.ndarray, np.ndarray]:
    """Train the models of one chunk; return their best weights and scores."""
    n_models = len(subsets)
    n_positions = max(len(subset) for subset in subsets)

    # Genotype codes of each model's subset, padded: (n_models, n_positions, n_samples).
    codes = np.zeros((n_models, n_positions, dosages.shape[1]), dtype=np.int8)
    variant_mask = torch.zeros(n_models, n_positions, dtype=torch.bool)
    for row, subset in enumerate(subsets):
        codes[row, : len(subset)] = _codes_of(dosages, subset)
        variant_mask[row, : len(subset)] = True
    rows_tensor = _sample_rows(codes, device)
    mask_tensor = variant_mask.to(device)
    labels = torch.as_tensor(np.asarray(status, dtype=np.float32), device=device)

    # Per-model initial weights and minibatch order, from the model's own seed only.
    initial = [
        init_parameters(model_config, len(subset), n_positions, torch.Generator().manual_seed(seed))
        for subset, seed in zip(subsets, seeds, strict=True)
    ]
    # All parameters of a model live in one row of a flat (n_models, n_parameters)
    # tensor, so that each Adam step is a handful of tensor operations.
    names = list(initial[0])
    shapes = [initial[0][name].shape for name in names]
    flat = (
        torch.stack(
            [torch.cat([weights[name].reshape(-1) for name in names]) for weights in initial]
        )
        .to(device)
        .requires_grad_()
    )
    best = flat.detach().clone()
    # Adam state, one row per model (see _adamw_step).
    first_moment = torch.zeros_like(flat)
    second_moment = torch.zeros_like(flat)
    step_counts = np.zeros(n_models, dtype=np.int64)
    order_generators = [np.random.default_rng([seed, 1]) for seed in seeds]
    training_lists = [np.flatnonzero(row) for row in training_mask]
    validation_index = torch.from_numpy(
        _padded_permutations(
            [np.flatnonzero(row) for row in validation_mask], [np.random.default_rng(0)] * n_models
        )
    )
    validation_labels = np.asarray(status, dtype=bool)

    best_epoch = np.zeros(n_models, dtype=np.int64)
    best_loss = np.full(n_models, np.inf)
    best_auc = np.full(n_models, 0.5)
    stopped = np.zeros(n_models, dtype=bool)
    for epoch in range(1, training_config.max_epochs + 1):
        order = torch.from_numpy(_padded_permutations(training_lists, order_generators))
        for begin in range(0, order.shape[1], training_config.batch_size):
            index = order[:, begin : begin + training_config.batch_size]
            # A model steps only on minibatches that hold its own samples and
            # only until it stops, exactly as it would if trained alone.
            active = (index >= 0).any(dim=1).numpy() & ~stopped
            parameters = _unflatten(flat, names, shapes)
            losses, _ = _masked_losses(
                parameters,
                rows_tensor,
                mask_tensor,
                index,
                labels,
                device,
                training_config,
                model_config,
            )
            (gradient,) = torch.autograd.grad(losses.sum(), [flat])
            _adamw_step(
                flat.detach(),
                gradient,
                first_moment,
                second_moment,
                step_counts,
                np.flatnonzero(active),
                training_config,
            )

        parameters = _unflatten(flat.detach(), names, shapes)
        loss, auc = _validation_scores(
            parameters,
            rows_tensor,
            mask_tensor,
            validation_index,
            labels,
            validation_labels,
            device,
            training_config,
            model_config,
        )
        improved = (loss < best_loss - 1e-6) & ~stopped
        best_loss = np.where(improved, loss, best_loss)
        best_auc = np.where(improved, auc, best_auc)
        best_epoch = np.where(improved, epoch, best_epoch)
        keep = torch.as_tensor(improved, device=device).view(n_models, 1)
        best = torch.where(keep, flat.detach(), best)
        stopped |= epoch - best_epoch >= training_config.patience
        if epoch % 10 == 0 or stopped.all():
            logger.info(
                "epoch %d: %d of %d models still training; median validation loss %.4f",
                epoch,
                int((~stopped).sum()),
                n_models,
                float(np.median(loss)),
            )
        if stopped.all():
            break

    chunk = _Chunk(
        models=np.arange(n_models),
        n_positions=n_positions,
        parameters={name: value.cpu() for name, value in _unflatten(best, names, shapes).items()},
        variant_mask=variant_mask,
    )
    return chunk, best_epoch, best_loss, best_auc


def _adamw_step(
    weights: torch.Tensor,
    gradient: torch.Tensor,
    first_moment: torch.Tensor,
    second_moment: torch.Tensor,
    step_counts: np.ndarray,
    members: np.ndarray,
    training_config: TrainingConfig,
) -> None:
    """Take one AdamW step, in place, for the models in ``members``.

    The tensors have one row per model, shape (n_models, n_parameters);
    ``step_counts`` (int64, one per model) is updated in place. Rows of
    other models are left unchanged.
    """
    if not members.size:
        return
    step_counts[members] += 1
    device = weights.device
    if members.size == step_counts.size and (step_counts == step_counts[0]).all():
        # Every model steps, and all have the same step count: one tensor
        # per list, which the fused kernel can split among threads.
        tensors = ([weights], [gradient], [first_moment], [second_moment])
        steps = [torch.full((), float(step_counts[0]), device=device)]
    else:
        # The fused kernel takes its own step count per tensor, so each model is one row view.
        tensors = tuple(
            [tensor[member] for member in members]
            for tensor in (weights, gradient, first_moment, second_moment)
        )
        steps = [torch.full((), float(step_counts[member]), device=device) for member in members]
    with torch.no_grad():
        torch._fused_adamw_(
            *tensors,
            [],
            steps,
            lr=training_config.learning_rate,
            beta1=0.9,
            beta2=0.999,
            weight_decay=training_config.weight_decay,
            eps=1e-8,
            amsgrad=False,
            maximize=False,
        )


def _unflatten(
    flat: torch.Tensor, names: list[str], shapes: list[torch.Size]
) -> dict[str, torch.Tensor]:
    """Split a flat (n_models, n_parameters) tensor into named views of shape (n_models, *shape)."""
    # One split, not a slice per tensor: the backward of a split is one
    # concatenation, while each slice's backward fills a zero tensor of the
    # whole flat size.
    pieces = torch.split(flat, [shape.numel() for shape in shapes], dim=1)
    return {
        name: piece.view(flat.shape[0], *shape)
        for name, shape, piece in zip(names, shapes, pieces, strict=True)
    }


def _validation_scores(
    parameters,
    rows,
    variant_mask,
    validation_index,
    labels,
    validation_labels,
    device,
    training_config,
    model_config,
) -> tuple[np.ndarray, np.ndarray]:
    """Return per-model validation log-loss and ROC AUC."""
    n_models, width = validation_index.shape
    loss_sum = torch.zeros(n_models, device=device)
    logits = []
    with torch.no_grad():
        for begin in range(0, width, training_config.eval_batch_size):
            index = validation_index[:, begin : begin + training_config.eval_batch_size]
            losses, batch_logits = _masked_losses(
                parameters, rows, variant_mask, index, labels, device, training_config, model_config
            )
            loss_sum += losses * (index >= 0).sum(dim=1).to(device)
            logits.append(batch_logits.cpu())
    counts = (validation_index >= 0).sum(dim=1).clamp(min=1).double().numpy()
    loss = loss_sum.double().cpu().numpy() / counts
    scores = torch.cat(logits, dim=1).double().numpy()
    index = validation_index.numpy()
    if (index >= 0).all():
        # Every model has the same number of validation samples, so one call scores them all.
        return loss, batched_roc_auc(scores, np.take_along_axis(validation_labels, index, axis=1))
    auc = np.empty(n_models)
    for row in range(n_models):
        valid = index[row] >= 0
        auc[row] = roc_auc(scores[row, valid], validation_labels[row, index[row, valid]])
    return loss, auc
