"""Row ids from requests: the URL converter and the one parser of an id typed as text (a page cursor in the
query string, an id a form sends). Either names a row the database can look up, or nothing (a 404, the first
page, a refusal at the field), never an overflow or a 500. And the lists' opaque page cursors
(`cursor_token`, `cursor_text`): what one did not write reads as nothing (the first page)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, has_request_context, request
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


# A row's one address: its number as `url_for` writes it, so no leading zero ("00003" is not row 3's).
ROW_ID_IN_URL = r"[1-9][0-9]{0,9}"


class RowIdConverter(IntegerConverter):
    """`<id:name>`: a positive integer a row id can be, written as `url_for` writes it (ASCII digits, no
    leading zero); anything else does not match the route (404)."""

    regex = ROW_ID_IN_URL

    def __init__(self, map, *args, **kwargs) -> None:
        super().__init__(map, min=1, max=MAX_ROW_ID)


def init_converters(app) -> None:
    """Register `id` on the app's URL map; call it before any blueprint is registered."""
    app.url_map.converters["id"] = RowIdConverter


# Addresses a template built before, at most this many kept per process (then forgotten all at once).
URLS_KEPT = 4096


def remembering_url_for(app: Flask) -> Callable[..., str]:
    """The templates' `url_for`: Flask's, but an address built before for the same endpoint, values and
    script root is answered from memory.

    A page builds some thirty addresses (the menu's, each participant's, each step's), each a walk of the
    URL map of about 10 µs, and the same ones on every view. What an address depends on is all in the key,
    each value with its type (True and 1 are equal keys but different addresses); a call that depends on
    more (a blueprint-relative endpoint, an `_external` or `_anchor` argument, outside a request) goes to
    Flask as before, as does every call while the app has URL-defaults functions. A refused build raises
    as Flask's does and is not kept.
    """
    built: dict = {}

    def url_for(endpoint: str, **values) -> str:
        if app.url_default_functions or endpoint[:1] == "." or not has_request_context():
            return app.url_for(endpoint, **values)
        key = (request.script_root, endpoint, *((name, type(value), value) for name, value in values.items()))
        try:
            return built[key]
        except KeyError:
            pass
        except TypeError:  # a value that cannot be a key (a list of query values): built every time
            return app.url_for(endpoint, **values)
        address = app.url_for(endpoint, **values)
        if not any(name[:1] == "_" for name in values):
            if len(built) >= URLS_KEPT:
                built.clear()
            built[key] = address
        return address

    return url_for


_CURSOR_TOKEN = re.compile(r"[A-Za-z0-9_-]*")


def cursor_token(raw: str) -> str:
    """raw (ASCII) as an opaque, URL-safe token without padding: a list's page cursor in a link."""
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_text(token: str, max_length: int) -> str | None:
    """The text cursor_token made token from, else None: too long, or not a token it could have made.

    Only the URL-safe alphabet: the decoder skips other characters (and b64decode's altchars lets "+" and
    "/" through), so an edited token could still read as a cursor.
    """
    if len(token) > max_length or _CURSOR_TOKEN.fullmatch(token) is None:
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except ValueError:  # a length no encoding gives (binascii.Error), or bytes beyond ASCII
        return None


# The page number a list's links carry is only a label (the cursor is the row id); beyond this it is 1.
MAX_PAGE_NUMBER = 100_000


def page_number(text: object) -> int:
    """The page number a pager link carries (1 to MAX_PAGE_NUMBER in ASCII digits), else 1."""
    number = row_id(text)
    return number if number is not None and number <= MAX_PAGE_NUMBER else 1


@dataclass
class KeysetPage:
    """One page of a keyset-paginated list, with the cursors of its neighbours (a row's id, or the key the
    list is ordered by): what the pager macro (templates/macros.html) shows; Mina SIP's CasePage is one."""

    rows: list
    page: int = 1
    previous_cursor: object | None = None  # a row id, or another key (a code) the list is ordered by
    next_cursor: object | None = None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def keyset_page(
    read: Callable[[object | None, bool, int], list],
    *,
    after: object | None,
    before: object | None,
    page: int,
    limit: int,
    key: Callable[[object], object],
) -> KeysetPage:
    """The page of a list strictly after the row after, or strictly before the row before (the previous
    page), or the first page. read(cursor, backwards, count) gives at most count rows past the cursor's row
    (None: from the start) in the list's order, or backwards in the reverse order; key is a row's cursor. page
    is the number the link to this page carried (a label: a page with rows before it is at least 2).

    A cursor whose row is gone gives the first page, never an empty page with no way on."""
    if before is not None and after is None:
        found = read(before, True, limit + 1)
        if found:
            has_previous = len(found) > limit
            rows = list(reversed(found[:limit]))
            return KeysetPage(
                rows,
                page=max(page, 2) if has_previous else 1,
                previous_cursor=key(rows[0]) if has_previous else None,
                next_cursor=key(rows[-1]),
            )
        after = None
    found = read(after, False, limit + 1)
    rows = found[:limit]
    if after is not None and not rows:
        return keyset_page(read, after=None, before=None, page=1, limit=limit, key=key)
    return KeysetPage(
        rows,
        page=max(page, 2) if after is not None else 1,
        previous_cursor=key(rows[0]) if after is not None else None,
        next_cursor=key(rows[-1]) if len(found) > limit else None,
    )
