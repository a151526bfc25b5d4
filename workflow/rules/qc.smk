# Rules of the qc stage: quality control of the genotype store, then the
# training/validation split of the samples that pass it.


rule qc:
    input:
        dosages="results/{cohort}/genotypes/dosages.npy",
        variants="results/{cohort}/genotypes/variants.tsv",
        samples="results/{cohort}/genotypes/samples.tsv",
    output:
        dosages="results/{cohort}/qc/dosages.npy",
        variants="results/{cohort}/qc/variants.tsv",
        samples="results/{cohort}/qc/samples.tsv",
        summary="results/{cohort}/qc/qc_summary.tsv",
    params:
        options=config["qc"],
    log:
        "logs/{cohort}/qc.log",
    benchmark:
        "benchmarks/{cohort}/qc.tsv"
    threads: 1
    resources:
        # The input matrix, the filtered copy and int8/bool temporaries.
        mem_mb=lambda wildcards, input: 1000 + 5 * genotype_store_mb(wildcards, input),
        runtime=lambda wildcards, input: 10 + genotype_store_mb(wildcards, input) // 50,
    conda:
        "../../envs/genotypes.yaml"
    script:
        "../../scripts/qc.py"


rule split:
    input:
        samples="results/{cohort}/qc/samples.tsv",
    output:
        samples="results/{cohort}/split/samples.tsv",
    params:
        validation_fraction=config["split"]["validation_fraction"],
        seed=config["seed"],
    log:
        "logs/{cohort}/split.log",
    benchmark:
        "benchmarks/{cohort}/split.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/genotypes.yaml"
    script:
        "../../scripts/split.py"
