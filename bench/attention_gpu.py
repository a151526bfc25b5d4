"""Benchmark of batched attention training on a CUDA GPU (runs in under 5 minutes).

Measures on the first CUDA device, in one run:

1. The CPU benchmark's comparison on ``cuda``: M = 64 models on 64 random
   subsets of 2 to 12 variants of a 1,600-sample GAMETES file, one batched
   call against a Python loop over the same models (same seeds, fixed
   epochs), as models per second and a ratio, with bfloat16 autocast.
2. Throughput of one batched call at larger M (default 1,024 models).
3. Which scaled_dot_product_attention kernel ran: the backend flags of
   ``torch.backends.cuda`` and the CUDA kernel names recorded by
   ``torch.profiler`` for a padded chunk (boolean mask) and for an unpadded
   chunk (no mask, where FlashAttention is allowed).
4. Peak GPU memory (``torch.cuda.max_memory_allocated``) of each part.
5. Wall time of interaction ranking on a 20-variant heterogeneity file.

Usage::

    python bench/attention_gpu.py [--epochs 10] [--large-models 1024]

``--device cpu`` runs the same steps on the CPU without the GPU figures,
which checks the script itself on a machine without a GPU (use small
``--models``, ``--large-models`` and epochs there).

Prints a table and one JSON line with every figure. Exits with status 2
when torch sees no CUDA device.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import pandas as pd
import torch
from attention_common import (
    DATA_FILE,
    largest_logit_difference,
    load_cohort,
    random_subsets,
    train_batched,
    train_loop,
    training_mask,
)

from fcsnet.attention.batched import TrainingConfig, model_seeds
from fcsnet.attention.model import ModelConfig, forward_stacked, init_parameters

TIME_LIMIT_SECONDS = 240


def timed(function, device: str):
    """Run ``function``; return its result, wall seconds and peak GPU MiB (0 on cpu)."""
    on_gpu = device == "cuda"
    if on_gpu:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    result = function()
    if on_gpu:
        torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() / 2**20 if on_gpu else 0.0
    return result, time.perf_counter() - start, peak


def attention_kernels(model_config: ModelConfig, padded: bool) -> list[str]:
    """Return the CUDA kernel names of one training step's attention calls."""
    n_models, batch, n_positions = 64, 256, 12
    parameters = [
        init_parameters(model_config, n_positions, n_positions, torch.Generator().manual_seed(seed))
        for seed in range(n_models)
    ]
    stacked = {
        name: torch.stack([p[name] for p in parameters]).cuda().requires_grad_()
        for name in parameters[0]
    }
    codes = torch.randint(0, 4, (n_models, batch, n_positions), device="cuda")
    mask = torch.ones(n_models, n_positions, dtype=torch.bool, device="cuda")
    if padded:
        mask[::2, 8:] = False
    activities = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=activities) as profiler:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = forward_stacked(stacked, codes, mask, model_config)
        logits.float().sum().backward()
        torch.cuda.synchronize()
    names = {event.key for event in profiler.key_averages()}
    keywords = ("flash", "efficient", "fmha", "attention", "cudnn", "softmax", "sdpa")
    return sorted(name for name in names if any(word in name.lower() for word in keywords))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--epochs", type=int, default=10, help="epochs per model (early stopping off)"
    )
    parser.add_argument(
        "--models", type=int, default=64, help="models in the batched-versus-loop comparison"
    )
    parser.add_argument(
        "--large-models", type=int, default=1024, help="models in the throughput run"
    )
    parser.add_argument(
        "--interaction-epochs", type=int, default=60, help="max_epochs of interaction ranking"
    )
    parser.add_argument(
        "--device",
        choices=["cuda", "cpu"],
        default="cuda",
        help="cpu runs the same steps without GPU figures, to check the script itself",
    )
    arguments = parser.parse_args()
    device = arguments.device
    if device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device visible to torch; run this on a GPU machine", file=sys.stderr)
        return 2
    began = time.perf_counter()
    figures = {"device": "cpu", "torch": torch.__version__}
    if device == "cuda":
        figures |= {
            "device": torch.cuda.get_device_name(0),
            "cuda": torch.version.cuda,
            "flash_sdp_enabled": torch.backends.cuda.flash_sdp_enabled(),
            "mem_efficient_sdp_enabled": torch.backends.cuda.mem_efficient_sdp_enabled(),
            "math_sdp_enabled": torch.backends.cuda.math_sdp_enabled(),
            "cudnn_sdp_enabled": torch.backends.cuda.cudnn_sdp_enabled(),
        }
    dosages, status, names = load_cohort(DATA_FILE)
    validation_split = training_mask(dosages.shape[1])
    model_config = ModelConfig()
    training_config = TrainingConfig(
        max_epochs=arguments.epochs,
        patience=arguments.epochs + 1,
        batch_size=64,
        models_per_chunk=1024,
        device=device,
        mixed_precision=True,
    )

    def train(subsets, seeds):
        return train_batched(dosages, status, subsets, seeds, model_config, training_config)

    # Warm-up: CUDA context, kernels and autotuning are not part of the figures.
    train([(0, 1)], [0])

    subsets = random_subsets(dosages.shape[0], arguments.models, (2, 12), seed=1)
    seeds = model_seeds(0, len(subsets))
    batched, batched_seconds, batched_memory = timed(lambda: train(subsets, seeds), device)
    alone, loop_seconds, _ = timed(
        lambda: train_loop(dosages, status, subsets, seeds, model_config, training_config), device
    )
    difference = largest_logit_difference(dosages, batched, alone)
    figures |= {
        "n_models": len(subsets),
        "epochs": arguments.epochs,
        "batched_seconds": round(batched_seconds, 2),
        "loop_seconds": round(loop_seconds, 2),
        "batched_models_per_second": round(len(subsets) / batched_seconds, 2),
        "loop_models_per_second": round(len(subsets) / loop_seconds, 2),
        "speedup": round(loop_seconds / batched_seconds, 2),
        "batched_peak_mib": round(batched_memory, 1),
        "max_logit_difference": float(difference),
    }

    if time.perf_counter() - began < TIME_LIMIT_SECONDS / 2:
        large = random_subsets(dosages.shape[0], arguments.large_models, (2, 12), seed=2)
        _, large_seconds, large_memory = timed(
            lambda: train(large, model_seeds(1, len(large))), device
        )
        figures |= {
            "large_n_models": len(large),
            "large_seconds": round(large_seconds, 2),
            "large_models_per_second": round(len(large) / large_seconds, 1),
            "large_peak_mib": round(large_memory, 1),
        }

    if device == "cuda":
        figures["kernels_padded_chunk"] = attention_kernels(model_config, padded=True)
        figures["kernels_unpadded_chunk"] = attention_kernels(model_config, padded=False)

    if time.perf_counter() - began < TIME_LIMIT_SECONDS:
        from fcsnet.attention.interactions import rank_interactions

        communities = pd.DataFrame({"variant_id": names, "community": 1})
        (pairs, _), seconds, memory = timed(
            lambda: rank_interactions(
                dosages,
                status,
                names,
                communities,
                training_mask=validation_split,
                config={"device": device, "max_epochs": arguments.interaction_epochs},
                seed=0,
            ),
            device,
        )
        figures |= {
            "interactions_seconds": round(seconds, 2),
            "interactions_peak_mib": round(memory, 1),
            "interactions_top_pairs": [
                f"{a}x{b}" for a, b in pairs[["variant_a", "variant_b"]].head(2).to_numpy()
            ],
        }
    figures["total_seconds"] = round(time.perf_counter() - began, 1)

    for key, value in figures.items():
        print(f"{key:28s} {value}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
