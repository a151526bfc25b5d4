# Rules of the scan stage: exhaustive pairwise interaction scan of the
# training samples, whose per-variant scores guide the GA.


rule scan_pairs:
    input:
        dosages="results/{cohort}/qc/dosages.npy",
        variants="results/{cohort}/qc/variants.tsv",
        samples="results/{cohort}/qc/samples.tsv",
        split="results/{cohort}/split/samples.tsv",
    output:
        pairs="results/{cohort}/scan/pairs.tsv",
        variant_scores="results/{cohort}/scan/variant_scores.tsv",
    params:
        options=config["scan"],
    log:
        "logs/{cohort}/scan_pairs.log",
    benchmark:
        "benchmarks/{cohort}/scan_pairs.tsv"
    threads: 2
    resources:
        # Genotype indicators (12 bytes per call) plus one chunk of counts
        # (about 200 bytes per pair).
        mem_mb=lambda wildcards, input: 1000
        + 12 * int(input_mb(input))
        + config["scan"]["chunk_size"] // 5000,
        runtime=lambda wildcards, input: 10 + int(input_mb(input)) // 2,
    conda:
        "../../envs/selection.yaml"
    script:
        "../../scripts/scan_pairs.py"
