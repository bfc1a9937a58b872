"""Row ids from requests: the URL converter and the one parser of an id typed as text (a page cursor in the
query string, an id a form sends). Either names a row the database can look up, or nothing (a 404, the first
page, a refusal at the field), never an overflow or a 500."""

from __future__ import annotations

import re

from werkzeug.routing import IntegerConverter

# Row ids are INTEGER columns: 32 bits on PostgreSQL (SQLite takes 64). A larger number names no row, and
# handing it to the database is an error (SQLite: OverflowError; PostgreSQL: integer out of range).
MAX_ROW_ID = 2**31 - 1

# ASCII digits only: \d and str.isdigit() also take "٣", "²" and "①" (int() refuses the last two), and at
# most ten, so a number of thousands of digits (beyond int()'s limit of 4300) is never even converted.
ROW_ID_DIGITS = r"[0-9]{1,10}"
_ROW_ID = re.compile(ROW_ID_DIGITS)


def row_id(text: object) -> int | None:
    """The row id text names (1 to MAX_ROW_ID in ASCII digits), else None: anything else names no row.

    Every id or id cursor read from a query string or a form goes through here (`<id:...>` in a URL takes
    the same), so a bad one shows the first page or is refused as unknown, never a 500.
    """
    if not isinstance(text, str) or _ROW_ID.fullmatch(text) is None:
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ROW_ID else None


class RowIdConverter(IntegerConverter):
    """`<id:name>`: a positive integer a row id can be; anything else does not match the route (404)."""

    regex = ROW_ID_DIGITS

    def __init__(self, map, *args, **kwargs) -> None:
        super().__init__(map, min=1, max=MAX_ROW_ID)


def init_converters(app) -> None:
    """Register `id` on the app's URL map; call it before any blueprint is registered."""
    app.url_map.converters["id"] = RowIdConverter
