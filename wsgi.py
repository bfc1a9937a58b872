"""WSGI entry point: gunicorn wsgi:app, or flask --app wsgi ...

A configuration or workflow file the app cannot start with ends the process here with one line naming
the setting or the file and the key, and a non-zero exit status; create_app itself raises (tests read it).
"""

import sys

from werkzeug.serving import is_running_from_reloader

from sipflow import create_app
from sipflow.config import ConfigError
from sipflow.workflow.definition import WorkflowError

# gunicorn stops, rather than starting new workers for ever, when a worker exits with 3 ("failed to boot");
# werkzeug's reloader (flask run --debug) takes 3 as "start me again", so its child process exits with 1.
BOOT_FAILED = 3

try:
    app = create_app()
except (ConfigError, WorkflowError) as error:
    print(f"sipflow cannot start: {error}", file=sys.stderr)
    sys.exit(1 if is_running_from_reloader() else BOOT_FAILED)
