"""Outgoing mail: outbox rows written with the change that causes them, delivered after commit."""
