"""Retention: anonymise ended cases after their retention, and export everything held about a person."""


def init_app(app) -> None:
    """Check the retention policy (workflow files and overrides) and register the nightly retention job."""
    from sipflow.retention.anonymise import RetentionPolicy
    from sipflow.retention.jobs import subscribe

    # Built once at start: an override naming no final state stops the app here, not at night.
    app.extensions["sipflow.retention"] = RetentionPolicy.from_app(app)
    subscribe()
