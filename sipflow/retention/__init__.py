"""Retention: anonymise ended cases after their retention, and export everything held about a person."""
