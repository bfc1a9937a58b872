"""The forms of the directory pages (organisations, units) and of the CSV import."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectChoice, SelectField, StringField, SubmitField

from sipflow.admin.directory import ORGANISATION_KIND_LABELS, UNIT_KIND_LABELS
from sipflow.admin.forms import row_version_field
from sipflow.forms import MergesAsRead, PageForm
from sipflow.lengths import MaxLength
from sipflow.translated import lazy_gettext as _l

KEY_HELP = _l(
    "Lower-case letters, digits, '.', '_' or '-'; what an import names it by. It cannot be changed later."
)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class OrganisationForm(PageForm):
    """An organisation: key (on creation only), name, kind, county and municipality."""

    key = StringField(_l("Key"), description=KEY_HELP, filters=[_strip], validators=[MaxLength(64)])
    name = StringField(_l("Name"), filters=[_strip], validators=[MaxLength(160)])
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice(k, v) for k, v in ORGANISATION_KIND_LABELS.items()],
        validate_choice=False,
    )
    county_code = SelectField(
        _l("County"), description=_l("Required for a region."), choices=[], validate_choice=False
    )
    municipality_code = SelectField(
        _l("Municipality"),
        description=_l(
            "Required for a municipality, possible for a school; its county follows from it."
            " Empty for a region or another agency."
        ),
        choices=[],
        validate_choice=False,
    )


class EditOrganisationForm(MergesAsRead, OrganisationForm):
    """An organisation's edit page: the fields it may change (never the key), the version of the
    organisation they were read at and their values as read (merged after someone else's change)."""

    merged_fields = ("name", "kind", "county_code", "municipality_code")
    key = None  # set once, at creation: a stale form's notice names only what the form can change
    version = row_version_field()


class UnitForm(PageForm):
    """A unit: organisation and key (on creation only), name, kind, health care, mailbox and HSA-id."""

    organisation_id = SelectField(_l("Organisation"), choices=[], validate_choice=False)
    key = StringField(_l("Key"), description=KEY_HELP, filters=[_strip], validators=[MaxLength(64)])
    name = StringField(_l("Name"), filters=[_strip], validators=[MaxLength(160)])
    kind = SelectField(
        _l("Kind of unit"),
        choices=[SelectChoice(k, v) for k, v in UNIT_KIND_LABELS.items()],
        validate_choice=False,
    )
    is_health_care = BooleanField(
        _l("Health-care unit"), description=_l("Health-care units record KVÅ codes for the SIP meetings.")
    )
    email = StringField(
        _l("Shared mailbox"),
        description=_l("The unit's shared e-mail address, for invitations to the unit."),
        filters=[_strip],
        validators=[MaxLength(254)],
    )
    hsa_id = StringField(
        _l("HSA-id"),
        description=_l("Optional, e.g. SE2321000016-15CQ."),
        filters=[_strip],
        validators=[MaxLength(31)],
    )


class EditUnitForm(MergesAsRead, UnitForm):
    """A unit's edit page: the fields it may change (never the key nor the organisation), the version of
    the unit they were read at and their values as read (merged after someone else's change)."""

    merged_fields = ("name", "kind", "is_health_care", "email", "hsa_id")
    key = None  # set once, at creation, as the organisation: a stale form's notice names only these fields
    organisation_id = None
    version = row_version_field()


class ImportForm(PageForm):
    """A CSV file or Excel workbook of organisations, units and users, checked (dry run) or imported."""

    file = FileField(
        _l("CSV file or Excel workbook"),
        validators=[FileRequired(message=_l("Choose a file."))],
        render_kw={"accept": ".csv,.txt,.tsv,.xlsx,text/csv,text/plain"},
    )
    dry_run = SubmitField(_l("Check (dry run)"))
    apply = SubmitField(_l("Import"))
