"""Plan versions: the list, one version, the comparison of two, and the PDF download.

Every page asks `case_or_404` first: a user who may not see the case gets the case page's 404, and every
read (a page, a download) is written to the access log, a download as a print of the case.
"""

from __future__ import annotations

from io import BytesIO

from flask import abort, render_template, send_file, url_for
from flask_login import login_required

from sipflow.db import get_session
from sipflow.people.services import IDENTIFIER_KIND_LABELS
from sipflow.plans.blueprint import bp
from sipflow.plans.compare import compare_versions
from sipflow.plans.forms import APPROVAL_METHOD_LABELS, EFFORT_STATUS_LABELS
from sipflow.plans.pdf import (
    approval_parties,
    identifier_kind,
    masked_identifier,
    pdf_filename,
    shown_version,
)
from sipflow.plans.versions import (
    find_version,
    is_scrubbed,
    recorded_approvals,
    version_pdf,
    version_summaries,
)
from sipflow.security import audit
from sipflow.translated import lazy_gettext as _l
from sipflow.web import case_or_404

FIELD_LABELS = {
    "needs": _l("Needs"),
    "huvudansvar": _l("Overall responsibility (huvudansvar)"),
    "fast_vardkontakt": _l("Fast vårdkontakt"),
    "fast_omsorgskontakt": _l("Fast omsorgskontakt"),
    "contacts": _l("Contact persons"),
    "follow_up_on": _l("Follow-up date"),
    "no_other_measures": _l("No measures by others"),
    "child_view": _l("The child's own view"),
    "child_view_missing_reason": _l("Why the child's view is missing"),
    "kind": _l("Kind"),
    "text": _l("Text"),
    "what": _l("What"),
    "organisation": _l("Organisation"),
    "unit": _l("Unit"),
    "responsible": _l("Responsible"),
    "actor": _l("Who"),
    "starts_on": _l("From"),
    "ends_on": _l("To"),
    "status": _l("Status"),
}
KIND_LABELS = {
    "own": _l("the person's own goal"),
    "professional": _l("the professionals' goal"),
    "effort": _l("effort"),
    "other": _l("measure by others"),
}


@bp.app_context_processor
def _labels() -> dict:
    return {
        "plan_status_labels": EFFORT_STATUS_LABELS,
        "plan_method_labels": APPROVAL_METHOD_LABELS,
        "plan_field_labels": FIELD_LABELS,
        "plan_kind_labels": KIND_LABELS,
    }


def _version_or_404(case, number: int):
    version = find_version(get_session(), case, number)
    if version is None:
        abort(404)
    return version


@bp.get("/cases/<uid>/plan/versions")
@login_required
def versions(uid: str):
    """The versions of the case's plan, newest first."""
    case = case_or_404(uid, audit.CASE_VIEW)
    return render_template(
        "plans/version_list.html", case=case, versions=version_summaries(get_session(), case)
    )


@bp.get("/cases/<uid>/plan/versions/<id:number>")
@login_required
def version(uid: str, number: int):
    """One version as it was frozen, with the approvals recorded for it since."""
    case = case_or_404(uid, audit.CASE_VIEW)
    found = _version_or_404(case, number)
    if is_scrubbed(found):
        return render_template("plans/version_scrubbed.html", case=case, version=found)
    content = found.content
    recorded = recorded_approvals(get_session(), found)
    newest = find_version(get_session(), case)
    shown = shown_version(content)
    return render_template(
        "plans/version_detail.html",
        case=case,
        version=found,
        content=content,
        identifier=masked_identifier(content["person"].get("id_number")),
        identifier_label=IDENTIFIER_KIND_LABELS[identifier_kind(content["person"])],
        # The parts as the PDF prints them (pdf.shown_version).
        efforts=shown.efforts,
        own_efforts=shown.own_efforts,
        other_efforts=shown.other_efforts,
        parties=approval_parties({**content, "approvals": recorded}),
        is_newest=newest is not None and newest.id == found.id,
    )


def _send_pdf(case, number: int, *, large: bool):
    data = version_pdf(get_session(), _version_or_404(case, number), large=large)
    if data is None:
        abort(404)  # retention removed it
    response = send_file(
        BytesIO(data),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=pdf_filename(case.reference, number, large=large),
        etag=False,
    )
    response.headers["Cache-Control"] = "no-store"  # personal data: never kept by a browser or proxy
    return response


@bp.get("/cases/<uid>/plan/versions/<id:number>/pdf")
@login_required
def version_pdf_download(uid: str, number: int):
    """The version's PDF as established, with the approvals recorded for it when printed."""
    return _send_pdf(case_or_404(uid, audit.CASE_PRINT), number, large=False)


@bp.get("/cases/<uid>/plan/versions/<id:number>/pdf/large")
@login_required
def version_pdf_large(uid: str, number: int):
    """The person's copy of the version in large, plain type, made from the same stored content."""
    return _send_pdf(case_or_404(uid, audit.CASE_PRINT), number, large=True)


@bp.get("/cases/<uid>/plan/versions/<id:old>/compare/<id:new>")
@login_required
def compare(uid: str, old: int, new: int):
    """What changed from version old to version new: goals, efforts and the plan's single-valued parts."""
    case = case_or_404(uid, audit.CASE_VIEW)
    older, newer = _version_or_404(case, old), _version_or_404(case, new)
    for found in (older, newer):
        if is_scrubbed(found):
            return render_template("plans/version_scrubbed.html", case=case, version=found)
    return render_template(
        "plans/version_compare.html",
        case=case,
        older=older,
        newer=newer,
        comparison=compare_versions(older.content, newer.content),
        compare_url=url_for("plans.compare", uid=uid, old=new, new=old),
    )
