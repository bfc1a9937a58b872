"""Meetings: booking, invitations and their answers, the calendar feed and the meeting's outcome."""


def init_app(app) -> None:
    """Register the area's scheduled job: invitations the consent in force no longer covers are withdrawn."""
    from sipflow.meetings.jobs import subscribe

    subscribe()
