# Rules of the scan stage: exhaustive pairwise interaction scan of the
# training samples, whose per-variant scores guide the GA.


def qc_dosages_mb(wildcards, input):
    return max(1, int(Path(input.dosages).stat().st_size / 1e6))


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
        # Genotype indicators (12 bytes per call) plus one chunk of counts.
        mem_mb=lambda wildcards, input: 1000
        + 12 * qc_dosages_mb(wildcards, input)
        + config["scan"]["chunk_size"] // 5000,
        runtime=lambda wildcards, input: 10 + qc_dosages_mb(wildcards, input) // 2,
    conda:
        "../../envs/selection.yaml"
    script:
        "../../scripts/scan_pairs.py"
