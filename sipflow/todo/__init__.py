"""Att göra: the staff member's first page, what needs doing now across cases, meetings and plans."""
