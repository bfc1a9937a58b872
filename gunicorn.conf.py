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


def post_worker_init(worker) -> None:
    """Leave the objects of the loaded app out of the garbage collector's full passes.

    A worker holds some 175 000 objects once the app is loaded (models, mappers, compiled statements,
    templates, catalogues), kept for its life; every older-generation collection walked them all again.
    Frozen, a request's collections walk only what requests made: about 1 ms less of a case page's CPU
    (bench/README.md, pages.py). Objects made later are collected as before.
    """
    import gc

    gc.collect()
    gc.freeze()
