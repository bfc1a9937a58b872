"""Retention deletes the .eml files the file sink wrote for an anonymised case's mails, and nothing else."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from sqlmodel import select
from test_anonymise import ended_case, policy, run  # noqa: F401  (fixtures)

from sipflow.notifications.models import OutboxMessage
from sipflow.notifications.retention import delete_eml_files
from sipflow.notifications.transports import FileTransport, eml_name


def _sink_write(app, outbox_id: int, now, text: str) -> Path:
    FileTransport(app.config["OUTBOX_DIR"]).send(
        outbox_id=outbox_id, sender="sip@example.se", recipient="x@example.se", message=text, now=now
    )
    return Path(app.config["OUTBOX_DIR"]) / eml_name(outbox_id, now)


def test_an_anonymised_cases_eml_files_are_deleted(app, db_session, ended_case, policy, now):  # noqa: F811
    old, kept = ended_case("closed"), ended_case("closed", now - timedelta(days=2 * 365))
    old_mail = db_session.exec(select(OutboxMessage).where(OutboxMessage.case_id == old.id)).one()
    kept_mail = db_session.exec(select(OutboxMessage).where(OutboxMessage.case_id == kept.id)).one()
    sent = old_mail.sent_at
    files = [_sink_write(app, old_mail.id, sent, "To: birgitta@example.se\n\nRum HEMLIGRUM\n")]
    # A second delivery of the same row (a retry written later) has its own time stamp.
    files.append(_sink_write(app, old_mail.id, now, "To: birgitta@example.se\n\nRum HEMLIGRUM\n"))
    other = _sink_write(app, kept_mail.id, sent, "To: someone@example.se\n\nStill kept\n")
    # Not the sink's names: left alone, whatever the id in them.
    stray = Path(app.config["OUTBOX_DIR"]) / f"notes-{old_mail.id}.eml.txt"
    stray.write_text("mine")
    try:
        assert all(f.exists() for f in files)
        assert run(db_session, policy, now) == 1
        assert not any(f.exists() for f in files)
        assert other.exists() and stray.exists()
    finally:
        for path in (*files, other, stray):
            path.unlink(missing_ok=True)


def test_only_the_sinks_files_directly_in_the_folder_are_deleted(tmp_path):
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    outside = tmp_path / "20260101T000000Z-7.eml"
    outside.write_text("outside the outbox")
    mine = outbox / "20260101T000000Z-7.eml"
    mine.write_text("the case's mail")
    link = outbox / "20260102T000000Z-7.eml"
    os.symlink(outside, link)
    folder = outbox / "20260103T000000Z-7.eml"
    folder.mkdir()
    (folder / "20260101T000000Z-7.eml").write_text("inside a folder")
    other_row = outbox / "20260101T000000Z-17.eml"
    other_row.write_text("another row's mail")
    hidden = outbox / ".outbox-abc.tmp"
    hidden.write_text("being written")
    assert delete_eml_files(outbox, [7]) == 2
    assert not mine.exists() and not link.is_symlink()
    assert outside.read_text() == "outside the outbox"
    assert (folder / "20260101T000000Z-7.eml").exists()
    assert other_row.exists() and hidden.exists()


def test_a_missing_outbox_folder_holds_nothing_to_delete(tmp_path):
    assert delete_eml_files(tmp_path / "never-written", [1, 2]) == 0
    assert delete_eml_files(tmp_path, []) == 0
