"""SIP meetings and who attended them, in which way."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

MEETING_MODES = ("on_site", "video", "mixed")
ATTENDANCE_MODES = ("on_site", "video", "phone", "absent")
MEETING_STATUSES = ("planned", "held", "cancelled")


class Meeting(SQLModel, table=True):
    """A SIP meeting: first meeting or follow-up, on site, by video or mixed."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="sipcase.id", index=True)
    kind: str = Field(default="first", max_length=12)  # first | follow_up
    status: str = Field(default="planned", max_length=12)
    mode: str = Field(max_length=10)
    starts_at: datetime = Field(index=True)
    ends_at: datetime
    location: str | None = Field(default=None, max_length=200)
    video_url: str | None = Field(default=None, max_length=500)
    held_at: datetime | None = None


class Attendance(SQLModel, table=True):
    """How one participant attended one meeting."""

    meeting_id: int = Field(foreign_key="meeting.id", primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", primary_key=True)
    mode: str = Field(max_length=10)
