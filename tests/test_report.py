"""The Snakemake report of the example workflow, checked in its HTML and in headless Chromium.

The example workflow runs once per module on the small configuration of
tests/example_workflow.py; ``snakemake --report`` then builds report.html.
The Chromium tests install Debian's chromium with apt-get where it is
missing and are skipped, with the reason, where it cannot be installed.
The screenshot is kept as test-artifacts/report.png.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from example_workflow import REPORT_FILES, snakemake_command, write_example_workdir
from matplotlib.image import imread

pytestmark = pytest.mark.timeout(600)

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Let the report's React code render before the page is captured.
    "--virtual-time-budget=10000",
]


def run(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if "Error" in line]
        pytest.fail(
            f"{' '.join(command)} failed with status {result.returncode}:\n"
            + "\n".join(errors[:20])
            + f"\n...\n{result.stderr[-3000:]}"
        )
    return result


@pytest.fixture(scope="module")
def report(repository, tmp_path_factory) -> Path:
    """Run the example workflow and build its report; return the report's path."""
    workdir = tmp_path_factory.mktemp("report")
    write_example_workdir(repository, workdir)
    run(snakemake_command(repository, workdir, "--cores", "2"), timeout=400)
    run(snakemake_command(repository, workdir, "--report", "report.html"), timeout=120)
    return workdir / "report.html"


def embedded_json(page: str, variable: str):
    """Return the JSON value that the report assigns to ``var <variable>``."""
    # Each value sits in its own <script id="..."> element of the report template.
    element = variable.replace("_", "-")
    pattern = rf'<script id="{element}">\s*var {variable} = (.*?);\s*</script>'
    match = re.search(pattern, page, re.S)
    assert match, f"report.html lacks the variable {variable}"
    return json.loads(match.group(1))


def decoded(data_uri: str) -> bytes:
    header, _, payload = data_uri.partition(",")
    assert header.endswith(";base64"), header
    return base64.b64decode(payload)


def test_report_lists_every_figure_and_table(report):
    results = embedded_json(report.read_text(), "results")
    by_name = {Path(path).name: entry for path, entry in results.items()}
    assert sorted(by_name) == sorted(REPORT_FILES)
    for name in REPORT_FILES:
        entry = by_name[name]
        assert entry["labels"]["cohort"] == "example", name
        assert len(entry["caption"]) > 100, f"{name} has no caption"
        content = decoded(entry["data_uri"])
        if name.endswith(".png"):
            assert entry["mime_type"] == "image/png", name
            assert content[:4] == b"\x89PNG", name
        else:
            assert entry["mime_type"] == "text/html", name
            page = content.decode()
            assert '<table class="sortable">' in page, name
            assert page.count("<tr>") >= 2, f"{name} has no data rows"
    categories = embedded_json(report.read_text(), "categories")
    for name, category in REPORT_FILES.items():
        listed = [Path(path).name for path in categories[category]["example"]]
        assert name in listed, f"{name} not in category {category}"


def test_report_tables_hold_result_rows(report):
    results = embedded_json(report.read_text(), "results")
    by_name = {Path(path).name: entry for path, entry in results.items()}
    stats_page = decoded(by_name["community_stats.html"]["data_uri"]).decode()
    communities = (report.parent / "results/example/communities/communities.tsv").read_text()
    n_communities = len({line.split("\t")[1] for line in communities.splitlines()[1:]})
    assert n_communities >= 1
    assert stats_page.count("<tr>") >= 1 + n_communities
    interactions_page = decoded(by_name["interactions.html"]["data_uri"]).decode()
    assert "<th>variant_a</th>" in interactions_page
    assert "<th>score</th>" in interactions_page


def test_report_describes_workflow(report):
    description = embedded_json(report.read_text(), "workflow_desc")
    assert "fcsnet finds groups of interacting genetic variants" in description
    assert "6 runs per size limit" in description
    assert "used seed 3" in description


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("chromium is not installed, and installing it needs root and apt-get")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update"],
        [
            "apt-get",
            "install",
            "-y",
            "--no-install-recommends",
            "-o",
            "DPkg::Lock::Timeout=300",
            "chromium",
        ],
    ):
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=600, env=environment, check=False
        )
        if result.returncode != 0:
            pytest.skip(
                f"cannot install chromium: {' '.join(command)} failed: {result.stderr[-500:]}"
            )
    if not shutil.which("chromium"):
        pytest.skip("chromium still missing after apt-get install chromium")
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """Return a function that runs headless Chromium on the report with a fresh profile."""
    binary = find_chromium()
    profile = tmp_path_factory.mktemp("chromium-profile")

    def run_chromium(*arguments: str) -> subprocess.CompletedProcess:
        return run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments], timeout=120)

    return run_chromium


def test_report_renders_in_chromium(report, chromium):
    dom = chromium("--dump-dom", report.as_uri()).stdout
    # The menu is built by the report's JavaScript: present only if it ran.
    for category in sorted(set(REPORT_FILES.values())):
        assert category in dom, f"rendered report lacks the category {category}"
    assert "fcsnet finds groups of interacting genetic variants" in dom


def test_report_screenshot_kept(report, chromium, repository):
    artefacts = repository / "test-artifacts"
    artefacts.mkdir(exist_ok=True)
    screenshot = artefacts / "report.png"
    screenshot.unlink(missing_ok=True)
    chromium("--window-size=1400,1000", f"--screenshot={screenshot}", report.as_uri())
    image = imread(screenshot)
    assert image.shape[:2] == (1000, 1400)
    # A blank page is one colour; the rendered report has a menu, text and the rule graph.
    assert np.unique(image.reshape(-1, image.shape[-1]), axis=0).shape[0] > 50


def test_failed_plot_logs_rule_and_input(repository, tmp_path):
    write_example_workdir(repository, tmp_path)
    summary = tmp_path / "results" / "example" / "qc" / "qc_summary.tsv"
    summary.parent.mkdir(parents=True)
    summary.write_text("step\tunit\tremoved\nmaf\tvariants\t3\n")
    command = snakemake_command(
        repository,
        tmp_path,
        "--cores",
        "1",
        "--allowed-rules",
        "plot_qc",
        "--",
        "results/example/plots/qc_counts.png",
    )
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0
    log = (tmp_path / "logs" / "example" / "plot_qc.log").read_text()
    assert (
        "rule plot_qc failed on input results/example/qc/qc_summary.tsv: InputError: "
        "qc/qc_summary.tsv lacks the columns ['threshold', 'remaining']" in log
    )
    assert "Traceback" not in log
    assert not (tmp_path / "results" / "example" / "plots" / "qc_counts.png").exists()


def test_long_rules_log_progress(report):
    """GA runs log generations, the network its permutations, the attention model its training."""
    logs = report.parent / "logs" / "example"
    ga_logs = sorted((logs / "ga").glob("*.log"))
    assert len(ga_logs) == 4  # two size limits, two batches of three runs each
    for path in ga_logs:
        generations = re.findall(r"run \d+: generation \d+:", path.read_text())
        assert len(generations) >= 3 * 2, f"{path.name} logs too few generations"
    assert re.search(r"\d+ of \d+ \w+ permutations done", (logs / "network.log").read_text())
    assert re.search(r"epoch \d+", (logs / "interactions.log").read_text())
    for path in logs.rglob("*.log"):
        text = path.read_text()
        assert " started; input: " in text, path.name
        assert " finished" in text, path.name
