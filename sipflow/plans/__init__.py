"""The plan area: the SIP document itself, its versions, approvals, PDF and the person's own view."""
