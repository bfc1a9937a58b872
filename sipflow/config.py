"""Configuration: defaults in code, overridden by SIPFLOW_* environment variables, validated at start."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEVELOPMENT_SECRET = "dev-only-secret-change-me"
ENVIRONMENTS = ("development", "testing", "production")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """Raised when the configuration cannot be used; the message names the variable."""


def _int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{name} must be positive, got {number}")
    return number


def load_config(environ: dict[str, str] | None = None, overrides: dict | None = None) -> dict:
    """Build the Flask config dict from defaults, SIPFLOW_* variables and overrides; validate it."""
    env = os.environ if environ is None else environ
    instance_dir = Path(env.get("SIPFLOW_INSTANCE_DIR", PROJECT_ROOT / "instance"))
    cfg = {
        "ENV_NAME": env.get("SIPFLOW_ENV", "development"),
        "INSTANCE_DIR": str(instance_dir),
        "DATABASE_URL": env.get("SIPFLOW_DATABASE_URL", f"sqlite:///{instance_dir / 'sipflow.sqlite3'}"),
        "SECRET_KEY": env.get("SIPFLOW_SECRET_KEY", DEVELOPMENT_SECRET),
        # A separate key for the personnummer lookup hash, so rotating the session key keeps the index.
        "PNR_HASH_KEY": env.get("SIPFLOW_PNR_HASH_KEY", ""),
        "OUTBOX_DIR": env.get("SIPFLOW_OUTBOX_DIR", str(instance_dir / "outbox")),
        "WORKFLOWS_DIR": env.get("SIPFLOW_WORKFLOWS_DIR", str(PROJECT_ROOT / "workflows")),
        "SESSION_IDLE_MINUTES": _int(
            "SIPFLOW_SESSION_IDLE_MINUTES", env.get("SIPFLOW_SESSION_IDLE_MINUTES", "30")
        ),
        "BABEL_DEFAULT_LOCALE": "sv",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Stockholm",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
    }
    if overrides:
        cfg.update(overrides)
    return validate_config(cfg)


def validate_config(cfg: dict) -> dict:
    """Check the values that would otherwise fail late; return cfg with derived values filled in."""
    if cfg["ENV_NAME"] not in ENVIRONMENTS:
        raise ConfigError(f"SIPFLOW_ENV must be one of {', '.join(ENVIRONMENTS)}, got {cfg['ENV_NAME']!r}")
    production = cfg["ENV_NAME"] == "production"
    if production and cfg["SECRET_KEY"] == DEVELOPMENT_SECRET:
        raise ConfigError("SIPFLOW_SECRET_KEY must be set to a secret of its own in production")
    if len(cfg["SECRET_KEY"]) < 16:
        raise ConfigError("SIPFLOW_SECRET_KEY must be at least 16 characters long")
    try:
        url = make_url(cfg["DATABASE_URL"])
    except ArgumentError:
        raise ConfigError(f"SIPFLOW_DATABASE_URL is not a database URL: {cfg['DATABASE_URL']!r}") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError("SIPFLOW_DATABASE_URL must point to SQLite or PostgreSQL")
    if not cfg["PNR_HASH_KEY"]:
        if production:
            raise ConfigError("SIPFLOW_PNR_HASH_KEY must be set in production")
        cfg["PNR_HASH_KEY"] = "dev-pnr-" + cfg["SECRET_KEY"]
    cfg["SESSION_COOKIE_SECURE"] = production
    cfg["REMEMBER_COOKIE_SECURE"] = production
    cfg["TESTING"] = cfg.get("TESTING", cfg["ENV_NAME"] == "testing")
    return cfg
