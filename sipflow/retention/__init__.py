"""Retention: anonymise ended cases after their retention, and export everything held about a person."""


def init_app(_app) -> None:
    """Register the nightly retention job with the scheduler."""
    from sipflow.retention.jobs import subscribe

    subscribe()
