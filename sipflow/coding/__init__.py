"""KVÅ coding: the code catalogue (data), and the code records written when a SIP meeting is held."""
