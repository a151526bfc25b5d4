"""Tests of community risk scores and their statistics."""

import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from fcsnet.config import default_config
from fcsnet.crs import CellsClassifier, delong_auc, logistic_fit, score_communities
from fcsnet.errors import ConfigError, InputError


def crs_params(**overrides):
    params = default_config()["crs"]
    params.update(overrides)
    return params


def cohort(n_samples=1000, seed=0):
    """Six variants, status the XOR of variants 0 and 1 with label noise, age and sex covariates."""
    rng = np.random.default_rng(seed)
    dosages = rng.integers(0, 2, size=(6, n_samples)).astype(np.int8)
    status = (dosages[0] ^ dosages[1]).astype(int)
    flip = rng.random(n_samples) < 0.2
    status[flip] = 1 - status[flip]
    samples = pd.DataFrame(
        {
            "sample_id": [f"s{i}" for i in range(n_samples)],
            "status": status,
            "split": np.where(np.arange(n_samples) < 0.7 * n_samples, "training", "validation"),
            "age": rng.normal(50, 10, n_samples),
            "sex": rng.choice(["f", "m"], n_samples),
        }
    )
    variants = [f"v{i}" for i in range(6)]
    communities = pd.DataFrame({"variant_id": ["v0", "v1", "v2", "v3"], "community": [1, 1, 2, 2]})
    return dosages, samples, variants, communities


def test_cells_classifier_cell_risk():
    genotypes = np.array([[0], [0], [0], [1], [1], [-1]])
    status = np.array([1, 1, 0, 0, 0, 1])
    model = CellsClassifier(smoothing=0.0).fit(genotypes, status)
    risk = model.predict_proba(np.array([[0], [1], [-1], [2]]))[:, 1]
    np.testing.assert_allclose(risk, [2 / 3, 0.0, 1.0, 0.5])


def test_scores_and_statistics():
    dosages, samples, variants, communities = cohort()
    result = score_communities(communities, dosages, samples, variants, crs_params(), seed=0)
    scores = result.scores
    assert list(scores.columns) == ["sample_id", "cohort_part", "split", "status", "crs_1", "crs_2"]
    assert scores[["crs_1", "crs_2"]].notna().all().all()
    stats = result.stats.set_index("community")
    assert stats.loc[1, "validation_auc"] > 0.7
    assert stats.loc[1, "auc_ci_low"] < stats.loc[1, "validation_auc"] < stats.loc[1, "auc_ci_high"]
    assert stats.loc[1, "odds_ratio_per_sd"] > 1.5
    assert stats.loc[1, "or_p_value"] < 1e-6
    assert stats.loc[2, "or_p_value"] > 0.001
    assert stats.loc[1, "covariates"] == "age,sex_m"
    assert stats.loc[1, "variant_ids"] == "v0,v1"


def test_training_scores_are_out_of_fold():
    # With six random variants nearly every training sample is alone in its
    # cell: an in-sample score would reach AUC 1, an out-of-fold one about 0.5.
    rng = np.random.default_rng(1)
    dosages = rng.integers(0, 3, size=(6, 400)).astype(np.int8)
    samples = pd.DataFrame(
        {
            "sample_id": [f"s{i}" for i in range(400)],
            "status": rng.integers(0, 2, 400),
            "split": "training",
        }
    )
    communities = pd.DataFrame({"variant_id": [f"v{i}" for i in range(6)], "community": 1})
    result = score_communities(
        communities, dosages, samples, [f"v{i}" for i in range(6)], crs_params(), seed=0
    )
    assert roc_auc_score(samples["status"], result.scores["crs_1"]) < 0.6


@pytest.mark.parametrize(
    "model", ["logistic_interactions", "tree", "random_forest", "gradient_boosting"]
)
def test_other_models(model):
    dosages, samples, variants, communities = cohort(n_samples=600)
    dosages[0, :5] = -1
    result = score_communities(
        communities, dosages, samples, variants, crs_params(model=model), seed=0
    )
    assert result.scores[["crs_1", "crs_2"]].notna().all().all()
    assert result.stats.loc[0, "validation_auc"] > 0.6


def test_unknown_model_rejected():
    dosages, samples, variants, communities = cohort(n_samples=200)
    with pytest.raises(ConfigError, match="crs.model"):
        score_communities(communities, dosages, samples, variants, crs_params(model="svm"), seed=0)


def score_case_only(case_dosages, case_variants, case_ids=None, n_samples=1000):
    dosages, samples, variants, communities = cohort(n_samples=n_samples)
    case_ids = case_ids or [f"c{i}" for i in range(case_dosages.shape[1])]
    case_samples = pd.DataFrame({"sample_id": case_ids, "status": 1})
    result = score_communities(
        communities,
        dosages,
        samples,
        variants,
        crs_params(),
        seed=0,
        case_only=(case_dosages, case_samples, case_variants),
        sources=("qc_store", "case_store"),
    )
    return result, dosages, samples


def test_case_only_absent_variant_na(caplog):
    dosages, samples, _, _ = cohort()
    # The case-only store lacks v1 and lists its variants in another order.
    case_dosages = dosages[[5, 0, 2, 3, 4], :50]
    case_variants = ["v5", "v0", "v2", "v3", "v4"]
    with caplog.at_level(logging.WARNING, logger="fcsnet.crs"):
        result, _, _ = score_case_only(case_dosages, case_variants)
    case_rows = result.scores[result.scores["cohort_part"] == "case_only"]
    assert len(case_rows) == 50
    assert (case_rows["status"] == 1).all()
    # Community 1 (v0, v1) cannot be scored without v1: NA, not the prior.
    assert case_rows["crs_1"].isna().all()
    assert "lacks v1 of community 1" in caplog.text
    assert "lacks 1 of the 6 QC'd variants" in caplog.text
    # Community 2 (v2, v3) is scored on the aligned genotypes: the same
    # people scored through the main cohort get the same validation model's
    # predictions wherever their (v2, v3) cell is the same.
    assert case_rows["crs_2"].notna().all()
    main = result.scores.iloc[: len(samples)]
    validation = main[main["split"] == "validation"]
    by_cell = {
        (dosages[2, i], dosages[3, i]): value
        for i, value in zip(validation.index, validation["crs_2"], strict=True)
    }
    expected = [by_cell[(dosages[2, i], dosages[3, i])] for i in range(50)]
    np.testing.assert_allclose(case_rows["crs_2"].to_numpy(), expected)
    stats = result.stats.set_index("community")
    assert stats.loc[1, "case_only_absent"] == "v1"
    assert stats.loc[2, "case_only_absent"] == ""
    # Training and validation people keep their scores.
    assert main[["crs_1", "crs_2"]].notna().all().all()


def test_disjoint_case_only_variants_rejected():
    dosages, _, _, _ = cohort()
    renamed = [f"rs{i}" for i in range(6)]
    with pytest.raises(InputError, match="case_store.*shares none.*qc_store.*same variant ids"):
        score_case_only(dosages[:, :50], renamed)


def test_shared_sample_ids_warned(caplog):
    dosages, _, _, _ = cohort()
    case_ids = [f"s{i}" for i in range(3)] + [f"c{i}" for i in range(47)]
    with caplog.at_level(logging.WARNING, logger="fcsnet.crs"):
        score_case_only(dosages[:, :50], [f"v{i}" for i in range(6)], case_ids=case_ids)
    assert "3 sample ids occur in both qc_store and the case-only cohort" in caplog.text
    assert "s0,s1,s2" in caplog.text


def test_delong_auc_matches_sklearn_and_bootstrap():
    rng = np.random.default_rng(2)
    status = rng.integers(0, 2, 500)
    scores = status * 0.5 + rng.normal(size=500)
    auc, standard_error = delong_auc(scores, status)
    assert auc == pytest.approx(roc_auc_score(status, scores))
    draws = [rng.integers(0, 500, 500) for _ in range(300)]
    bootstrap = [roc_auc_score(status[d], scores[d]) for d in draws]
    assert standard_error == pytest.approx(np.std(bootstrap), rel=0.2)


def test_logistic_fit_matches_sklearn():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(800, 2))
    y = (rng.random(800) < 1 / (1 + np.exp(-(0.3 + x @ [1.0, -0.5])))).astype(float)
    coefficients, errors = logistic_fit(np.column_stack([np.ones(800), x]), y)
    reference = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10000).fit(x, y)
    np.testing.assert_allclose(coefficients[1:], reference.coef_[0], rtol=1e-4)
    assert coefficients[0] == pytest.approx(reference.intercept_[0], rel=1e-4)
    assert (errors > 0.05).all()
    assert (errors < 0.2).all()


def test_logistic_fit_reports_separation():
    x = np.array([0.0, 0.1, 0.2, 0.8, 0.9, 1.0])
    y = np.array([0, 0, 0, 1, 1, 1.0])
    with pytest.raises(ValueError, match="separation"):
        logistic_fit(np.column_stack([np.ones(6), x]), y)
