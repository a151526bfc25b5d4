"""Community risk scores (CRS) and their validation statistics.

For each community a model is fitted on the training split with only that
community's variants. A person's CRS is the model's predicted case
probability: out-of-fold (stratified k-fold) for training individuals, so
that no individual is scored by a model that saw them, and the prediction of the
model fitted on the whole training split for validation and case-only
individuals.

Case-only cohort: its store is aligned to the QC'd variants by
``variant_id`` once. A cohort that shares no variant is an
:class:`~fcsnet.errors.InputError`. A community with a variant the case-only
cohort lacks gets CRS NA for every case-only individual (never a score made
up from the other variants, nor the prior); ``community_stats.tsv`` names
those variants in ``case_only_absent``. Sample ids found in both cohorts are
logged as a warning.

Missing genotypes: the ``cells`` model treats a missing call as a genotype
category of its own; the other models replace it by the variant's mean
training dosage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from fcsnet.errors import ConfigError, InputError
from fcsnet.store import MISSING

logger = logging.getLogger(__name__)

MODELS = ("cells", "logistic_interactions", "tree", "random_forest", "gradient_boosting")
COHORT_PARTS = ("training", "validation", "case_only")


class CellsClassifier:
    """Saturated genotype-combination classifier.

    Each combination of genotype codes (missing, 0, 1, 2) of the features is
    a cell. The predicted case probability of a cell is its training case
    fraction smoothed towards the overall case fraction:
    ``(cases + smoothing * prior) / (samples + smoothing)``; unseen cells get
    the prior.

    Parameters
    ----------
    smoothing : float
        Pseudo-count of the prior, in samples.
    """

    def __init__(self, smoothing: float = 1.0):
        self.smoothing = smoothing

    @staticmethod
    def _codes(genotypes: np.ndarray) -> np.ndarray:
        genotypes = np.asarray(genotypes, dtype=np.int64) - MISSING
        codes = np.zeros(genotypes.shape[0], dtype=np.int64)
        for column in range(genotypes.shape[1]):
            codes = codes * 4 + genotypes[:, column]
        return codes

    def fit(self, genotypes: np.ndarray, status: np.ndarray) -> CellsClassifier:
        """Fit on ``genotypes`` (int, shape (n_samples, n_features)) and 0/1 ``status``."""
        if np.asarray(genotypes).shape[1] > 30:
            raise ConfigError(
                "crs.model 'cells' supports at most 30 variants per community; choose another crs.model"
            )
        status = np.asarray(status, dtype=float)
        codes = self._codes(genotypes)
        self.prior_ = float(status.mean())
        cells, inverse = np.unique(codes, return_inverse=True)
        cases = np.bincount(inverse, weights=status)
        totals = np.bincount(inverse)
        self.cells_ = cells
        self.risk_ = (cases + self.smoothing * self.prior_) / (totals + self.smoothing)
        return self

    def predict_proba(self, genotypes: np.ndarray) -> np.ndarray:
        """Return (n_samples, 2) class probabilities."""
        codes = self._codes(genotypes)
        position = np.searchsorted(self.cells_, codes)
        position = np.clip(position, 0, len(self.cells_) - 1)
        seen = self.cells_[position] == codes
        risk = np.where(seen, self.risk_[position], self.prior_)
        return np.column_stack([1 - risk, risk])


def make_model(name: str, seed: int):
    """Return an unfitted classifier for ``crs.model`` ``name``."""
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    if name == "cells":
        return CellsClassifier()
    if name == "logistic_interactions":
        return make_pipeline(
            PolynomialFeatures(degree=2, interaction_only=True, include_bias=False),
            StandardScaler(),
            LogisticRegression(max_iter=1000),
        )
    if name == "tree":
        return DecisionTreeClassifier(min_samples_leaf=20, random_state=seed)
    if name == "random_forest":
        return RandomForestClassifier(
            n_estimators=200, min_samples_leaf=10, random_state=seed, n_jobs=1
        )
    if name == "gradient_boosting":
        return GradientBoostingClassifier(random_state=seed)
    raise ConfigError(f"crs.model must be one of {MODELS}; got {name!r}")


def _impute(genotypes: np.ndarray, means: np.ndarray) -> np.ndarray:
    genotypes = genotypes.astype(float)
    missing = genotypes == MISSING
    genotypes[missing] = np.broadcast_to(means, genotypes.shape)[missing]
    return genotypes


def _fit_predict(
    name: str, seed: int, train_x: np.ndarray, train_y: np.ndarray, test_x: list[np.ndarray]
) -> list[np.ndarray]:
    """Fit model ``name`` on (n_samples, n_features) genotypes; return case probabilities of each test matrix."""
    model = make_model(name, seed)
    if name != "cells":
        called = np.where(train_x == MISSING, np.nan, train_x.astype(float))
        means = (
            np.nan_to_num(np.nanmean(called, axis=0), nan=0.0)
            if len(called)
            else np.zeros(train_x.shape[1])
        )
        train_x = _impute(train_x, means)
        test_x = [_impute(x, means) for x in test_x]
    model.fit(train_x, train_y)
    return [model.predict_proba(x)[:, 1] if len(x) else np.zeros(0) for x in test_x]


@dataclass
class CRSResult:
    """Risk scores and statistics of every community.

    Attributes
    ----------
    scores : pandas.DataFrame
        One row per person: ``sample_id, cohort_part, split, status,
        crs_<community>...``.
    stats : pandas.DataFrame
        One row per community (see :func:`community_statistics`).
    """

    scores: pd.DataFrame
    stats: pd.DataFrame


def score_communities(
    communities: pd.DataFrame,
    dosages: np.ndarray,
    samples: pd.DataFrame,
    variant_ids,
    params: dict,
    *,
    seed,
    case_only: tuple[np.ndarray, pd.DataFrame, list[str]] | None = None,
    sources: tuple[str, str] = ("the QC'd cohort", "the case-only cohort"),
) -> CRSResult:
    """Compute every community's CRS for all individuals, and the statistics.

    Parameters
    ----------
    communities : pandas.DataFrame
        ``variant_id, community`` of the reported communities.
    dosages : numpy.ndarray, int8, shape (n_variants, n_samples)
        QC'd genotypes of the training and validation samples.
    samples : pandas.DataFrame
        The split table: ``sample_id, status, split`` then covariates, in
        the column order of ``dosages``.
    variant_ids : sequence of str
        Ids of the rows of ``dosages``.
    params : dict
        The ``crs`` config section: ``model``, ``n_folds``.
    seed : int
    case_only : tuple, optional
        ``(dosages, samples, variant_ids)`` of the case-only cohort. If it
        shares no variant id with ``variant_ids`` an InputError is raised. A
        community with a variant the case-only cohort lacks has CRS NA for
        every case-only individual (with a warning naming the community and
        the variants).
    sources : tuple of str, optional
        Names of the QC'd and the case-only stores (their paths), used in
        messages.
    """
    from sklearn.model_selection import StratifiedKFold

    if params["model"] not in MODELS:
        raise ConfigError(f"crs.model must be one of {MODELS}; got {params['model']!r}")
    for column in ("sample_id", "status", "split"):
        if column not in samples.columns:
            raise InputError(f"split table lacks the column {column!r}; rerun the split step")
    known = pd.Index([str(name) for name in variant_ids])
    split = samples["split"].astype(str).to_numpy()
    status = samples["status"].to_numpy().astype(int)
    training = np.flatnonzero(split == "training")
    validation = np.flatnonzero(split == "validation")
    if len(np.unique(status[training])) < 2:
        raise InputError(
            "the training split needs both cases and controls to fit community risk models"
        )

    scores = pd.DataFrame(
        {
            "sample_id": samples["sample_id"].astype(str),
            "cohort_part": split,
            "split": split,
            "status": status,
        }
    )
    absent_of = {}
    if case_only is not None:
        case_dosages, case_samples, case_variant_ids = case_only
        # (n_variants of the QC'd store, n_case_only_samples); rows of absent variants stay MISSING.
        case_aligned, case_absent = _align_case_only(case_dosages, case_variant_ids, known, sources)
        _warn_shared_samples(samples, case_samples, sources)
        case_scores = pd.DataFrame(
            {
                "sample_id": case_samples["sample_id"].astype(str),
                "cohort_part": "case_only",
                "split": "case_only",
                "status": 1,
            }
        )
    n_folds = params["n_folds"]
    n_minority = int(min(np.bincount(status[training], minlength=2)))
    if n_folds > n_minority:
        raise ConfigError(
            f"crs.n_folds = {n_folds} exceeds the smaller class of the training split ({n_minority}); lower it"
        )
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=int(seed) % (2**32))

    columns = {}
    case_columns = {}
    for community, group in communities.groupby("community", sort=True):
        name = f"crs_{community}"
        members = known.get_indexer(group["variant_id"].astype(str))
        if (members < 0).any():
            raise InputError(
                f"community {community} names variants missing from the genotype store; rerun the communities step"
            )
        genotypes = np.asarray(dosages[members]).T
        risk = np.full(len(samples), np.nan)
        train_x, train_y = genotypes[training], status[training]
        for fold_train, fold_test in folds.split(train_x, train_y):
            (risk[training[fold_test]],) = _fit_predict(
                params["model"],
                seed,
                train_x[fold_train],
                train_y[fold_train],
                [train_x[fold_test]],
            )
        test_sets = [genotypes[validation]]
        absent = []
        if case_only is not None:
            absent = group["variant_id"].astype(str)[case_absent[members]].tolist()
            absent_of[community] = ",".join(absent)
            if absent:
                logger.warning(
                    "crs: the case-only cohort (%s) lacks %s of community %d; its case-only CRS is NA. "
                    "Give the case-only cohort the same variant ids (chrom:pos:ref:alt, same build) "
                    "to score it",
                    sources[1],
                    ",".join(absent),
                    community,
                )
            else:
                test_sets.append(np.asarray(case_aligned[members]).T)
        predictions = _fit_predict(params["model"], seed, train_x, train_y, test_sets)
        risk[validation] = predictions[0]
        columns[name] = risk
        if case_only is not None:
            case_columns[name] = (
                np.full(case_dosages.shape[1], np.nan) if absent else predictions[1]
            )
        logger.info(
            "crs: community %d (%d variants) scored with the %s model",
            community,
            len(members),
            params["model"],
        )

    scores = pd.concat([scores, pd.DataFrame(columns, index=scores.index)], axis=1)
    if case_only is not None:
        case_scores = pd.concat(
            [case_scores, pd.DataFrame(case_columns, index=case_scores.index)], axis=1
        )
        scores = pd.concat([scores, case_scores], ignore_index=True)
    statistics = community_statistics(scores, samples, communities)
    if case_only is not None:
        statistics["case_only_absent"] = statistics["community"].map(absent_of).fillna("")
    return CRSResult(scores, statistics)


def _align_case_only(
    case_dosages: np.ndarray, case_variant_ids, known: pd.Index, sources: tuple[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    """Reorder the case-only genotypes onto the QC'd variants ``known``.

    Returns the aligned dosages (int8, shape (len(known), n_case_only_samples),
    MISSING in the rows of absent variants) and a bool mask (len(known),) of
    the variants the case-only cohort lacks.
    """
    case_known = pd.Index([str(name) for name in case_variant_ids])
    duplicated = case_known[case_known.duplicated()].unique().tolist()
    if duplicated:
        raise InputError(
            f"the case-only cohort ({sources[1]}) repeats the variant ids {duplicated[:5]}; "
            "give each variant one row"
        )
    position = case_known.get_indexer(known)
    absent = position < 0
    if len(known) and absent.all():
        raise InputError(
            f"the case-only cohort ({sources[1]}) shares none of the {len(known)} variant ids of "
            f"{sources[0]} (for example {known[:3].tolist()} vs {case_known[:3].tolist()}); "
            "give both cohorts the same variant ids (e.g. chrom:pos:ref:alt) on the same genome build"
        )
    if absent.any():
        logger.warning(
            "crs: the case-only cohort (%s) lacks %d of the %d QC'd variants of %s (first: %s); "
            "communities with such a variant get CRS NA there",
            sources[1],
            int(absent.sum()),
            len(known),
            sources[0],
            ",".join(known[absent][:5]),
        )
    case_dosages = np.asarray(case_dosages)
    aligned = np.full((len(known), case_dosages.shape[1]), MISSING, dtype=np.int8)
    aligned[~absent] = case_dosages[position[~absent]]
    return aligned, absent


def _warn_shared_samples(
    samples: pd.DataFrame, case_samples: pd.DataFrame, sources: tuple[str, str]
) -> None:
    """Log a warning when sample ids occur in both the QC'd and the case-only cohort."""
    shared = pd.Index(samples["sample_id"].astype(str)).intersection(
        pd.Index(case_samples["sample_id"].astype(str))
    )
    if len(shared):
        logger.warning(
            "crs: %d sample ids occur in both %s and the case-only cohort (%s), e.g. %s; "
            "if they are the same people, remove them from one cohort",
            len(shared),
            sources[0],
            sources[1],
            ",".join(shared[:5]),
        )


def delong_auc(scores: np.ndarray, status: np.ndarray) -> tuple[float, float]:
    """Return the AUC of ``scores`` for ``status`` and its DeLong standard error.

    DeLong, DeLong and Clarke-Pearson (1988), Biometrics 44:837-845.
    """
    cases = scores[status == 1]
    controls = scores[status == 0]
    n_cases, n_controls = len(cases), len(controls)
    # psi(x, y) = 1 if x > y, 0.5 if equal; structural components from ranks.
    all_ranks = stats.rankdata(np.concatenate([cases, controls]))
    case_ranks = stats.rankdata(cases)
    control_ranks = stats.rankdata(controls)
    auc = (all_ranks[:n_cases].sum() - n_cases * (n_cases + 1) / 2) / (n_cases * n_controls)
    v_cases = (all_ranks[:n_cases] - case_ranks) / n_controls
    v_controls = 1.0 - (all_ranks[n_cases:] - control_ranks) / n_cases
    variance = np.var(v_cases, ddof=1) / n_cases + np.var(v_controls, ddof=1) / n_controls
    return float(auc), float(np.sqrt(variance))


def logistic_fit(
    design: np.ndarray, outcome: np.ndarray, max_iter: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """Fit an unpenalised logistic regression by Newton-Raphson.

    Parameters
    ----------
    design : numpy.ndarray, float64, shape (n_samples, n_parameters)
        Includes the intercept column.
    outcome : numpy.ndarray, shape (n_samples,)

    Returns
    -------
    coefficients, standard_errors : numpy.ndarray, float64, shape (n_parameters,)
        Standard errors from the inverse Hessian (observed information).
        Raises ValueError when the fit does not converge (for example under
        complete separation).
    """
    coefficients = np.zeros(design.shape[1])
    for _ in range(max_iter):
        probability = 1.0 / (1.0 + np.exp(-design @ coefficients))
        weights = probability * (1 - probability)
        hessian = design.T @ (design * weights[:, None])
        gradient = design.T @ (outcome - probability)
        step = np.linalg.solve(hessian, gradient)
        coefficients = coefficients + step
        if np.max(np.abs(step)) < 1e-8:
            break
    else:
        raise ValueError("logistic regression did not converge (possible complete separation)")
    if np.max(np.abs(coefficients)) > 30:
        raise ValueError("logistic regression diverged (complete separation)")
    probability = 1.0 / (1.0 + np.exp(-design @ coefficients))
    hessian = design.T @ (design * (probability * (1 - probability))[:, None])
    covariance = np.linalg.inv(hessian)
    return coefficients, np.sqrt(np.diag(covariance))


def covariate_matrix(samples: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Return the covariates of the split table as a numeric matrix.

    Columns after ``sample_id, status, split`` are covariates; numeric ones
    are used as they are (missing values set to the column mean), others are
    one-hot coded with the first level dropped. Constant columns are dropped.
    """
    covariates = samples.drop(
        columns=[c for c in ("sample_id", "status", "split") if c in samples.columns]
    )
    blocks, names = [], []
    for column in covariates.columns:
        values = covariates[column]
        if pd.api.types.is_numeric_dtype(values):
            numeric = values.astype(float)
            numeric = numeric.fillna(numeric.mean())
            if numeric.nunique() > 1:
                blocks.append(numeric.to_numpy()[:, None])
                names.append(str(column))
        else:
            dummies = pd.get_dummies(
                values.astype(str), prefix=str(column), drop_first=True, dtype=float
            )
            for dummy in dummies.columns:
                if dummies[dummy].nunique() > 1:
                    blocks.append(dummies[dummy].to_numpy()[:, None])
                    names.append(str(dummy))
    matrix = np.hstack(blocks) if blocks else np.zeros((len(samples), 0))
    return matrix, names


def community_statistics(
    scores: pd.DataFrame, samples: pd.DataFrame, communities: pd.DataFrame
) -> pd.DataFrame:
    """Compute each community's validation AUC and covariate-adjusted odds ratio.

    Returns one row per community: ``community, n_variants, variant_ids,
    validation_auc, auc_ci_low, auc_ci_high`` (DeLong 95 % interval),
    ``odds_ratio_per_sd, or_ci_low, or_ci_high, or_p_value`` (Wald, from a
    logistic regression of validation status on the standardised CRS plus
    the covariates of the split table), ``covariates`` (names used) and
    ``training_auc`` (of the out-of-fold CRS).
    """
    columns = [
        "community",
        "n_variants",
        "variant_ids",
        "training_auc",
        "validation_auc",
        "auc_ci_low",
        "auc_ci_high",
        "odds_ratio_per_sd",
        "or_ci_low",
        "or_ci_high",
        "or_p_value",
        "covariates",
    ]
    rows = []
    people = scores.iloc[: len(samples)]
    is_validation = (people["cohort_part"] == "validation").to_numpy()
    is_training = (people["cohort_part"] == "training").to_numpy()
    status = people["status"].to_numpy().astype(int)
    covariates, covariate_names = covariate_matrix(samples)
    z = stats.norm.ppf(0.975)
    for community, group in communities.groupby("community", sort=True):
        risk = people[f"crs_{community}"].to_numpy()
        row = {
            "community": int(community),
            "n_variants": len(group),
            "variant_ids": ",".join(group["variant_id"].astype(str)),
            "covariates": ",".join(covariate_names),
        }
        row["training_auc"] = delong_auc(risk[is_training], status[is_training])[0]
        valid_status = status[is_validation]
        if is_validation.sum() == 0 or len(np.unique(valid_status)) < 2:
            logger.warning(
                "crs: the validation split lacks cases or controls; validation statistics of community %d are NA",
                community,
            )
            rows.append(row)
            continue
        auc, se = delong_auc(risk[is_validation], valid_status)
        row.update(
            validation_auc=auc,
            auc_ci_low=max(0.0, auc - z * se),
            auc_ci_high=min(1.0, auc + z * se),
        )
        valid_risk = risk[is_validation]
        spread = valid_risk.std()
        if spread == 0:
            logger.warning(
                "crs: community %d has a constant CRS on the validation split; odds ratio is NA",
                community,
            )
            rows.append(row)
            continue
        standardised = (valid_risk - valid_risk.mean()) / spread
        design = np.column_stack(
            [np.ones(len(standardised)), standardised, covariates[is_validation]]
        )
        try:
            coefficients, errors = logistic_fit(design, valid_status.astype(float))
        except (ValueError, np.linalg.LinAlgError) as error:
            logger.warning("crs: odds ratio of community %d is NA: %s", community, error)
            rows.append(row)
            continue
        beta, beta_se = coefficients[1], errors[1]
        row.update(
            odds_ratio_per_sd=float(np.exp(beta)),
            or_ci_low=float(np.exp(beta - z * beta_se)),
            or_ci_high=float(np.exp(beta + z * beta_se)),
            or_p_value=float(2 * stats.norm.sf(abs(beta / beta_se))),
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)
