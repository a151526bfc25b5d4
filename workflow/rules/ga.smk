# Rules of the ga stage: repeated GA runs scattered over jobs of
# ga.runs_per_job runs each, per size limit, then merged. Each run is seeded
# from (seed, size limit, run), so the merged tables do not depend on the
# batching.


rule ga_batch:
    input:
        # The scan's guide weights, when the scan runs and the guide is on.
        unpack(
            lambda wildcards: (
                {
                    "variant_scores": f"results/{wildcards.cohort}/scan/variant_scores.tsv"
                }
                if config["scan"]["enabled"] and config["ga"]["guide"]
                else {}
            )
        ),
        dosages="results/{cohort}/qc/dosages.npy",
        variants="results/{cohort}/qc/variants.tsv",
        samples="results/{cohort}/qc/samples.tsv",
        split="results/{cohort}/split/samples.tsv",
    output:
        selections="results/{cohort}/ga/batches/{size_limit}_{batch}.selections.tsv",
        generations="results/{cohort}/ga/batches/{size_limit}_{batch}.generations.tsv",
    params:
        ga=config["ga"],
        seed=config["seed"],
    log:
        "logs/{cohort}/ga/{size_limit}_{batch}.log",
    benchmark:
        "benchmarks/{cohort}/ga/{size_limit}_{batch}.tsv"
    threads: 1
    resources:
        # The training dosages are copied once; evaluators need a few MB.
        mem_mb=lambda wildcards, input: 1000 + 2 * int(input_mb(input)),
        runtime=lambda wildcards: 10 + config["ga"]["runs_per_job"],
    group:
        "ga"
    conda:
        "../../envs/selection.yaml"
    script:
        "../../scripts/ga_batch.py"


rule merge_ga:
    input:
        selections=lambda wildcards: expand(
            "results/{cohort}/ga/batches/{size_limit}_{batch}.selections.tsv",
            cohort=wildcards.cohort,
            size_limit=size_limits(),
            batch=range(n_ga_batches()),
        ),
        generations=lambda wildcards: expand(
            "results/{cohort}/ga/batches/{size_limit}_{batch}.generations.tsv",
            cohort=wildcards.cohort,
            size_limit=size_limits(),
            batch=range(n_ga_batches()),
        ),
    output:
        selections="results/{cohort}/ga/selections.tsv",
        generations="results/{cohort}/ga/generations.tsv",
    log:
        "logs/{cohort}/merge_ga.log",
    benchmark:
        "benchmarks/{cohort}/merge_ga.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/selection.yaml"
    script:
        "../../scripts/merge_ga.py"
