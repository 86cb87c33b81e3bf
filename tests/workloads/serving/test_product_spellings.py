"""Product spellings at predict time (``fixtures/product-spellings``): the dataset's
quirk fixes apply per column, so ``GTXPro`` is ``GTX Pro`` while ``technolgy`` (the
misspelled account sector) is no product, is refused, and is not listed as known."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.workloads.serving.test_serving_api import wait_ready
from workloads.serving.app import create_app
from workloads.serving.settings import ServingSettings

FIXTURE = Path(__file__).parent / "fixtures" / "product-spellings" / "requests.json"


@pytest.fixture
def answers(source, eval_inputs) -> dict[str, dict]:
    """Each request of the fixture, its agent and account pointed at ones the model knows."""
    known = eval_inputs.dropna(subset=["account"]).iloc[0]
    requests = json.loads(FIXTURE.read_text())
    with TestClient(create_app(ServingSettings(auth_required=False), source)) as client:
        wait_ready(client)
        out = {}
        for name, row in requests.items():
            row = {**row, "sales_agent": known["sales_agent"], "account": known["account"]}
            response = client.post("/predict", json={"opportunities": [row]})
            out[name] = {"status": response.status_code, "body": response.json()}
    return out


def test_the_files_spelling_of_a_product_scores_as_the_product(answers) -> None:
    quirk, canonical = answers["real quirk GTXPro"], answers["canonical GTX Pro"]
    assert quirk["status"] == canonical["status"] == 200
    p = [a["body"]["predictions"][0]["win_probability"] for a in (quirk, canonical)]
    assert p[0] == p[1]


@pytest.mark.parametrize("name", ["sector typo as product", "made-up product", "trailing space"])
def test_other_spellings_are_refused_naming_the_field(answers, name: str) -> None:
    answer = answers[name]
    assert answer["status"] == 422
    problem = answer["body"]["detail"][0]
    assert problem["field"] == "product" and "unknown product" in problem["msg"]
    known = problem["msg"].split("known: ", 1)[1].split(", ")
    assert "technolgy" not in known and "GTX Pro" in known and "GTXPro" in known
