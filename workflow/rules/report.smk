# Rules of the report stage: figures and sortable tables for
# `snakemake --report report.html`, one rule per figure family. Each takes a
# few seconds, so on a cluster they run on the host that runs Snakemake
# instead of waiting in the scheduler's queue.


localrules:
    plot_qc,
    plot_ga_convergence,
    plot_selection_frequency,
    plot_network,
    plot_crs,
    plot_subtypes,
    plot_interactions,
    report_table_community_stats,
    report_table_communities,
    report_table_interactions,
    report_done,


rule plot_qc:
    input:
        summary="results/{cohort}/qc/qc_summary.tsv",
    output:
        figure=report(
            "results/{cohort}/plots/qc_counts.png",
            caption="../report/qc_counts.rst",
            category="1. Quality control",
            subcategory="{cohort}",
            labels={"cohort": "{cohort}", "figure": "QC counts"},
        ),
    log:
        "logs/{cohort}/plot_qc.log",
    benchmark:
        "benchmarks/{cohort}/plot_qc.tsv"
    threads: 1
    resources:
        mem_mb=report_mem_mb,
        runtime=report_runtime,
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/plot_qc.py"


rule plot_ga_convergence:
    input:
        generations="results/{cohort}/ga/generations.tsv",
    output:
        figure=report(
            "results/{cohort}/plots/ga_convergence.png",
            caption="../report/ga_convergence.rst",
            category="2. GA feature selection",
            subcategory="{cohort}",
            labels={"cohort": "{cohort}", "figure": "GA convergence"},
        ),
    log:
        "logs/{cohort}/plot_ga_convergence.log",
    benchmark:
        "benchmarks/{cohort}/plot_ga_convergence.tsv"
    threads: 1
    resources:
        mem_mb=report_mem_mb,
        runtime=report_runtime,
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/plot_ga_convergence.py"


rule plot_selection_frequency:
    input:
        nodes="results/{cohort}/network/nodes.tsv",
        variants="results/{cohort}/qc/variants.tsv",
        communities="results/{cohort}/communities/communities.tsv",
    output:
        figure=report(
            "results/{cohort}/plots/selection_frequency.png",
            caption="../report/selection_frequency.rst",
            category="2. GA feature selection",
            subcategory="{cohort}",
            labels={"cohort": "{cohort}", "figure": "selection frequency"},
        ),
    log:
        "logs/{cohort}/plot_selection_frequency.log",
    benchmark:
        "benchmarks/{cohort}/plot_selection_frequency.tsv"
    threads: 1
    resources:
        mem_mb=report_mem_mb,
        runtime=report_runtime,
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/plot_selection_frequency.py"


rule plot_network:
    input:
        edges="results/{cohort}/network/edges.tsv",
        communities="results/{cohort}/communities/communities.tsv",
        nodes="results/{cohort}/network/nodes.tsv",
    output:
        figure=report(
            "results/{cohort}/plots/coselection_network.png",
            caption="../report/coselection_network.rst",
            category="3. Co-selection network",
            subcategory="{cohort}",
            labels={"cohort": "{cohort}", "figure": "co-selection network"},
        ),
    log:
        "logs/{cohort}/plot_network.log",
    benchmark:
        "benchmarks/{cohort}/plot_network.tsv"
    threads: 1
    resources:
        mem_mb=report_mem_mb,
        runtime=report_runtime,
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/plot_network.py"


rule plot_crs:
    input:
        crs="results/{cohort}/crs/crs.tsv",
    output:
        distributions=report(
            "results/{cohort}/plots/crs_distributions.png",
            caption="../report/crs_distributions.rst",
            category="4. Community risk scores",
            subcategory="{cohort}",
            labels={"cohort": "{cohort}", "figure": "CRS distributions"},
        ),
        roc=report(
            "results/{cohort}/plots/crs_roc.png",
            caption="../report/crs_roc.rst",
            category="4. Community risk scores",
            subcategory="{cohort}",
            labels={"cohort": "{cohort}", "figure": "CRS ROC curves"},
        ),
    log:
        "logs/{cohort}/plot_crs.log",
    benchmark:
        "benchmarks/{cohort}/plot_crs.tsv"
    threads: 1
    resources:
        mem_mb=report_mem_mb,
        runtime=report_runtime,
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/plot_crs.py"


rule plot_subtypes:
    input:
        profiles="results/{cohort}/subtypes/profiles.tsv",
    output:
        figure=report(
            "results/{cohort}/plots/subtype_profiles.png",
            caption="../report/subtype_profiles.rst",
            category="5. Subtypes",
            subcategory="{cohort}",
            labels={"cohort": "{cohort}", "figure": "subtype profiles"},
        ),
    log:
        "logs/{cohort}/plot_subtypes.log",
    benchmark:
        "benchmarks/{cohort}/plot_subtypes.tsv"
    threads: 1
    resources:
        mem_mb=report_mem_mb,
        runtime=report_runtime,
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/plot_subtypes.py"


rule plot_interactions:
    input:
        interactions="results/{cohort}/interactions/interactions.tsv",
    output:
        figure=report(
            "results/{cohort}/plots/interaction_heatmaps.png",
            caption="../report/interaction_heatmaps.rst",
            category="6. Interactions",
            subcategory="{cohort}",
            labels={"cohort": "{cohort}", "figure": "interaction heatmaps"},
        ),
    log:
        "logs/{cohort}/plot_interactions.log",
    benchmark:
        "benchmarks/{cohort}/plot_interactions.tsv"
    threads: 1
    resources:
        mem_mb=report_mem_mb,
        runtime=report_runtime,
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/plot_interactions.py"


rule report_table_community_stats:
    input:
        table="results/{cohort}/crs/community_stats.tsv",
    output:
        page=report(
            "results/{cohort}/plots/community_stats.html",
            caption="../report/community_stats.rst",
            category="4. Community risk scores",
            subcategory="{cohort}",
            labels={"cohort": "{cohort}", "figure": "community statistics (table)"},
        ),
    params:
        title="Community statistics",
        description="One row per community; click a column header to sort.",
    log:
        "logs/{cohort}/report_table_community_stats.log",
    benchmark:
        "benchmarks/{cohort}/report_table_community_stats.tsv"
    threads: 1
    resources:
        mem_mb=report_mem_mb,
        runtime=report_runtime,
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/report_table.py"


rule report_table_communities:
    input:
        table="results/{cohort}/communities/communities.tsv",
    output:
        page=report(
            "results/{cohort}/plots/communities.html",
            caption="../report/communities.rst",
            category="3. Co-selection network",
            subcategory="{cohort}",
            labels={"cohort": "{cohort}", "figure": "community members (table)"},
        ),
    params:
        title="Community members",
        description="One row per variant in a community; click a column header to sort.",
    log:
        "logs/{cohort}/report_table_communities.log",
    benchmark:
        "benchmarks/{cohort}/report_table_communities.tsv"
    threads: 1
    resources:
        mem_mb=report_mem_mb,
        runtime=report_runtime,
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/report_table.py"


rule report_table_interactions:
    input:
        table="results/{cohort}/interactions/interactions.tsv",
    output:
        page=report(
            "results/{cohort}/plots/interactions.html",
            caption="../report/interactions.rst",
            category="6. Interactions",
            subcategory="{cohort}",
            labels={"cohort": "{cohort}", "figure": "interactions (table)"},
        ),
    params:
        title="Ranked SNP-SNP interactions",
        description="One row per variant pair inside a community; click a column header to sort.",
    log:
        "logs/{cohort}/report_table_interactions.log",
    benchmark:
        "benchmarks/{cohort}/report_table_interactions.tsv"
    threads: 1
    resources:
        mem_mb=report_mem_mb,
        runtime=report_runtime,
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/report_table.py"


rule report_done:
    input:
        report_files,
    output:
        done="results/{cohort}/plots/done.txt",
    log:
        "logs/{cohort}/report_done.log",
    benchmark:
        "benchmarks/{cohort}/report_done.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/report_done.py"
