"""opsctl's side and the workloads' side of the settings agree.

opsctl cannot import the workloads' settings models, so it sets variables from its own
config: ``ops_cli.workload_settings`` for the flows, the catalog's ``env`` for the
prediction service and the app. Here both sides meet: every variable opsctl sets is a
field of the family's model and every field is either set by opsctl or the workload's
own, an environment's values arrive unchanged, and the models' defaults equal
``environments/base.yaml`` (the only other place defaults live).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ops_cli.config.loader import available_environments, load_environment
from ops_cli.workload_settings import flow_variables, monitoring_variables, pipeline_variables
from tests.conftest import REPO
from tests.test_import_rules import imported_names
from workloads.app.settings import AppSettings
from workloads.flows.settings import PipelineSettings
from workloads.monitoring.settings import MonitoringSettings
from workloads.serving.settings import ServingSettings
from workloads.settings import SettingsError, load, prefix_of, variables_of

ENVIRONMENTS = REPO / "environments"
BASE = yaml.safe_load((ENVIRONMENTS / "base.yaml").read_text())
CATALOG = REPO / "workloads" / "catalog"

# Fields opsctl leaves to the workload, and why.
MONITORING_OWN = {
    "workspace_url": "beside the results: <monitoring url>/evidently",
    "training_deployment": "deploy names the deployment it registers",
    "lookback_months": "how far back a run reads: the flow's choice, not the environment's",
    "min_labelled": "fewest closed deals for a realised figure: the flow's choice",
    "replay": "set per run by the demo replay",
}
SERVING_OWN = {"max_batch_rows", "max_body_bytes", "refresh_s", "log_flush_s"}
APP_OWN = {"evidently_url", "opsctl"}  # discovered, or the app's own process


def _top_level(variables: dict[str, str], prefix: str) -> set[str]:
    return {name.split("__")[0] for name in variables if name.startswith(prefix)}


@pytest.mark.parametrize("name", available_environments(ENVIRONMENTS))
def test_every_variable_opsctl_sets_for_the_flows_is_a_field_and_back(name: str) -> None:
    config = load_environment(name, ENVIRONMENTS, environ={})
    for model, variables, own in (
        (PipelineSettings, pipeline_variables(config), set()),
        (MonitoringSettings, monitoring_variables(config), set(MONITORING_OWN)),
    ):
        fields = variables_of(model)
        set_by_opsctl = _top_level(variables, prefix_of(model))
        assert set_by_opsctl <= set(fields.values()), "a variable the model does not read"
        assert {f for f, v in fields.items() if v not in set_by_opsctl} == own
        load(model, variables)  # refuses an unknown variable or a bad value


def test_an_environment_s_values_reach_the_flows_unchanged(tmp_path: Path) -> None:
    """Every setting off its default in one environment file, through the one mapping."""
    (tmp_path / "base.yaml").write_text((ENVIRONMENTS / "base.yaml").read_text())
    (tmp_path / "odd.yaml").write_text(
        yaml.safe_dump(
            {
                "storage": {"buckets": {"data": "odd-data", "monitoring": "odd-mon"}},
                "registry": {"model_name": "odd-model", "champion_alias": "prod"},
                "pipeline": {"quality_threshold": 0.9, "trials": 3,
                             "margins": {"auc_over_champion": 0.005}},
                "monitoring": {"cooldown_days": 3, "min_segment_size": 12,
                               "rules": {"drift_share": {"n": 1, "m": 2, "threshold": 0.4}}},
            }
        )
    )  # fmt: skip
    config = load_environment("odd", tmp_path, environ={})
    pipeline = load(PipelineSettings, pipeline_variables(config))
    monitoring = load(MonitoringSettings, monitoring_variables(config))

    assert pipeline.data_url == monitoring.data_url == "s3://odd-data"
    assert pipeline.registry.model_dump() == config.registry.model_dump()
    assert (pipeline.quality_threshold, pipeline.trials) == (0.9, 3)
    assert pipeline.margins.model_dump() == config.pipeline.margins.model_dump()
    ml = pipeline.for_ml()
    assert ml.registry.model_name == ml.registry.experiment == "odd-model"
    assert ml.margins.auc_over_champion == 0.005 and ml.training.trials == 3
    assert (monitoring.model_name, monitoring.champion_alias) == ("odd-model", "prod")
    assert monitoring.workspace_url == "s3://odd-mon/evidently"
    assert (monitoring.cooldown_days, monitoring.min_segment_size) == (3, 12)
    drift = monitoring.rule("drift_share")
    assert (drift.n, drift.m, drift.threshold) == (1, 2, 0.4)
    assert monitoring.rule("realised_brier").min_coverage == 0.5


def test_the_models_defaults_equal_base_yaml() -> None:
    pipeline, monitoring = PipelineSettings(), MonitoringSettings()
    base_pipeline = BASE["pipeline"]
    assert pipeline.registry.model_dump() == BASE["registry"]
    assert pipeline.quality_threshold == base_pipeline["quality_threshold"]
    assert pipeline.trials == base_pipeline["trials"]
    assert pipeline.margins.model_dump() == base_pipeline["margins"]
    base_monitoring = BASE["monitoring"]
    assert monitoring.webhook_url_secret == base_monitoring["webhook_url_secret"]
    assert monitoring.cooldown_days == base_monitoring["cooldown_days"]
    assert monitoring.min_segment_size == base_monitoring["min_segment_size"]
    for name, rule in base_monitoring["rules"].items():
        default = monitoring.rule(name)
        assert {key: getattr(default, key) for key in rule} == rule, name
    serving = ServingSettings(auth_required=False)
    assert (serving.model_name, serving.model_alias) == (
        BASE["registry"]["model_name"],
        BASE["registry"]["champion_alias"],
    )
    assert AppSettings().registry.model_dump() == BASE["registry"]


def _catalog_env(name: str) -> dict[str, str]:
    return yaml.safe_load((CATALOG / f"{name}.yaml").read_text())["env"]


@pytest.mark.parametrize(
    ("workload", "model", "own"),
    [("serving", ServingSettings, SERVING_OWN), ("streamlit", AppSettings, APP_OWN)],
)
def test_every_variable_the_catalog_sets_is_a_field_and_back(workload, model, own) -> None:
    fields = variables_of(model)
    prefix = prefix_of(model)
    env = _catalog_env(workload)
    set_here = {name.split("__")[0] for name in env if name.startswith(prefix)}
    set_here |= {name for name in env if name in fields.values()}  # foreign names
    assert set_here <= set(fields.values()), f"{workload}: a variable the model does not read"
    assert {f for f, v in fields.items() if v not in set_here} == own


def test_the_registry_names_reach_serving_and_the_app_from_the_config() -> None:
    assert _catalog_env("serving")["SERVING_MODEL_NAME"] == "${registry.model_name}"
    assert _catalog_env("serving")["SERVING_MODEL_ALIAS"] == "${registry.champion_alias}"
    assert _catalog_env("streamlit")["CRM_REGISTRY__MODEL_NAME"] == "${registry.model_name}"


def test_the_model_name_is_spelled_once_in_code() -> None:
    """Beside base.yaml, one constant (``workloads.settings.MODEL_NAME``) names the model."""
    spelled = []
    for root in ("ops_cli", "workloads", "ml"):
        for path in (REPO / root).rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"""["']crm-win-probability["']""", line):
                    spelled.append(f"{path.relative_to(REPO)}:{number}")
    assert len(spelled) == 1 and spelled[0].startswith("workloads/settings.py:"), spelled


def test_monitoring_does_not_import_the_flows() -> None:
    """The flows use monitoring; monitoring never uses the flows (no import cycle)."""
    found = []
    for path in (REPO / "workloads" / "monitoring").glob("*.py"):
        module = f"workloads.monitoring.{path.stem}"
        for line, name in imported_names(path.read_text(), module):
            if name.startswith("workloads.flows"):
                found.append(f"{path.name}:{line} {name}")
    assert found == []


@pytest.mark.parametrize(
    ("model", "environ", "named"),
    [
        (PipelineSettings, {"PIPELINE_TRIALS": "many"}, "PIPELINE_TRIALS='many'"),
        (PipelineSettings, {"PIPELINE_MARGINS__AUC_OVER_BASELINE": "2"},
         "PIPELINE_MARGINS__AUC_OVER_BASELINE='2'"),
        (PipelineSettings, {"PIPELINE_TRAILS": "5"}, "unknown variable PIPELINE_TRAILS"),
        (MonitoringSettings, {"MONITORING_RULES": '{"drift": {}}'}, "MONITORING_RULES="),
        (MonitoringSettings, {"MONITORING_RULES": "not json"}, "rules"),
        (MonitoringSettings, {"MONITORING_LOOKBACK_MONTHS": "2"}, "MONITORING_LOOKBACK_MONTHS=2"),
        (MonitoringSettings, {"MONITORING_COOLDOWN_DAYS": "-1"}, "MONITORING_COOLDOWN_DAYS='-1'"),
        (AppSettings, {"CRM_REGISTRY__MODEL": "x"}, "CRM_REGISTRY__MODEL"),
    ],
)  # fmt: skip
def test_a_bad_value_names_its_variable(model, environ, named) -> None:
    with pytest.raises(SettingsError, match=re.escape(named)):
        load(model, environ)


def test_flow_variables_cover_both_families() -> None:
    config = load_environment("local", ENVIRONMENTS, environ={})
    variables = flow_variables(config)
    assert variables == {**pipeline_variables(config), **monitoring_variables(config)}
    assert all(isinstance(value, str) for value in variables.values())
