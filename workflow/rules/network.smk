# Rules of the network stage: co-selection network and its communities.


rule network:
    input:
        unpack(qc_store_files),
        split="results/{cohort}/split/samples.tsv",
        selections="results/{cohort}/ga/selections.tsv",
    output:
        nodes="results/{cohort}/network/nodes.tsv",
        edges="results/{cohort}/network/edges.tsv",
        candidate_edges="results/{cohort}/network/candidate_edges.tsv",
        graphml="results/{cohort}/network/network.graphml",
    log:
        "logs/{cohort}/network.log",
    benchmark:
        "benchmarks/{cohort}/network.tsv"
    threads: 1
    resources:
        mem_mb=lambda wildcards, input: 1000 + 2 * dosages_mb(wildcards, input),
        runtime=lambda wildcards, input: 10 + dosages_mb(wildcards, input) // 100,
    conda:
        "../../envs/network.yaml"
    script:
        "../../scripts/network.py"


rule communities:
    input:
        unpack(qc_store_files),
        split="results/{cohort}/split/samples.tsv",
        nodes="results/{cohort}/network/nodes.tsv",
        edges="results/{cohort}/network/edges.tsv",
    output:
        communities="results/{cohort}/communities/communities.tsv",
        candidates="results/{cohort}/communities/candidates.tsv",
    log:
        "logs/{cohort}/communities.log",
    benchmark:
        "benchmarks/{cohort}/communities.tsv"
    threads: 1
    resources:
        mem_mb=lambda wildcards, input: 1000 + 2 * dosages_mb(wildcards, input),
        runtime=lambda wildcards, input: 10 + dosages_mb(wildcards, input) // 100,
    conda:
        "../../envs/network.yaml"
    script:
        "../../scripts/communities.py"
