"""Administration: users and their sessions, and the tasks about one person (loggutdrag, registerutdrag)."""
