"""E-mail addresses in the PDF's contacts table: printed whole, or broken only after "@" or before a dot."""

from __future__ import annotations

import subprocess
from copy import deepcopy

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from sipflow.plans.models import PlanVersion
from sipflow.plans.pdf import address_lines, render_plan_pdf

PHONE = "0470-58 80 00"  # the first contact's phone, in the cell before its address (versionkit)


@pytest.fixture
def version(db_session, established) -> PlanVersion:
    return db_session.exec(select(PlanVersion).where(PlanVersion.case_id == established.case.id)).one()


def address_as_printed(data: bytes, tmp_path, address: str) -> list[str]:
    """The lines pdftotext reads the address off the page in: consecutive lines that spell it."""
    source = tmp_path / "plan.pdf"
    source.write_bytes(data)
    text = subprocess.run(["pdftotext", str(source), "-"], capture_output=True, text=True, check=True).stdout
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    start = lines.index(PHONE) + 1
    for end in range(start + 1, len(lines) + 1):
        if "".join(lines[start:end]) == address:
            return lines[start:end]
    raise AssertionError(f"{address} not found after the phone number: {lines[start : start + 4]}")


def breaks_only_at_at_or_dot(lines: list[str]) -> bool:
    pairs = zip(lines, lines[1:], strict=False)
    return all(before.endswith("@") or after.startswith(".") for before, after in pairs)


@pytest.mark.parametrize(
    "address",
    [
        "omar.said@arbetsformedlingen.example.se",
        "fornamn.efternamn@kommun.example.se",
        "handlaggare.socialtjanst.barn.och.unga@vaxjo-kommun.example.se",
        "anna.ang@example.se",
    ],
)
def test_an_address_is_printed_whole_or_broken_at_its_at_sign_or_a_dot(version, tmp_path, address):
    """The tester's "omar.said@arbetsformedlingen.e / xample.se": a split inside a name reads as another
    address. One that fits its column is printed on one line; a longer one breaks only at "@" or a dot."""
    content = deepcopy(version.content)
    content["contacts"][0]["email"] = address
    lines = address_as_printed(render_plan_pdf(content), tmp_path, address)
    assert breaks_only_at_at_or_dot(lines), lines


def test_an_address_that_fits_is_set_as_before(version):
    """A version whose addresses fit their column renders again as stored (versions.pdf_matches)."""
    assert render_plan_pdf(version.content) == version.pdf


labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyzåäö0123456789-_", min_size=1, max_size=24)


@given(
    local=st.lists(labels, min_size=1, max_size=4).map(".".join),
    domain=st.lists(labels, min_size=2, max_size=5).map(".".join),
    room=st.integers(min_value=3, max_value=60),
)
def test_address_lines_spell_the_address_and_break_only_at_at_or_dot(local, domain, room):
    address = f"{local}@{domain}"
    lines = address_lines(address, lambda text: len(text) <= room)
    assert "".join(lines) == address
    assert breaks_only_at_at_or_dot(lines)
    # Every line fits, but for a part no break is allowed inside (it is too long for any line).
    assert all(len(line) <= room or ("@" not in line[:-1] and "." not in line[1:]) for line in lines)
    if len(address) <= room:
        assert lines == [address]
