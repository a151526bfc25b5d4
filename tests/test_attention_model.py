"""Tests of the attention classifier: attention paths, masking and shapes."""

import pytest
import torch

from fcsnet.attention.model import (
    AttentionClassifier,
    ModelConfig,
    _attend_from_tables,
    attend,
    forward_stacked,
    genotype_codes,
    init_parameters,
    token_rows,
)


def stacked(config, sizes, n_positions, seeds):
    tensors = [
        init_parameters(config, size, n_positions, torch.Generator().manual_seed(seed))
        for size, seed in zip(sizes, seeds, strict=True)
    ]
    return {name: torch.stack([t[name] for t in tensors]) for name in tensors[0]}


def test_fallback_attention_equals_sdpa():
    generator = torch.Generator().manual_seed(0)
    query, key, value = (torch.randn(5, 2, 7, 4, generator=generator) for _ in range(3))
    key_mask = torch.tensor([True] * 5 + [False] * 2).view(1, 1, 1, 7)
    fused, no_weights = attend(query, key, value, key_mask)
    explicit, weights = attend(query, key, value, key_mask, return_weights=True)
    assert no_weights is None
    torch.testing.assert_close(fused, explicit, rtol=1e-5, atol=1e-6)
    assert weights.shape == (5, 2, 7, 7)
    torch.testing.assert_close(weights.sum(-1), torch.ones(5, 2, 7))
    assert torch.all(weights[..., 5:] == 0)


def test_model_logits_same_on_both_attention_paths():
    config = ModelConfig(d_model=8, n_heads=2, n_layers=3)
    model = AttentionClassifier(config, 6, torch.Generator().manual_seed(1))
    codes = torch.randint(0, 4, (11, 6), generator=torch.Generator().manual_seed(2))
    logits = model(codes)
    logits_explicit, weights = model(codes, return_weights=True)
    assert logits.shape == (11,)
    torch.testing.assert_close(logits, logits_explicit, rtol=1e-5, atol=1e-6)
    assert [w.shape for w in weights] == [(11, 2, 7, 7), (11, 2, 7, 7), (11, 2, 1, 7)]


def test_table_attention_equals_sdpa():
    # The CPU path of a single-block model against SDPA on the gathered
    # query, keys and values: two models, one with padded positions.
    generator = torch.Generator().manual_seed(4)
    n_models, batch, n_positions, d_model, n_heads = 2, 6, 5, 8, 2
    n_rows = 1 + 4 * n_positions
    table_qkv = torch.randn(n_models, n_rows, 3 * d_model, generator=generator)
    codes = torch.randint(0, 4, (n_models, batch, n_positions), generator=generator)
    rows = token_rows(codes)  # rows of each model's own table
    assert rows.shape == (n_models, batch, n_positions + 1)
    assert torch.all(rows[..., 0] == 0)
    assert torch.equal(rows[..., 1:], 1 + torch.arange(n_positions) * 4 + codes)
    variant_mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    mixed, weights = _attend_from_tables(
        table_qkv[:, :1, :d_model], table_qkv[..., d_model:], rows, variant_mask, n_heads
    )

    offset_rows = rows + torch.arange(n_models).view(n_models, 1, 1) * n_rows
    gathered = table_qkv.reshape(-1, 3 * d_model)[offset_rows]  # (M, batch, n_tokens, 3 * d_model)
    query, key, value = (
        part.reshape(n_models * batch, n_positions + 1, n_heads, -1).transpose(1, 2)
        for part in gathered.split(d_model, dim=-1)
    )
    key_mask = torch.cat([torch.ones(n_models, 1, dtype=torch.bool), variant_mask], dim=1)
    key_mask = key_mask.repeat_interleave(batch, dim=0).view(n_models * batch, 1, 1, -1)
    expected, _ = attend(query[:, :, :1], key, value, key_mask)
    expected = expected.transpose(1, 2).reshape(n_models, batch, 1, d_model)
    torch.testing.assert_close(mixed, expected, rtol=1e-5, atol=1e-6)
    assert weights.shape == (n_models * batch, n_heads, 1, n_positions + 1)
    assert torch.all(weights[batch:, :, :, 4:] == 0)


@pytest.mark.parametrize("n_layers", [1, 2])
def test_padding_changes_no_logit(n_layers):
    config = ModelConfig(d_model=8, n_heads=2, n_layers=n_layers)
    codes = torch.randint(0, 4, (1, 9, 3), generator=torch.Generator().manual_seed(3))
    alone = forward_stacked(
        stacked(config, [3], 3, [7]), codes, torch.ones(1, 3, dtype=torch.bool), config
    )
    padded_codes = torch.cat([codes, torch.randint(0, 4, (1, 9, 5))], dim=2)
    mask = torch.tensor([[True] * 3 + [False] * 5])
    padded = forward_stacked(stacked(config, [3], 8, [7]), padded_codes, mask, config)
    torch.testing.assert_close(alone, padded, rtol=1e-5, atol=1e-6)


def test_stacked_models_are_independent():
    config = ModelConfig(d_model=8, n_heads=2, n_layers=2)
    parameters = stacked(config, [4, 2, 3], 4, [1, 2, 3])
    codes = torch.randint(0, 4, (3, 10, 4), generator=torch.Generator().manual_seed(4))
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 0]], dtype=torch.bool)
    together = forward_stacked(parameters, codes, mask, config)
    for row in range(3):
        size = int(mask[row].sum())
        alone = forward_stacked(
            {name: value[row : row + 1, ...] for name, value in parameters.items()}
            | {"identity.weight": parameters["identity.weight"][row : row + 1, :size]},
            codes[row : row + 1, :, :size],
            mask[row : row + 1, :size],
            config,
        )
        torch.testing.assert_close(together[row : row + 1], alone, rtol=1e-5, atol=1e-6)


def test_missing_genotype_code():
    codes = genotype_codes(torch.tensor([[-1, 0, 1, 2]], dtype=torch.int8))
    assert codes.tolist() == [[3, 0, 1, 2]]


@pytest.mark.parametrize(
    ("options", "message"),
    [({"d_model": 10, "n_heads": 3}, "n_heads"), ({"n_layers": 0}, "n_layers")],
)
def test_config_rejects_bad_shape(options, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**options)
