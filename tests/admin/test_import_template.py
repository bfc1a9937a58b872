"""The import page gives a county's administrator, who writes no code, what the file is: a template to
download and what each column holds."""

from __future__ import annotations

import io
import re

import pytest
from directorykit import token_of
from webkit import login, text_of

from sipflow.admin import imports
from sipflow.db import unit_of_work

pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_the_page_links_a_template_that_excel_opens_and_that_imports_as_it_is(client, db_session, make_user):
    admin = make_user(None, roles="admin")
    login(client, admin.username)
    page = text_of(client.get("/admin/import"))
    (link,) = re.findall(r'href="([^"]+)"[^>]*>Ladda ner en mall', page)
    response = client.get(link)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    data = response.get_data()
    # Excel in Swedish opens it in columns, åäö and all: a byte-order mark and ';'.
    assert data.startswith("\ufeff".encode())
    header, *lines = data.decode("utf-8-sig").splitlines()
    assert header.split(";") == list(imports.COLUMNS)
    assert {line.split(";")[0] for line in lines} == {"organisation", "unit", "user"}
    response = client.post(
        "/admin/import",
        data={
            "csrf_token": token_of(client, "/admin/import"),
            "file": (io.BytesIO(data), link),
            "dry_run": "1",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and "Provkörning" in text_of(response)


def test_the_template_dry_runs_without_an_error(db_session, app_ctx, now):
    with unit_of_work(db_session):
        report = imports.import_directory(
            db_session, imports.template_csv(), actor=None, now=now, apply=False
        )
    assert report.errors == [] and len(report.created) == len(imports.TEMPLATE_LINES)


def test_the_page_says_what_each_column_holds(client, make_user):
    login(client, make_user(None, roles="admin").username)
    page = text_of(client.get("/admin/import"))
    assert "Kolumnerna" in page
    assert "det som en senare import känner igen posten på" in page
    assert "dess kod från SCB, fyra siffror (0780)" in page
    english = text_of(client.get("/admin/import?lang=en"))
    assert "what a later import finds the line's record by" in english


def test_the_template_is_for_administrators_only(client, parties):
    login(client, parties.region_user.username)
    assert client.get("/admin/import/template.csv").status_code == 403
