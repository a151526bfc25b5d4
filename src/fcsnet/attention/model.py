"""A small transformer that classifies case/control status from a variant subset.

Each variant of the subset is one token. A token is the sum of an identity
embedding (which variant it is) and a genotype embedding (0, 1, 2 or missing).
A classification token is prepended, a few pre-norm transformer blocks mix the
tokens, and a logistic head reads the classification token. Attention runs
through :func:`torch.nn.functional.scaled_dot_product_attention`, so that
PyTorch can pick a fused kernel (FlashAttention or memory-efficient attention)
on a GPU; :func:`attend` also has an explicit softmax path that returns the
attention weights for inspection. A single-block model on the CPU computes
its one attention row explicitly from per-model tables instead, because
that measured faster than SDPA for one query over a few tokens.

:func:`forward_stacked` runs M independent models at once from parameters
stacked along a leading model dimension (batched matrix products), which is
how :mod:`fcsnet.attention.batched` trains many models in one computation.
Parameters are created by :func:`init_parameters` from an explicit
:class:`torch.Generator`, in an order that does not depend on how much
padding a batch adds, so that a model trained alone and the same model
trained inside a padded batch start from the same weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

N_GENOTYPE_CODES = 4
"""Genotype codes: 0, 1, 2 alternate alleles and 3 for a missing call."""
MISSING_CODE = 3


MODEL_OPTIONS = ("d_model", "n_heads", "n_layers", "mlp_ratio")
"""Config keys that set :class:`ModelConfig` fields."""


@dataclass(frozen=True)
class ModelConfig:
    """Shape of one attention classifier.

    Attributes
    ----------
    d_model : int
        Width of every token vector.
    n_heads : int
        Attention heads per block; must divide ``d_model``.
    n_layers : int
        Number of pre-norm transformer blocks.
    mlp_ratio : int
        Hidden width of each block's feed-forward layer, as a multiple of ``d_model``.
    """

    d_model: int = 32
    n_heads: int = 4
    n_layers: int = 1
    mlp_ratio: int = 2

    def __post_init__(self) -> None:
        for name in ("d_model", "n_heads", "n_layers", "mlp_ratio"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1; got {getattr(self, name)}")
        if self.d_model % self.n_heads:
            raise ValueError(f"n_heads ({self.n_heads}) must divide d_model ({self.d_model})")


def genotype_codes(dosages: torch.Tensor) -> torch.Tensor:
    """Map int8 dosages (-1 missing) to genotype embedding indices 0..3."""
    codes = dosages.long()
    return torch.where(codes < 0, torch.full_like(codes, MISSING_CODE), codes)


def attend(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    key_mask: torch.Tensor | None,
    *,
    return_weights: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Compute multi-head attention over the unmasked keys.

    Parameters
    ----------
    query, key, value : torch.Tensor, float, shape (batch, n_heads, n_tokens, d_head)
    key_mask : torch.Tensor, bool, broadcastable to (batch, n_heads, n_tokens, n_tokens), or None
        True where a query may attend to a key, e.g. shape (batch, 1, 1, n_tokens)
        with False at padded keys. None attends to every key, which lets
        PyTorch use FlashAttention on a GPU (it takes no explicit mask).
    return_weights : bool
        Use the explicit softmax path and also return the attention weights,
        shape (batch, n_heads, n_tokens, n_tokens). Otherwise use
        scaled_dot_product_attention and return None as the weights.
    """
    if not return_weights:
        output = F.scaled_dot_product_attention(query, key, value, attn_mask=key_mask)
        return output, None
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.shape[-1])
    if key_mask is not None:
        scores = scores.masked_fill(~key_mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ value, weights


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Apply one linear layer per model: x (M, ..., d_in), weight (M, d_out, d_in), bias (M, d_out)."""
    n_models = x.shape[0]
    flat = x.reshape(n_models, -1, x.shape[-1])  # (M, rows, d_in)
    out = torch.baddbmm(bias.unsqueeze(1), flat, weight.transpose(1, 2))  # (M, rows, d_out)
    return out.reshape(*x.shape[:-1], weight.shape[1])


def _layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Apply layer norm with per-model affine terms: x (M, ..., d), weight and bias (M, d)."""
    shape = (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)
    return F.layer_norm(x, x.shape[-1:]) * weight.view(shape) + bias.view(shape)


def forward_stacked(
    parameters: dict[str, torch.Tensor],
    codes: torch.Tensor,
    variant_mask: torch.Tensor,
    config: ModelConfig,
    *,
    return_weights: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
    """Run M independent classifiers whose parameters are stacked on dimension 0.

    Turns the genotype codes into token rows with :func:`token_rows` and
    calls :func:`forward_from_rows`, which documents ``parameters``,
    ``variant_mask``, ``return_weights`` and the return values.

    Parameters
    ----------
    codes : torch.Tensor, int64, shape (M, batch, n_positions)
        Genotype codes from :func:`genotype_codes`; padded slots may hold any code.
    """
    return forward_from_rows(
        parameters, token_rows(codes), variant_mask, config, return_weights=return_weights
    )


def token_rows(codes: torch.Tensor) -> torch.Tensor:
    """Return each token's row in its model's token table.

    Row 0 is the classification token and row ``1 + 4 * position + code``
    the variant at ``position`` with genotype ``code``.

    Parameters
    ----------
    codes : torch.Tensor, integer, shape (..., n_positions)
        Genotype codes from :func:`genotype_codes`.

    Returns
    -------
    torch.Tensor, int64, shape (..., 1 + n_positions)
    """
    positions = torch.arange(codes.shape[-1], device=codes.device)
    rows = 1 + positions * N_GENOTYPE_CODES + codes.long()
    return torch.cat([rows.new_zeros(*rows.shape[:-1], 1), rows], dim=-1)


def forward_from_rows(
    parameters: dict[str, torch.Tensor],
    rows: torch.Tensor,
    variant_mask: torch.Tensor,
    config: ModelConfig,
    *,
    return_weights: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
    """Run M independent classifiers whose parameters are stacked on dimension 0.

    Takes tokens already turned into table rows by :func:`token_rows`, so
    that batched training computes the rows of all samples once instead of
    at every step; :func:`forward_stacked` takes genotype codes.

    Parameters
    ----------
    parameters : dict of str to torch.Tensor
        The tensors of :func:`init_parameters`, each with a leading model
        dimension M.
    rows : torch.Tensor, int64, shape (M, batch, 1 + n_positions)
        Each token's row in its model's table, from :func:`token_rows`.
    variant_mask : torch.Tensor, bool, shape (M, n_positions)
        True for the real variants of each model's subset, False for padding.
    return_weights : bool
        Use the explicit softmax path and also return each block's attention
        weights, tensors of shape (M, batch, n_heads, n_queries, 1 + n_positions).
        Token 0 is the classification token. n_queries is 1 + n_positions,
        except in the last block: it computes only the classification
        token's row, because that is the only row the head reads.

    Returns
    -------
    logits : torch.Tensor, float, shape (M, batch)
        Log-odds of case status.
    """
    n_models, batch, n_tokens = rows.shape
    n_positions = n_tokens - 1
    d_model, n_heads = config.d_model, config.n_heads
    d_head = d_model // n_heads
    # Before the first attention, a token depends only on its position and
    # genotype code. So the token vectors, the first block's layer norm and
    # its query/key/value projection are computed once per model on a table
    # of 1 + 4 * n_positions rows: the classification token, then every
    # position and code. Samples then gather their rows from this table.
    identity = parameters["identity.weight"][:, :n_positions]  # (M, n_positions, d_model)
    genotype = parameters["genotype.weight"]  # (M, N_GENOTYPE_CODES, d_model)
    table = identity.unsqueeze(2) + genotype.unsqueeze(1)  # (M, n_positions, 4, d_model)
    table = torch.cat(
        [parameters["cls"].view(n_models, 1, d_model), table.reshape(n_models, -1, d_model)], dim=1
    )  # (M, n_rows, d_model), n_rows = 1 + 4 * n_positions
    n_rows = table.shape[1]
    tabled_attention = config.n_layers == 1 and rows.device.type == "cpu"
    if not tabled_attention:
        # Offset each model's rows into its own part of the flattened table.
        rows = _offset_rows(rows, n_rows)
    # The residual stream: only the classification token's row when the
    # first block is also the last, because only that row is read.
    if config.n_layers == 1:
        x = table[:, :1].unsqueeze(1).expand(-1, batch, -1, -1)  # (M, batch, 1, d_model)
    else:
        x = F.embedding(rows, table.reshape(-1, d_model))  # (M, batch, n_tokens, d_model)
    first = "blocks.0."
    table_normed = _layer_norm(
        table,
        parameters[first + "attention_norm.weight"],
        parameters[first + "attention_norm.bias"],
    )  # (M, n_rows, d_model)
    # A single block reads only the classification token's query, which is
    # the same for every sample of a model. On the CPU its attention row is
    # computed from per-model tables (see _attend_from_tables), and only the
    # classification token's row needs a query.
    if tabled_attention:
        query_weight, key_value_weight = parameters[first + "qkv.weight"].split(
            [d_model, 2 * d_model], dim=1
        )
        query_bias, key_value_bias = parameters[first + "qkv.bias"].split(
            [d_model, 2 * d_model], dim=1
        )
        table_query = _linear(table_normed[:, :1], query_weight, query_bias)  # (M, 1, d_model)
        table_key_value = _linear(
            table_normed, key_value_weight, key_value_bias
        )  # (M, n_rows, 2 * d_model)
        first_qkv = None
    else:
        table_qkv = _linear(
            table_normed, parameters[first + "qkv.weight"], parameters[first + "qkv.bias"]
        )  # (M, n_rows, 3 * d_model)
        if config.n_layers == 1:
            # Only keys and values are gathered per sample.
            # NOTE: this branch runs only on cuda, which no test covers.
            first_query = table_qkv[:, :1, :d_model].unsqueeze(1).expand(-1, batch, -1, -1)
            first_key_value = F.embedding(rows, table_qkv[..., d_model:].reshape(-1, 2 * d_model))
            first_qkv = (first_query, *first_key_value.split(d_model, dim=-1))
        else:
            first_qkv = F.embedding(rows, table_qkv.reshape(-1, 3 * d_model)).split(d_model, dim=-1)

    key_mask = torch.cat([variant_mask.new_ones(n_models, 1), variant_mask], dim=1)
    # (M * batch, 1, 1, n_tokens): every query may attend to the real tokens only.
    key_mask = key_mask.view(n_models, 1, 1, 1, n_tokens).expand(-1, batch, -1, -1, -1)
    key_mask = key_mask.reshape(n_models * batch, 1, 1, n_tokens)
    if bool(variant_mask.all()):
        key_mask = None  # no padding in this chunk

    all_weights = []
    for index in range(config.n_layers):
        prefix = f"blocks.{index}."
        # Only the classification token feeds the head, so the last block
        # computes its query row alone: same logits, a fraction of the work.
        last = index == config.n_layers - 1
        n_queries = 1 if last else n_tokens

        def p(name: str, prefix: str = prefix) -> torch.Tensor:
            return parameters[prefix + name]

        if index == 0 and tabled_attention:
            mixed, weights = _attend_from_tables(
                table_query,
                table_key_value,
                rows,
                variant_mask,
                n_heads,
                need_weights=return_weights,
            )
        else:
            if index == 0:
                parts = first_qkv
            else:
                hidden = _layer_norm(x, p("attention_norm.weight"), p("attention_norm.bias"))
                qkv = _linear(hidden, p("qkv.weight"), p("qkv.bias"))
                # Split along the last dimension, not by indexing a permuted
                # copy: the backward of one split is one concatenation, while
                # each index's backward fills a zero tensor of the qkv size.
                parts = qkv.split(d_model, dim=-1)
            # parts: query, key, value, each (M, batch, n_tokens or 1, d_model)
            query, key, value = (
                part.reshape(n_models * batch, part.shape[2], n_heads, d_head).transpose(1, 2)
                for part in parts
            )  # each (M * batch, n_heads, n_tokens or 1, d_head)
            query = query[:, :, :n_queries]
            mixed, weights = attend(query, key, value, key_mask, return_weights=return_weights)
            mixed = mixed.transpose(1, 2).reshape(n_models, batch, n_queries, d_model)
        x = x[:, :, :n_queries] + _linear(mixed, p("projection.weight"), p("projection.bias"))
        hidden = _layer_norm(x, p("mlp_norm.weight"), p("mlp_norm.bias"))
        hidden = F.gelu(_linear(hidden, p("mlp_in.weight"), p("mlp_in.bias")))
        x = x + _linear(hidden, p("mlp_out.weight"), p("mlp_out.bias"))
        if return_weights:
            all_weights.append(weights.view(n_models, batch, n_heads, n_queries, n_tokens))

    cls_out = _layer_norm(
        x[:, :, 0], parameters["final_norm.weight"], parameters["final_norm.bias"]
    )
    logits = _linear(cls_out, parameters["head.weight"], parameters["head.bias"]).squeeze(-1)
    if return_weights:
        return logits, all_weights
    return logits  # (M, batch)


def _attend_from_tables(
    table_query: torch.Tensor,
    table_key_value: torch.Tensor,
    rows: torch.Tensor,
    variant_mask: torch.Tensor,
    n_heads: int,
    *,
    need_weights: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Compute the classification token's attention row of a single-block model explicitly.

    The query is the classification token's row of ``table_qkv`` and each
    key depends only on a token's position and genotype code, so the scores
    are computed once per model on the table and gathered per sample.
    Nothing is gathered per sample: the table contains exp(score - shift) next
    to exp(score - shift) times each value, with one shift per model and
    head (the largest score of its unpadded rows). One matrix product per
    model of the samples' one-hot table rows with this table gives each
    head's softmax numerator and denominator. If a denominator is below 1e-30
    (every score of a sample at least about 69 below the shift), the
    function falls back to an explicit softmax over gathered scores.

    NOTE: this replaces scaled_dot_product_attention on the CPU only. With
    one query over at most 13 tokens, PyTorch 2.13's CPU SDPA kernel spent
    about twice the time of the earlier gathered form of this path in
    forward and backward (see the attention benchmark in
    docs/benchmarks.md); on cuda SDPA is kept.

    Parameters
    ----------
    table_query : torch.Tensor, float, shape (M, 1, d_model)
        The classification token's query.
    table_key_value : torch.Tensor, float, shape (M, n_rows, 2 * d_model)
        Key and value of each table row; row 0 is the classification token.
    rows : torch.Tensor, int64, shape (M, batch, n_tokens)
        Each token's row in its model's table, from :func:`token_rows`.
    variant_mask : torch.Tensor, bool, shape (M, n_tokens - 1)
    need_weights : bool
        Also return the attention weights; None is returned otherwise.

    Returns
    -------
    mixed : torch.Tensor, float, shape (M, batch, 1, d_model)
    weights : torch.Tensor, float, shape (M * batch, n_heads, 1, n_tokens), or None
    """
    n_models, n_rows, width = table_key_value.shape
    d_model = width // 2
    d_head = d_model // n_heads
    batch, n_tokens = rows.shape[1:]
    query = table_query.view(n_models, 1, n_heads, d_head)
    keys, values = table_key_value.split(d_model, dim=-1)
    keys = keys.reshape(n_models, n_rows, n_heads, d_head)
    score_table = (keys * query).sum(dim=-1) / math.sqrt(d_head)  # (M, n_rows, n_heads)
    row_mask = None
    if not bool(variant_mask.all()):
        # Every table row of a padded position is masked.
        row_mask = torch.cat(
            [
                variant_mask.new_ones(n_models, 1),
                variant_mask.repeat_interleave(N_GENOTYPE_CODES, dim=1),
            ],
            dim=1,
        ).unsqueeze(-1)  # (M, n_rows, 1)
    # Tokens of one sample use distinct table rows, so each row is 0 or 1.
    one_hot = table_key_value.new_zeros(n_models, batch, n_rows).scatter_(2, rows, 1.0)
    shift = score_table.detach()
    if row_mask is not None:
        shift = shift.masked_fill(~row_mask, float("-inf"))
    exp_table = torch.exp(score_table - shift.amax(dim=1, keepdim=True))  # (M, n_rows, n_heads)
    if row_mask is not None:
        exp_table = exp_table.masked_fill(~row_mask, 0.0)
    values = values.reshape(n_models, n_rows, n_heads, d_head)
    weighted = torch.cat([exp_table.unsqueeze(-1) * values, exp_table.unsqueeze(-1)], dim=-1)
    sums = torch.bmm(one_hot, weighted.view(n_models, n_rows, n_heads * (d_head + 1)))
    sums = sums.view(n_models, batch, n_heads, d_head + 1)
    numerator, denominator = sums.split([d_head, 1], dim=-1)
    if bool((denominator < 1e-30).any()):
        return _attend_from_gathered_scores(
            score_table, values, _offset_rows(rows, n_rows), row_mask, need_weights
        )
    mixed = (numerator / denominator).reshape(n_models, batch, 1, d_model)
    weights = None
    if need_weights:
        gathered = exp_table.reshape(-1, n_heads).index_select(
            0, _offset_rows(rows, n_rows).reshape(-1)
        )
        gathered = gathered.view(n_models, batch, n_tokens, n_heads)
        weights = gathered / denominator.view(n_models, batch, 1, n_heads)
        weights = weights.permute(0, 1, 3, 2).reshape(n_models * batch, n_heads, 1, n_tokens)
    return mixed.view(n_models, batch, 1, d_model), weights


def _offset_rows(rows: torch.Tensor, n_rows: int) -> torch.Tensor:
    """Return the rows in all models' tables stacked, for rows of each model's own table; same shape."""
    offsets = torch.arange(rows.shape[0], device=rows.device) * n_rows
    return rows + offsets.view(-1, *(1,) * (rows.dim() - 1))


def _attend_from_gathered_scores(score_table, values, rows, row_mask, need_weights):
    """Explicit-softmax fallback of :func:`_attend_from_tables` over gathered scores."""
    n_models, n_rows, n_heads, d_head = values.shape
    batch, n_tokens = rows.shape[1:]
    if row_mask is not None:
        score_table = score_table.masked_fill(~row_mask, float("-inf"))
    scores = score_table.reshape(-1, n_heads).index_select(0, rows.reshape(-1))
    weights = torch.softmax(scores.view(n_models, batch, n_tokens, n_heads), dim=2)
    gathered = values.reshape(-1, n_heads, d_head).index_select(0, rows.reshape(-1))
    gathered = gathered.view(n_models, batch, n_tokens, n_heads, d_head)
    mixed = (weights.unsqueeze(-1) * gathered).sum(dim=2).reshape(n_models, batch, 1, -1)
    if not need_weights:
        return mixed, None
    weights = weights.permute(0, 1, 3, 2).reshape(n_models * batch, n_heads, 1, n_tokens)
    return mixed, weights


class AttentionClassifier(nn.Module):
    """One attention classifier over the variant tokens of one subset.

    A thin module around :func:`forward_stacked` with a model dimension of
    one, for use outside batched training.

    Parameters
    ----------
    config : ModelConfig
    n_variants : int
        Number of variants in the subset.
    generator : torch.Generator, optional
        Source of the initial weights (see :func:`init_parameters`).
    """

    def __init__(
        self, config: ModelConfig, n_variants: int, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.config = config
        self.n_variants = n_variants
        initial = init_parameters(config, n_variants, n_variants, generator or torch.Generator())
        self.weights = nn.ParameterDict(
            {name.replace(".", "__"): nn.Parameter(value) for name, value in initial.items()}
        )

    def stacked_parameters(self) -> dict[str, torch.Tensor]:
        """Return the parameters with a leading model dimension of one."""
        return {name.replace("__", "."): value.unsqueeze(0) for name, value in self.weights.items()}

    def forward(
        self, codes: torch.Tensor, return_weights: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Return the logits, shape (batch,), for codes of shape (batch, n_variants)."""
        mask = torch.ones(1, self.n_variants, dtype=torch.bool, device=codes.device)
        output = forward_stacked(
            self.stacked_parameters(),
            codes.unsqueeze(0),
            mask,
            self.config,
            return_weights=return_weights,
        )
        if return_weights:
            logits, weights = output
            return logits[0], [w[0] for w in weights]
        return output[0]


def init_parameters(
    config: ModelConfig, n_variants: int, n_positions: int, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """Draw the parameters of one classifier, float32, on the CPU.

    Only the identity rows of the ``n_variants`` real variants are drawn; the
    ``n_positions - n_variants`` padding rows are zero. Every other tensor has
    a shape that does not depend on ``n_positions``, and tensors are drawn in
    a fixed order, so the same generator state gives the same model whatever
    the padding.
    """
    if not 1 <= n_variants <= n_positions:
        raise ValueError(
            f"n_variants must be between 1 and n_positions ({n_positions}); got {n_variants}"
        )
    d_model = config.d_model
    hidden = config.mlp_ratio * d_model

    def normal(*shape: int, std: float) -> torch.Tensor:
        return torch.randn(*shape, generator=generator) * std

    identity = torch.zeros(n_positions, d_model)
    identity[:n_variants] = normal(n_variants, d_model, std=0.5)
    parameters = {
        "identity.weight": identity,
        "genotype.weight": normal(N_GENOTYPE_CODES, d_model, std=0.5),
        "cls": normal(d_model, std=0.5),
    }
    for index in range(config.n_layers):
        prefix = f"blocks.{index}."
        parameters |= {
            prefix + "attention_norm.weight": torch.ones(d_model),
            prefix + "attention_norm.bias": torch.zeros(d_model),
            prefix + "qkv.weight": normal(3 * d_model, d_model, std=d_model**-0.5),
            prefix + "qkv.bias": torch.zeros(3 * d_model),
            prefix + "projection.weight": normal(d_model, d_model, std=d_model**-0.5),
            prefix + "projection.bias": torch.zeros(d_model),
            prefix + "mlp_norm.weight": torch.ones(d_model),
            prefix + "mlp_norm.bias": torch.zeros(d_model),
            prefix + "mlp_in.weight": normal(hidden, d_model, std=d_model**-0.5),
            prefix + "mlp_in.bias": torch.zeros(hidden),
            prefix + "mlp_out.weight": normal(d_model, hidden, std=hidden**-0.5),
            prefix + "mlp_out.bias": torch.zeros(d_model),
        }
    parameters |= {
        "final_norm.weight": torch.ones(d_model),
        "final_norm.bias": torch.zeros(d_model),
        "head.weight": normal(1, d_model, std=d_model**-0.5),
        "head.bias": torch.zeros(1),
    }
    return parameters
