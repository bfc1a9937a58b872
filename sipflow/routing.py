"""URL converters: row ids in URLs that the database can look up, or a 404 without asking it."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

# Row ids are INTEGER columns: 32 bits on PostgreSQL (SQLite takes 64). A larger number names no row, and
# handing it to the database is an error (SQLite: OverflowError; PostgreSQL: integer out of range).
MAX_ROW_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """`<id:name>`: a positive integer a row id can be; anything else does not match the route (404)."""

    # At most ten digits, so a thousand-digit number is never even converted.
    regex = r"\d{1,10}"

    def __init__(self, map, *args, **kwargs) -> None:
        super().__init__(map, min=1, max=MAX_ROW_ID)


def init_converters(app) -> None:
    """Register `id` on the app's URL map; call it before any blueprint is registered."""
    app.url_map.converters["id"] = RowIdConverter
