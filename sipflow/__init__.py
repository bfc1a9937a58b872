"""sipflow: a workflow engine for Swedish coordinated individual plans (SIP)."""

from __future__ import annotations

from flask import Flask, jsonify, request
from flask.logging import default_handler

from sipflow import db
from sipflow.config import ConfigError, load_config


def create_app(config: dict | None = None) -> Flask:
    """Build the application: config, database, login, translations, blueprints and CLI; starts no threads."""
    from sipflow import meetings, notifications, reminders, retention
    from sipflow.admin.views import bp as admin_bp
    from sipflow.admin.workflow_overview import warn_of_missing_versions
    from sipflow.areas import load_areas
    from sipflow.cases.views import bp as cases_bp
    from sipflow.cli import sipflow_cli
    from sipflow.coding.views import bp as coding_bp
    from sipflow.consent.views import bp as consent_bp
    from sipflow.forms import error_summary_items
    from sipflow.i18n import init_babel
    from sipflow.meetings.answers import bp as answers_bp
    from sipflow.meetings.feed import bp as calendar_bp
    from sipflow.meetings.views import bp as meetings_bp
    from sipflow.people.services import hash_key_refused
    from sipflow.plans.views import bp as plans_bp
    from sipflow.reminders.views import bp as reminders_bp
    from sipflow.routing import init_converters, remembering_url_for
    from sipflow.scheduler import scheduler_status
    from sipflow.security import HEALTH_CHECK, init_security
    from sipflow.security.redaction import install_log_redaction, redact_route_tokens
    from sipflow.security.views import bp as auth_bp
    from sipflow.stats.views import bp as stats_bp
    from sipflow.todo.views import bp as todo_bp
    from sipflow.web import json_error, register_json_address
    from sipflow.widgets import install as install_widget_attributes
    from sipflow.workflow.engine import WorkflowRegistry

    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="static",
    )
    app.config.update(load_config(overrides=config))
    init_converters(app)
    # One handler, the root's: Flask's own would print every line of the app's loggers a second time.
    app.logger.removeHandler(default_handler)
    install_log_redaction(app.logger)
    db.init_app(app)
    # Areas register their guards, effects and form inputs before the workflow files naming them are loaded,
    # then subscribe their after-commit hooks and scheduled jobs (retention first keeps the jobs' order; it
    # reads its years from the loaded workflows).
    load_areas()
    app.extensions["sipflow.workflows"] = WorkflowRegistry.from_folder(app.config["WORKFLOWS_DIR"])
    # Cases on a version whose file was removed are said at start, not first by their pages' 503.
    warn_of_missing_versions(
        app.extensions["sipflow.engine"], app.extensions["sipflow.workflows"], app.logger
    )
    # A restore that left the tables another user's: said at start, not by every page's and job's failure.
    out_of_reach = db.tables_out_of_reach(app.extensions["sipflow.engine"])
    if out_of_reach:
        raise ConfigError(out_of_reach)
    # Restored under another SIPFLOW_PNR_HASH_KEY, no one would be found: refused at start, not found later.
    refused = hash_key_refused(app.extensions["sipflow.engine"], app.config["PNR_HASH_KEY"])
    if refused:
        raise ConfigError(refused)
    retention.init_app(app)
    # Before the reminders: an invitation the consent no longer covers is withdrawn before its reminder.
    meetings.init_app(app)
    # Before the outbox: a tick's reminders are in the outbox when the outbox job runs after it.
    reminders.init_app(app)
    notifications.init_app(app)
    init_babel(app)
    install_widget_attributes()
    app.jinja_env.globals["error_summary_items"] = error_summary_items
    app.jinja_env.globals["url_for"] = remembering_url_for(app)
    init_security(app)
    app.register_blueprint(auth_bp)
    app.register_blueprint(cases_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(meetings_bp)
    app.register_blueprint(answers_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(plans_bp)
    app.register_blueprint(reminders_bp)
    app.register_blueprint(coding_bp)
    app.register_blueprint(consent_bp)
    app.register_blueprint(todo_bp)
    app.register_blueprint(stats_bp)
    if app.config["ENV_NAME"] != "production":
        from sipflow.notifications.views import bp as dev_bp

        # The .eml files of the file sink, for development and tests; production has no such page.
        app.register_blueprint(dev_bp)
    redact_route_tokens(app.url_map)
    app.cli.add_command(sipflow_cli)

    @app.get("/healthz", endpoint=HEALTH_CHECK)
    def healthz():
        status = db.database_status(db.get_engine())
        code = 200 if status["status"] == "ok" else 503
        # The scheduler is told, not judged: the web serves without it, so a load balancer keeps it in.
        scheduler = {"status": scheduler_status(app)}
        return jsonify(status="ok" if code == 200 else "error", database=status, scheduler=scheduler), code

    # A probe asking another way (a NUL in the address, a POST) gets its refusal as JSON too.
    register_json_address(app, lambda: request.path == "/healthz", json_error)

    return app
