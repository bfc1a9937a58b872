"""A filter names the SIP codes it takes, and one given twice is refused at its field, never dropped."""

from __future__ import annotations

import pytest
from webkit import login

from sipflow.cli import sipflow_cli
from sipflow.stats.services import FILTERS, single_values

PERIOD = {"from": "2026-01-01", "to": "2026-03-31"}
SIP_CODES = "AU124, XU045"


@pytest.fixture
def coordinator(client, make_user):
    make_user(None, "coordinator", "kerstin-once")
    login(client, "kerstin-once")
    return client


def _stats(app, *options):
    return app.test_cli_runner().invoke(sipflow_cli, ["stats", *options, "--format", "json"])


def test_the_sip_codes_of_the_catalogue_are_those_listed(db_session):
    from sqlmodel import select

    from sipflow.coding.models import CodeDefinition

    codes = db_session.exec(select(CodeDefinition.code).where(CodeDefinition.kind == "sip")).all()
    assert ", ".join(sorted(codes)) == SIP_CODES


def test_a_known_kva_code_that_is_no_sip_code_is_named_so_with_the_sip_codes(coordinator, app):
    """ZV051 (distance) is a KVÅ code, not unknown: the refusal says only a SIP code can be chosen."""
    refused = coordinator.get("/statistik/indikatorer.json", query_string=PERIOD | {"code": "zv051"})
    assert refused.status_code == 400
    assert refused.get_json() == {
        "error": "invalid",
        "field": "code",
        "reason": f"ZV051 är ingen SIP-kod: bara en SIP-kod kan väljas ({SIP_CODES}).",
    }
    unknown = coordinator.get("/statistik/indikatorer.json", query_string=PERIOD | {"code": "QQ999"})
    assert unknown.get_json()["reason"] == f"Okänd SIP-kod: bara en SIP-kod kan väljas ({SIP_CODES})."
    result = _stats(app, "--from", "2026-01-01", "--to", "2026-03-31", "--code", "ZV051")
    assert result.exit_code == 2
    assert "--code:" in result.output and "SIP" in result.output and SIP_CODES in result.output


@pytest.mark.parametrize(
    ("field", "values"), [("municipality", ["0780", "0781"]), ("to", ["2026-03-31"] * 2)]
)
def test_a_filter_given_twice_is_refused_as_json_naming_the_field(coordinator, field, values):
    query = [(name, value) for name, value in PERIOD.items() if name != field] + [(field, v) for v in values]
    for address in ("indikatorer.json", "indikatorer.csv", "kvartalsrapport.pdf"):
        refused = coordinator.get(f"/statistik/{address}", query_string=query)
        assert refused.status_code == 400, address
        assert refused.get_json() == {
            "error": "invalid",
            "field": field,
            "reason": "Angavs 2 gånger: ange bara ett värde.",
        }


def test_a_filter_given_twice_is_refused_beside_its_field_on_the_page_with_the_others(coordinator):
    query = [*PERIOD.items(), ("municipality", "0780"), ("municipality", "0781"), ("by", "shoe_size")]
    page = coordinator.get("/statistik/", query_string=query)
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert 'id="municipality-error"' in html and "Angavs 2 gånger: ange bara ett värde." in html
    assert 'id="by-error"' in html  # the other fields are still checked


def test_an_option_given_twice_in_the_cli_is_a_usage_error(app):
    result = _stats(app, "--from", "2026-01-01", "--to", "2026-03-31", "--county", "07", "--county", "08")
    assert result.exit_code == 2
    assert "--county: Angavs 2 gånger" in result.output or "--county: Given 2 times" in result.output
    good = _stats(app, "--from", "2026-01-01", "--to", "2026-03-31", "--county", "07")
    assert good.exit_code == 0, good.output


def test_single_values_keeps_one_value_and_refuses_each_repeated_filter():
    values, refused = single_values({"from": ["2026-01-01"], "county": ["07", "07"], "code": []})
    assert values == dict.fromkeys(FILTERS) | {"from": "2026-01-01", "county": "07"}
    assert list(refused) == ["county"] and refused["county"].field == "county"
