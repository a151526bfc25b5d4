"""Benchmark of batched attention training on the CPU.

Measures, in one run on this machine:

1. Training M = 64 attention classifiers on 64 random subsets of 2 to 12
   variants of a 1,600-sample GAMETES file: one batched
   :func:`~fcsnet.attention.batched.train_models` call against a Python
   loop that trains the same 64 models one at a time (same seeds, same
   fixed number of epochs, early stopping off). Reports models per second
   of each and their ratio (target: batched at least 10 times faster), and
   the largest difference between the two sets of predictions.
2. GA fitness speed on the same 64 subsets: the ``attention`` evaluator
   (one batched call for the whole population) against the ``cells``
   evaluator, both with 5 folds, as subsets per second and a ratio.

Each training time is the best of ``--repeats`` runs, so that bursts of load
from other processes on a shared machine count less.

Usage::

    .venv/bin/python bench/attention_benchmark.py [--threads 1] [--epochs 10] [--repeats 3]
        [--models-per-chunk 16] [--n-layers 1 --d-model 32 --n-heads 4]

Prints a table and one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from fcsnet.attention.batched import TrainingConfig, model_seeds, train_models
from fcsnet.attention.model import ModelConfig

REPOSITORY = Path(__file__).resolve().parents[1]
DATA_FILE = (
    REPOSITORY.parent / "shared" / "data" / "gametes" / "heterogeneity_r50" / "het_r50_01.tsv.gz"
)


def load_cohort(path: Path, seed: int = 0):
    """Return dosages (n_variants, n_samples) int8 and status; rows shuffled with ``seed``."""
    table = pd.read_csv(path, sep="\t").sample(frac=1.0, random_state=seed)
    status = table.pop("Class").to_numpy().astype(np.int8)
    return np.ascontiguousarray(table.to_numpy().T.astype(np.int8)), status


def random_subsets(n_variants: int, n_subsets: int, sizes: tuple[int, int], seed: int):
    rng = np.random.default_rng(seed)
    return [
        tuple(
            sorted(
                rng.choice(
                    n_variants, size=int(rng.integers(sizes[0], sizes[1] + 1)), replace=False
                )
            )
        )
        for _ in range(n_subsets)
    ]


def time_training(dosages, status, subsets, seeds, model_config, training_config, repeats):
    """Return the best batched and loop seconds of ``repeats`` runs and the largest logit difference."""
    batched_seconds, loop_seconds = [], []
    for _ in range(repeats):
        batched, alone, seconds = time_training_once(
            dosages, status, subsets, seeds, model_config, training_config
        )
        batched_seconds.append(seconds[0])
        loop_seconds.append(seconds[1])
    batched_logits = batched.predict_logits(dosages)
    loop_logits = np.stack([model.predict_logits(dosages)[0] for model in alone])
    difference = float(np.abs(batched_logits - loop_logits).max())
    return min(batched_seconds), min(loop_seconds), difference


def time_training_once(dosages, status, subsets, seeds, model_config, training_config):
    training_mask = np.arange(dosages.shape[1]) % 4 != 0
    start = time.perf_counter()
    batched = train_models(
        dosages,
        subsets,
        status,
        training_mask,
        ~training_mask,
        seeds=seeds,
        model_config=model_config,
        training_config=training_config,
    )
    batched_seconds = time.perf_counter() - start

    start = time.perf_counter()
    alone = [
        train_models(
            dosages,
            [subset],
            status,
            training_mask,
            ~training_mask,
            seeds=[seed],
            model_config=model_config,
            training_config=training_config,
        )
        for subset, seed in zip(subsets, seeds, strict=True)
    ]
    loop_seconds = time.perf_counter() - start
    return batched, alone, (batched_seconds, loop_seconds)


def time_fitness(dosages, status, subsets, epochs, model_config):
    from fcsnet.ga.fitness import make_evaluator

    figures = {}
    attention_options = {
        "max_epochs": epochs,
        "d_model": model_config.d_model,
        "n_heads": model_config.n_heads,
        "n_layers": model_config.n_layers,
    }
    for name, options in (("cells", {}), ("attention", attention_options)):
        evaluator = make_evaluator(name, dosages, status, n_folds=5, seed=0, **options)
        start = time.perf_counter()
        fitness = evaluator.evaluate(subsets)
        figures[name] = (time.perf_counter() - start, float(np.mean(fitness)))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument(
        "--epochs", type=int, default=10, help="epochs per model (early stopping off)"
    )
    parser.add_argument("--models", type=int, default=64, help="number of models M")
    parser.add_argument(
        "--models-per-chunk", type=int, default=16, help="models trained together (TrainingConfig)"
    )
    parser.add_argument("--data", type=Path, default=DATA_FILE, help="GAMETES file to train on")
    parser.add_argument(
        "--repeats", type=int, default=3, help="training runs; the best time of each side counts"
    )
    defaults = ModelConfig()
    parser.add_argument("--n-layers", type=int, default=defaults.n_layers, help="model blocks")
    parser.add_argument("--d-model", type=int, default=defaults.d_model, help="token width")
    parser.add_argument("--n-heads", type=int, default=defaults.n_heads, help="attention heads")
    arguments = parser.parse_args()

    torch.set_num_threads(arguments.threads)
    dosages, status = load_cohort(arguments.data)
    subsets = random_subsets(dosages.shape[0], arguments.models, (2, 12), seed=1)
    seeds = model_seeds(0, len(subsets))
    model_config = ModelConfig(
        d_model=arguments.d_model, n_heads=arguments.n_heads, n_layers=arguments.n_layers
    )
    load_before = os.getloadavg()[0]
    training_config = TrainingConfig(
        max_epochs=arguments.epochs,
        patience=arguments.epochs + 1,
        batch_size=64,
        models_per_chunk=arguments.models_per_chunk,
        device="cpu",
    )
    batched_seconds, loop_seconds, max_difference = time_training(
        dosages, status, subsets, seeds, model_config, training_config, arguments.repeats
    )
    load_after = os.getloadavg()[0]
    fitness = time_fitness(dosages, status, subsets, arguments.epochs, model_config)

    n_models = len(subsets)
    figures = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"{arguments.threads} threads",
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "model": f"d_model {model_config.d_model}, {model_config.n_heads} heads, "
        f"{model_config.n_layers} blocks",
        "repeats": arguments.repeats,
        "n_models": n_models,
        "n_samples": int(dosages.shape[1]),
        "epochs": arguments.epochs,
        "models_per_chunk": arguments.models_per_chunk,
        "batched_seconds": round(batched_seconds, 2),
        "loop_seconds": round(loop_seconds, 2),
        "batched_models_per_second": round(n_models / batched_seconds, 2),
        "loop_models_per_second": round(n_models / loop_seconds, 2),
        "speedup": round(loop_seconds / batched_seconds, 2),
        "max_logit_difference": max_difference,
        "cells_subsets_per_second": round(n_models / fitness["cells"][0], 1),
        "attention_subsets_per_second": round(n_models / fitness["attention"][0], 2),
        "attention_slowdown_vs_cells": round(fitness["attention"][0] / fitness["cells"][0], 1),
        "cells_mean_fitness": round(fitness["cells"][1], 4),
        "attention_mean_fitness": round(fitness["attention"][1], 4),
    }
    print(f"machine: {figures['machine']}")
    print(f"1-minute load average before and after training: {figures['load_average_1min']}")
    print(f"model: {figures['model']}; best of {arguments.repeats} training runs")
    print(f"training {n_models} models, {arguments.epochs} epochs, {dosages.shape[1]} samples:")
    print(
        f"  batched  {batched_seconds:8.2f} s  {figures['batched_models_per_second']:8.2f} models/s"
    )
    print(f"  loop     {loop_seconds:8.2f} s  {figures['loop_models_per_second']:8.2f} models/s")
    print(
        f"  speedup  {figures['speedup']:.2f}x (target >= 10x); max logit difference {max_difference:.2e}"
    )
    print(f"fitness of {n_models} subsets, 5 folds:")
    print(f"  cells      {fitness['cells'][0]:8.3f} s  mean AUC {figures['cells_mean_fitness']}")
    print(
        f"  attention  {fitness['attention'][0]:8.3f} s  mean AUC {figures['attention_mean_fitness']}"
    )
    print(f"  attention is {figures['attention_slowdown_vs_cells']}x slower than cells")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
