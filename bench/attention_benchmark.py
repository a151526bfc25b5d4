"""Benchmark of batched attention training on the CPU.

Measures, in one run on this machine:

1. Training M = 64 attention classifiers on 64 random subsets of 2 to 12
   variants of a 1,600-sample GAMETES file: one batched
   :func:`~fcsnet.attention.batched.train_models` call against a Python
   loop that trains the same 64 models one at a time (same seeds, same
   fixed number of epochs, early stopping off), at each torch thread count
   of ``--threads``. Reports models per second of each, the ratio at equal
   thread counts, and the ratio of each side at its own fastest thread
   count (target: batched at least 10 times faster), and the largest
   difference between the two sets of predictions.
2. GA fitness speed on the same 64 subsets: the ``attention`` evaluator
   (one batched call for the whole population) against the ``cells``
   evaluator, both with 5 folds, as subsets per second and a ratio.

Each training time is the best of ``--repeats`` runs, batched and loop
taking turns, so that bursts of load from other processes on a shared
machine count less.

Usage::

    .venv/bin/python bench/attention_benchmark.py [--threads 1 2] [--epochs 10] [--repeats 3]
        [--models-per-chunk 64] [--n-layers 1 --d-model 32 --n-heads 4]

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
import torch
from attention_common import (
    DATA_FILE,
    largest_logit_difference,
    load_cohort,
    random_subsets,
    train_batched,
    train_loop,
)

from fcsnet.attention.batched import TrainingConfig, model_seeds
from fcsnet.attention.model import ModelConfig


def time_training(dosages, status, subsets, seeds, model_config, training_config, repeats):
    """Return the best batched and loop seconds of ``repeats`` turns and the largest logit difference."""
    batched_seconds, loop_seconds = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        batched = train_batched(dosages, status, subsets, seeds, model_config, training_config)
        batched_seconds.append(time.perf_counter() - start)
        start = time.perf_counter()
        alone = train_loop(dosages, status, subsets, seeds, model_config, training_config)
        loop_seconds.append(time.perf_counter() - start)
    difference = largest_logit_difference(dosages, batched, alone)
    return min(batched_seconds), min(loop_seconds), difference


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
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=sorted({1, os.cpu_count() or 1}),
        help="torch intra-op thread counts to measure, each for both sides",
    )
    parser.add_argument(
        "--epochs", type=int, default=10, help="epochs per model (early stopping off)"
    )
    parser.add_argument("--models", type=int, default=64, help="number of models M")
    parser.add_argument(
        "--models-per-chunk",
        type=int,
        default=TrainingConfig().models_per_chunk,
        help="models trained together (TrainingConfig)",
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

    dosages, status, _ = load_cohort(arguments.data)
    subsets = random_subsets(dosages.shape[0], arguments.models, (2, 12), seed=1)
    seeds = model_seeds(0, len(subsets))
    model_config = ModelConfig(
        d_model=arguments.d_model, n_heads=arguments.n_heads, n_layers=arguments.n_layers
    )
    training_config = TrainingConfig(
        max_epochs=arguments.epochs,
        patience=arguments.epochs + 1,
        batch_size=64,
        models_per_chunk=arguments.models_per_chunk,
        device="cpu",
    )
    n_models = len(subsets)
    load_before = os.getloadavg()[0]
    by_threads = {}
    for threads in arguments.threads:
        torch.set_num_threads(threads)
        batched_seconds, loop_seconds, difference = time_training(
            dosages, status, subsets, seeds, model_config, training_config, arguments.repeats
        )
        by_threads[threads] = {
            "batched_seconds": round(batched_seconds, 3),
            "loop_seconds": round(loop_seconds, 3),
            "batched_models_per_second": round(n_models / batched_seconds, 2),
            "loop_models_per_second": round(n_models / loop_seconds, 2),
            "speedup": round(loop_seconds / batched_seconds, 2),
            "max_logit_difference": difference,
        }
    load_after = os.getloadavg()[0]
    fastest_batched = min(by_threads, key=lambda t: by_threads[t]["batched_seconds"])
    fastest_loop = min(by_threads, key=lambda t: by_threads[t]["loop_seconds"])
    best_speedup = (
        by_threads[fastest_loop]["loop_seconds"] / by_threads[fastest_batched]["batched_seconds"]
    )
    fitness = time_fitness(dosages, status, subsets, arguments.epochs, model_config)

    figures = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "model": f"d_model {model_config.d_model}, {model_config.n_heads} heads, "
        f"{model_config.n_layers} blocks",
        "repeats": arguments.repeats,
        "n_models": n_models,
        "n_samples": int(dosages.shape[1]),
        "epochs": arguments.epochs,
        "models_per_chunk": arguments.models_per_chunk,
        "by_threads": by_threads,
        "fastest_batched_threads": fastest_batched,
        "fastest_loop_threads": fastest_loop,
        "speedup_each_at_its_fastest": round(best_speedup, 2),
        "fitness_threads": arguments.threads[-1],
        "cells_subsets_per_second": round(n_models / fitness["cells"][0], 1),
        "attention_subsets_per_second": round(n_models / fitness["attention"][0], 2),
        "attention_slowdown_vs_cells": round(fitness["attention"][0] / fitness["cells"][0], 1),
        "cells_mean_fitness": round(fitness["cells"][1], 4),
        "attention_mean_fitness": round(fitness["attention"][1], 4),
    }
    print(f"machine: {figures['machine']}")
    print(f"1-minute load average before and after training: {figures['load_average_1min']}")
    print(f"model: {figures['model']}; best of {arguments.repeats} training runs")
    print(
        f"training {n_models} models, {arguments.epochs} epochs, {dosages.shape[1]} samples, "
        f"{arguments.models_per_chunk} models per chunk:"
    )
    print(
        f"  {'threads':>7}  {'batched s':>9}  {'models/s':>8}  {'loop s':>7}  {'models/s':>8}  ratio"
    )
    for threads, row in by_threads.items():
        print(
            f"  {threads:7d}  {row['batched_seconds']:9.2f}  {row['batched_models_per_second']:8.2f}"
            f"  {row['loop_seconds']:7.2f}  {row['loop_models_per_second']:8.2f}"
            f"  {row['speedup']:.2f}x"
        )
    print(
        f"  each side at its fastest (batched {fastest_batched} threads, loop {fastest_loop}): "
        f"{best_speedup:.2f}x (target >= 10x)"
    )
    largest = max(row["max_logit_difference"] for row in by_threads.values())
    print(f"  largest logit difference, batched vs loop: {largest:.2e}")
    print(f"fitness of {n_models} subsets, 5 folds, {arguments.threads[-1]} threads:")
    print(f"  cells      {fitness['cells'][0]:8.3f} s  mean AUC {figures['cells_mean_fitness']}")
    print(
        f"  attention  {fitness['attention'][0]:8.3f} s  mean AUC {figures['attention_mean_fitness']}"
    )
    print(f"  attention is {figures['attention_slowdown_vs_cells']}x slower than cells")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
