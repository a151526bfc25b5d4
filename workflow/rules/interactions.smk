# Rules of the interactions stage: one attention classifier per community
# (batched), then pairs and order-3 groups ranked by interaction score.


rule interactions:
    input:
        dosages="results/{cohort}/qc/dosages.npy",
        variants="results/{cohort}/qc/variants.tsv",
        samples="results/{cohort}/qc/samples.tsv",
        split="results/{cohort}/split/samples.tsv",
        communities="results/{cohort}/communities/communities.tsv",
    output:
        interactions="results/{cohort}/interactions/interactions.tsv",
        groups="results/{cohort}/interactions/groups.tsv",
    params:
        attention=config["attention"],
        seed=config["seed"],
    log:
        "logs/{cohort}/interactions.log",
    benchmark:
        "benchmarks/{cohort}/interactions.tsv"
    threads: config["attention"]["threads"]
    resources:
        # The dosage matrix is read whole; training adds models_per_chunk
        # subsets of it and a few hundred MB of activations.
        mem_mb=lambda wildcards, input: 2000
        + 3 * max(1, int(Path(input.dosages).stat().st_size / 1e6)),
        runtime=120,
        gpu=config["attention"]["gpu"],
    conda:
        "../../envs/attention.yaml"
    script:
        "../../scripts/interactions.py"
