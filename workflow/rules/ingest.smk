# Rules of the ingest stage: genotype files and phenotype sheets of each
# cohort into the genotype store (docs/genotype-store.md).


rule ingest_genotypes:
    input:
        unpack(cohort_genotype_files),
        unpack(cohort_phenotype_files),
    output:
        dosages="results/{cohort}/genotypes/dosages.npy",
        variants="results/{cohort}/genotypes/variants.tsv",
        samples="results/{cohort}/genotypes/samples.tsv",
        summary="results/{cohort}/genotypes/ingest_summary.tsv",
    params:
        genotypes=lambda wildcards: cohort_value(wildcards.cohort, "genotypes"),
        format=lambda wildcards: cohort_value(wildcards.cohort, "format"),
        phenotypes=lambda wildcards: cohort_value(wildcards.cohort, "phenotypes"),
        phenotype_column=lambda wildcards: cohort_value(
            wildcards.cohort, "phenotype_column"
        ),
        options=config["ingest"],
    log:
        "logs/{cohort}/ingest_genotypes.log",
    benchmark:
        "benchmarks/{cohort}/ingest_genotypes.tsv"
    threads: config["ingest"]["threads"]
    resources:
        mem_mb=ingest_mem_mb,
        runtime=ingest_runtime,
    conda:
        "../../envs/genotypes.yaml"
    script:
        "../../scripts/ingest_genotypes.py"


rule ingest_case_only:
    input:
        unpack(case_only_genotype_files),
    output:
        dosages="results/{cohort}/case_only/genotypes/dosages.npy",
        variants="results/{cohort}/case_only/genotypes/variants.tsv",
        samples="results/{cohort}/case_only/genotypes/samples.tsv",
        summary="results/{cohort}/case_only/genotypes/ingest_summary.tsv",
    params:
        genotypes=lambda wildcards: cohort_value(
            wildcards.cohort, "case_only_genotypes"
        ),
        format=lambda wildcards: cohort_value(wildcards.cohort, "format"),
        options=config["ingest"],
    log:
        "logs/{cohort}/ingest_case_only.log",
    benchmark:
        "benchmarks/{cohort}/ingest_case_only.tsv"
    threads: config["ingest"]["threads"]
    resources:
        mem_mb=ingest_mem_mb,
        runtime=ingest_runtime,
    conda:
        "../../envs/genotypes.yaml"
    script:
        "../../scripts/ingest_case_only.py"
