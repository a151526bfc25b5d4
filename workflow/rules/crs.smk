# Rules of the crs stage: community risk scores and case subtypes.


def crs_inputs(wildcards):
    inputs = qc_store_files(wildcards)
    inputs["split"] = f"results/{wildcards.cohort}/split/samples.tsv"
    inputs["communities"] = f"results/{wildcards.cohort}/communities/communities.tsv"
    if has_case_only(wildcards.cohort):
        inputs["case_only"] = (
            f"results/{wildcards.cohort}/case_only/genotypes/dosages.npy"
        )
        inputs["case_only_variants"] = (
            f"results/{wildcards.cohort}/case_only/genotypes/variants.tsv"
        )
        inputs["case_only_samples"] = (
            f"results/{wildcards.cohort}/case_only/genotypes/samples.tsv"
        )
    return inputs


def subtypes_inputs(wildcards):
    inputs = {
        "crs": f"results/{wildcards.cohort}/crs/crs.tsv",
        "communities": f"results/{wildcards.cohort}/communities/communities.tsv",
    }
    if has_truth(wildcards.cohort):
        inputs["truth"] = cohort_value(wildcards.cohort, "truth")
    return inputs


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
