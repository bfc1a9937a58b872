"""gunicorn settings for sipflow, read by `gunicorn wsgi:app` started in this folder (or with -c).

gunicorn sends `Server: gunicorn` with every response and offers no setting to leave it out; naming the
server software only helps someone looking for a known flaw in it. Responses go out without a Server header.
"""

from gunicorn.http import wsgi as _wsgi

_default_headers = _wsgi.Response.default_headers


def _without_server_header(response) -> list[str]:
    # default_headers() gives the status line and "Name: value\r\n" lines; the application's own follow.
    return [line for line in _default_headers(response) if not line.lower().startswith("server:")]


_wsgi.Response.default_headers = _without_server_header
