# Rules of the simulate stage: the built-in example cohort and any other
# cohort named under the config key 'simulations'.


rule simulate_cohort:
    output:
        genotypes="results/simulated/{simulation}/genotypes.vcf.gz",
        phenotypes="results/simulated/{simulation}/phenotypes.tsv",
        truth="results/simulated/{simulation}/truth.tsv",
        case_only="results/simulated/{simulation}/case_only.vcf.gz",
    params:
        simulation=lambda wildcards: config["simulations"][wildcards.simulation],
        seed=config["seed"],
    log:
        "logs/simulated/{simulation}/simulate_cohort.log",
    benchmark:
        "benchmarks/simulated/{simulation}/simulate_cohort.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/genotypes.yaml"
    script:
        "../../scripts/simulate_cohort.py"
