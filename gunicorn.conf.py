"""gunicorn settings for sipflow, read by `gunicorn wsgi:app` started in this folder (or with -c).

The app is built once, in the master, before the workers are forked (preload_app): the workflow files and
settings are read at start only. A worker started later (after a crash, a timeout, max_requests) is a fork
of the running app and reads nothing again, so a file changed or broken in the folder since the start
cannot stop it from booting and take the service down; a changed file takes effect at the next restart.

gunicorn sends `Server: gunicorn` with every response and offers no setting to leave it out; naming the
server software only helps someone looking for a known flaw in it. Responses go out without a Server header.
"""

from gunicorn.http import wsgi as _wsgi

from sipflow.config import instance_folder

_default_headers = _wsgi.Response.default_headers


def _without_server_header(response) -> list[str]:
    # default_headers() gives the status line and "Name: value\r\n" lines; the application's own follow.
    return [line for line in _default_headers(response) if not line.lower().startswith("server:")]


_wsgi.Response.default_headers = _without_server_header


preload_app = True

# gunicorn (25 and later) opens a control socket for gunicornc at one path per account ($XDG_RUNTIME_DIR or
# ~/.gunicorn): two sipflow services run by one account (a test and a production instance, a benchmark
# beside either) would share it, the later one taking it over. Each instance keeps its own, in its folder.
control_socket = str(instance_folder() / "gunicorn.ctl")


def post_fork(server, worker) -> None:
    """Give the new worker a connection pool of its own: the master's connections (the start's look at the
    cases per workflow version) are not shared with it. create_app starts no thread, the scheduler is a
    process of its own, the loggers write to inherited streams, the request limits' memory:// store starts
    empty in each worker and a redis:// client opens its own connections after a fork."""
    from sipflow.db import forget_inherited_connections

    forget_inherited_connections(server.app.wsgi())


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
