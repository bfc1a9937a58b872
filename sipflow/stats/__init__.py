"""Statistics for coordinators: the SIP indicators, disclosure control, dashboard, exports and CLI."""
