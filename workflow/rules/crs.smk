# Rules of the crs stage: community risk scores and case subtypes.


rule crs:
    input:
        unpack(crs_inputs),
    output:
        crs="results/{cohort}/crs/crs.tsv",
        stats="results/{cohort}/crs/community_stats.tsv",
    log:
        "logs/{cohort}/crs.log",
    benchmark:
        "benchmarks/{cohort}/crs.tsv"
    threads: 1
    resources:
        mem_mb=lambda wildcards, input: 1000 + 2 * dosages_mb(wildcards, input),
        runtime=lambda wildcards, input: 10 + dosages_mb(wildcards, input) // 100,
    conda:
        "../../envs/network.yaml"
    script:
        "../../scripts/crs.py"


rule subtypes:
    input:
        unpack(subtypes_inputs),
    output:
        subtypes="results/{cohort}/subtypes/subtypes.tsv",
        profiles="results/{cohort}/subtypes/profiles.tsv",
        selection="results/{cohort}/subtypes/selection.tsv",
        agreement="results/{cohort}/subtypes/agreement.tsv",
    log:
        "logs/{cohort}/subtypes.log",
    benchmark:
        "benchmarks/{cohort}/subtypes.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    conda:
        "../../envs/network.yaml"
    script:
        "../../scripts/subtypes.py"
