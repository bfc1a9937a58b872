"""Outgoing mail: outbox rows written with the change that causes them, delivered after commit."""


def init_app(_app) -> None:
    """Subscribe the outbox: delivery after each commit that wrote mail, and the scheduler's outbox job."""
    from sipflow.notifications.outbox import subscribe

    subscribe()
