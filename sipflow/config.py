"""Configuration: defaults in code, overridden by SIPFLOW_* environment variables, validated at start."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEVELOPMENT_SECRET = "dev-only-secret-change-me"
ENVIRONMENTS = ("development", "testing", "production")
# SIPFLOW_RETENTION_YEARS_<STATE> overrides the retention_years of every final state of that name.
RETENTION_OVERRIDE_PREFIX = "SIPFLOW_RETENTION_YEARS_"
# Storage back ends Flask-Limiter (the limits package) understands; memory:// is per process.
RATELIMIT_SCHEMES = (
    "memory",
    "redis",
    "rediss",
    "redis+unix",
    "redis+sentinel",
    "redis+cluster",
    "valkey",
    "valkeys",
    "valkey+unix",
    "valkey+sentinel",
    "valkey+cluster",
    "memcached",
    "mongodb",
    "mongodb+srv",
)
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


def _env_int(env, name: str, default: int) -> int:
    return _int(name, env.get(name, str(default)))


def _env_count(env, name: str, default: int) -> int:
    """A whole number of 0 or more (a count that may be none)."""
    value = env.get(name, str(default))
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"{name} must be 0 or more, got {number}")
    return number


def _retention_overrides(env) -> dict[str, int]:
    overrides: dict[str, int] = {}
    for name in sorted(env):
        if name.startswith(RETENTION_OVERRIDE_PREFIX):
            state = name.removeprefix(RETENTION_OVERRIDE_PREFIX).lower()
            if state in overrides:
                raise ConfigError(f"{name} is set twice (in different letter cases)")
            overrides[state] = _int(name, env[name])
    return overrides


def parse_age_bands(text) -> tuple[tuple[int, int | None], ...]:
    """Age bands from "0-17,18-24,80-" (or the tuple): ascending, low <= high, only the last one open."""
    if isinstance(text, tuple):
        return text
    bands: list[tuple[int, int | None]] = []
    for part in str(text).replace(" ", "").split(","):
        low, dash, high = part.partition("-")
        try:
            band = (int(low), int(high) if high else None)
        except ValueError:
            raise ConfigError(f"SIPFLOW_STATS_AGE_BANDS: {part!r} is not low-high or low-") from None
        if not dash or band[0] < 0 or (band[1] is not None and band[1] < band[0]):
            raise ConfigError(f"SIPFLOW_STATS_AGE_BANDS: {part!r} is not low-high or low-")
        if bands and (bands[-1][1] is None or band[0] <= bands[-1][0]):
            raise ConfigError("SIPFLOW_STATS_AGE_BANDS must be in ascending order, only the last one open")
        bands.append(band)
    return tuple(bands)


def instance_folder(env=None) -> Path:
    """The instance's own folder (SIPFLOW_INSTANCE_DIR, else instance/ in the project): its SQLite database,
    outbox, scheduler lock and gunicorn's control socket."""
    env = os.environ if env is None else env
    return Path(env.get("SIPFLOW_INSTANCE_DIR", PROJECT_ROOT / "instance"))


def load_config(environ: dict[str, str] | None = None, overrides: dict | None = None) -> dict:
    """Build the Flask config dict from defaults, SIPFLOW_* variables and overrides; validate it."""
    env = os.environ if environ is None else environ
    instance_dir = instance_folder(env)
    cfg = {
        "ENV_NAME": env.get("SIPFLOW_ENV", "development"),
        "INSTANCE_DIR": str(instance_dir),
        "DATABASE_URL": env.get("SIPFLOW_DATABASE_URL", f"sqlite:///{instance_dir / 'sipflow.sqlite3'}"),
        "SECRET_KEY": env.get("SIPFLOW_SECRET_KEY", DEVELOPMENT_SECRET),
        # A separate key for the personnummer lookup hash, so rotating the session key keeps the index.
        "PNR_HASH_KEY": env.get("SIPFLOW_PNR_HASH_KEY", ""),
        "OUTBOX_DIR": env.get("SIPFLOW_OUTBOX_DIR", str(instance_dir / "outbox")),
        # The address people reach sipflow at: links in e-mails (answer links) and calendar feed URLs.
        "PUBLIC_URL": env.get("SIPFLOW_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
        # The sender of every e-mail and the ORGANIZER of every invitation (calendar replies come back here).
        "MAIL_FROM": env.get("SIPFLOW_MAIL_FROM", "sip@sipflow.localhost"),
        "MAIL_FROM_NAME": env.get("SIPFLOW_MAIL_FROM_NAME", "SIP"),
        # Reply-To of invitations, and where a mail to MAIL_FROM that is no calendar answer is forwarded:
        # a shared mailbox someone reads. Empty: the address of the staff member who booked the meeting.
        "REPLY_TO": env.get("SIPFLOW_REPLY_TO", "").strip(),
        # The bearer secret the mail server sends with POST /itip/reply; empty: that endpoint answers 404
        # (`sipflow itip reply`, run on the server itself, needs none).
        "ITIP_REPLY_SECRET": env.get("SIPFLOW_ITIP_REPLY_SECRET", ""),
        # No SMTP host: every message is written as an .eml file into OUTBOX_DIR instead (development).
        "SMTP_HOST": env.get("SIPFLOW_SMTP_HOST", ""),
        "SMTP_PORT": _env_int(env, "SIPFLOW_SMTP_PORT", 25),
        "SMTP_USERNAME": env.get("SIPFLOW_SMTP_USERNAME", ""),
        "SMTP_PASSWORD": env.get("SIPFLOW_SMTP_PASSWORD", ""),
        "SMTP_SECURITY": env.get("SIPFLOW_SMTP_SECURITY", "none"),
        "SMTP_TIMEOUT_SECONDS": _env_int(env, "SIPFLOW_SMTP_TIMEOUT_SECONDS", 10),
        # after_commit: the request that wrote the rows delivers them at once (the scheduler retries what
        # failed); scheduler: only the scheduler process delivers (web requests never wait for SMTP).
        "OUTBOX_DELIVERY": env.get("SIPFLOW_OUTBOX_DELIVERY", "after_commit"),
        "OUTBOX_MAX_ATTEMPTS": _env_int(env, "SIPFLOW_OUTBOX_MAX_ATTEMPTS", 8),
        # The video meeting's join link; {room} becomes a random room name, one per meeting.
        "VIDEO_URL_TEMPLATE": env.get("SIPFLOW_VIDEO_URL_TEMPLATE", "https://meet.jit.si/sipflow-{room}"),
        # How many days a personal link to the person's plans works (revocable before then).
        "PERSONAL_LINK_DAYS": _env_int(env, "SIPFLOW_PERSONAL_LINK_DAYS", 30),
        # How many hours a set-password link works: an invitation (a new user), a reset (a forgotten one).
        "PASSWORD_INVITE_HOURS": _env_int(env, "SIPFLOW_PASSWORD_INVITE_HOURS", 72),
        "PASSWORD_RESET_HOURS": _env_int(env, "SIPFLOW_PASSWORD_RESET_HOURS", 2),
        "WORKFLOWS_DIR": env.get("SIPFLOW_WORKFLOWS_DIR", str(PROJECT_ROOT / "workflows")),
        "SESSION_IDLE_MINUTES": _env_int(env, "SIPFLOW_SESSION_IDLE_MINUTES", 30),
        # Absolute session lifetime: a login ends after this long however active the user is.
        "SESSION_MAX_HOURS": _env_int(env, "SIPFLOW_SESSION_MAX_HOURS", 12),
        # Flask-Limiter, for the public answer-link and calendar-feed pages. memory:// counts per process:
        # with several gunicorn workers or web nodes, point it at a shared store (redis://host:6379/0).
        "RATELIMIT_STORAGE_URI": env.get("SIPFLOW_RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_HEADERS_ENABLED": False,
        # How many proxies in front of sipflow each add the address they were reached from to
        # X-Forwarded-For (and say the scheme in X-Forwarded-Proto): the TLS proxy is one. 0 (none): the
        # client address is the connection's, which behind a proxy is the proxy's for every user, so the
        # login limits per address and the public pages' limits counted the whole county as one client.
        "TRUSTED_PROXIES": _env_count(env, "SIPFLOW_TRUSTED_PROXIES", 0),
        # Login throttling, counted in the database (sipflow/security/throttle.py) so every worker and node
        # shares it. Failed attempts allowed per username from one address, and per client address
        # (offices share one address).
        "LOGIN_LIMIT_PER_USERNAME": env.get("SIPFLOW_LOGIN_LIMIT_PER_USERNAME", "5 per minute;20 per hour"),
        "LOGIN_LIMIT_PER_ADDRESS": env.get("SIPFLOW_LOGIN_LIMIT_PER_ADDRESS", "30 per minute;200 per hour"),
        # After this many failures of one username within the hour (from any addresses), an address that
        # failed for it waits 15 s, doubling with each further failure, at most the maximum.
        "LOGIN_DELAY_AFTER_FAILURES": _env_int(env, "SIPFLOW_LOGIN_DELAY_AFTER_FAILURES", 5),
        "LOGIN_DELAY_MAX_SECONDS": _env_int(env, "SIPFLOW_LOGIN_DELAY_MAX_SECONDS", 900),
        # Overrides of the workflow files' retention_years, by final state name; create_app refuses a name
        # no workflow has as a final state.
        "RETENTION_YEARS": _retention_overrides(env),
        # How long a scheduler process that is not the leader waits before asking for the lock again.
        "SCHEDULER_RETRY_SECONDS": _env_int(env, "SIPFLOW_SCHEDULER_RETRY_SECONDS", 30),
        # Statistics (sipflow/stats): counts of 1 to threshold-1 persons are shown as "<threshold".
        "STATS_SUPPRESSION_THRESHOLD": _env_int(env, "SIPFLOW_STATS_SUPPRESSION_THRESHOLD", 5),
        # The age bands of the statistics, "low-high" or "low-" for the open last band, in order.
        "STATS_AGE_BANDS": parse_age_bands(
            env.get("SIPFLOW_STATS_AGE_BANDS", "0-17,18-24,25-44,45-64,65-79,80-")
        ),
        # The workflow files' deadline kinds the lead times read (kallelse on time, follow-up by its date).
        "BABEL_DEFAULT_LOCALE": "sv",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Stockholm",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        # Flask-WTF refuses a POST over HTTPS whose Referer is not this host, but every response says
        # `Referrer-Policy: no-referrer` (an answer link's or set-password link's token never leaves in a
        # Referer), so browsers send none: behind the TLS proxy (X-Forwarded-Proto: https, which gunicorn
        # trusts from 127.0.0.1) every form, the login first, was refused. The session-bound CSRF token,
        # SameSite=Lax and the __Host- session cookie stay the protection.
        "WTF_CSRF_SSL_STRICT": False,
        # The largest request body a page takes: a directory import file (2 MB) or a KVÅ catalogue (1 MB),
        # with the form around it; more answers 413 before anything reads it. Werkzeug reads a urlencoded
        # body whole into memory and spools a multipart file to disk as soon as the form is read (the CSRF
        # check does, before any login), so unbounded, one anonymous POST of gigabytes is read in full.
        # A view that takes more raises it for itself (`sipflow.security.allow_body`).
        "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
    }
    if overrides:
        cfg.update(overrides)
    return validate_config(cfg)


def validate_config(cfg: dict) -> dict:
    """Check the values that would otherwise fail late; return cfg with derived values filled in."""
    if cfg["ENV_NAME"] not in ENVIRONMENTS:
        raise ConfigError(f"SIPFLOW_ENV must be one of {', '.join(ENVIRONMENTS)}, got {cfg['ENV_NAME']!r}")
    production = cfg["ENV_NAME"] == "production"
    cfg["STATS_AGE_BANDS"] = parse_age_bands(cfg["STATS_AGE_BANDS"])
    if production and cfg["SECRET_KEY"] == DEVELOPMENT_SECRET:
        raise ConfigError("SIPFLOW_SECRET_KEY must be set to a secret of its own in production")
    if len(cfg["SECRET_KEY"]) < 16:
        raise ConfigError("SIPFLOW_SECRET_KEY must be at least 16 characters long")
    try:
        url = make_url(cfg["DATABASE_URL"])
    except ArgumentError:
        raise ConfigError(f"SIPFLOW_DATABASE_URL is not a database URL: {cfg['DATABASE_URL']!r}") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        # Named by its scheme alone: the rest of the URL may hold the password.
        raise ConfigError(
            "SIPFLOW_DATABASE_URL must point to SQLite or PostgreSQL, written sqlite:///PATH or "
            f"postgresql+psycopg://USER:PASSWORD@HOST/DATABASE; it begins {url.drivername}://"
        )
    if not cfg["PNR_HASH_KEY"]:
        if production:
            raise ConfigError("SIPFLOW_PNR_HASH_KEY must be set in production")
        cfg["PNR_HASH_KEY"] = "dev-pnr-" + cfg["SECRET_KEY"]
    _validate_limits(cfg)
    _validate_whole_numbers(cfg)
    _validate_proxies(cfg)
    _validate_threshold(cfg)
    _validate_retention(cfg)
    _validate_mail(cfg)
    cfg["SESSION_COOKIE_SECURE"] = production
    cfg["REMEMBER_COOKIE_SECURE"] = production
    if production:
        # __Host-: the browser accepts the cookie only over HTTPS, for this host and path / (ASVS 3.3.1).
        cfg.setdefault("SESSION_COOKIE_NAME", "__Host-sipflow-session")
    cfg["TESTING"] = cfg.get("TESTING", cfg["ENV_NAME"] == "testing")
    return cfg


def _validate_limits(cfg: dict) -> None:
    from limits import parse_many

    scheme = str(cfg["RATELIMIT_STORAGE_URI"]).partition("://")
    if not scheme[1] or scheme[0] not in RATELIMIT_SCHEMES:
        raise ConfigError(
            "SIPFLOW_RATELIMIT_STORAGE_URI must be a storage URI such as memory:// or redis://host:6379/0, "
            f"got {cfg['RATELIMIT_STORAGE_URI']!r}"
        )
    _check_limit_store_client(str(cfg["RATELIMIT_STORAGE_URI"]))
    for key in ("LOGIN_LIMIT_PER_USERNAME", "LOGIN_LIMIT_PER_ADDRESS"):
        try:
            if not parse_many(cfg[key]):
                raise ValueError
        except ValueError:
            raise ConfigError(
                f"SIPFLOW_{key} must be limits such as '5 per minute;20 per hour', got {cfg[key]!r}"
            ) from None


def _check_limit_store_client(uri: str) -> None:
    """Refuse a limit store whose client library is not installed (redis:// without the redis package), in
    one line at the start: otherwise the first public page's limiter stopped the start with a traceback.
    Building the store connects to nothing (the clients connect on first use)."""
    from limits.errors import ConfigurationError
    from limits.storage import storage_from_string

    try:
        storage_from_string(uri)
    except ConfigurationError as error:
        raise ConfigError(
            f"SIPFLOW_RATELIMIT_STORAGE_URI {uri.partition('://')[0]}:// needs its client library, which is "
            f"not installed (pip install it beside sipflow): {error}"
        ) from None


def _validate_whole_numbers(cfg: dict) -> None:
    for key in (
        "SESSION_IDLE_MINUTES",
        "SESSION_MAX_HOURS",
        "SCHEDULER_RETRY_SECONDS",
        "SMTP_PORT",
        "SMTP_TIMEOUT_SECONDS",
        "OUTBOX_MAX_ATTEMPTS",
        "LOGIN_DELAY_AFTER_FAILURES",
        "LOGIN_DELAY_MAX_SECONDS",
        "PERSONAL_LINK_DAYS",
        "PASSWORD_INVITE_HOURS",
        "PASSWORD_RESET_HOURS",
    ):
        if not isinstance(cfg[key], int) or isinstance(cfg[key], bool) or cfg[key] <= 0:
            raise ConfigError(f"SIPFLOW_{key} must be a positive whole number, got {cfg[key]!r}")


def _validate_proxies(cfg: dict) -> None:
    proxies = cfg["TRUSTED_PROXIES"]
    if not isinstance(proxies, int) or isinstance(proxies, bool) or proxies < 0:
        raise ConfigError(f"SIPFLOW_TRUSTED_PROXIES must be a whole number of 0 or more, got {proxies!r}")


def _validate_threshold(cfg: dict) -> None:
    # Counts of 1 to threshold-1 persons are hidden: below 2 nothing is (0 or 1 would publish a count of one
    # person, and the legend would read "1 to 0 persons are shown as <1").
    threshold = cfg["STATS_SUPPRESSION_THRESHOLD"]
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 2:
        raise ConfigError(
            f"SIPFLOW_STATS_SUPPRESSION_THRESHOLD must be a whole number of 2 or more, got {threshold!r}"
        )


def retention_override_variable(state: str) -> str:
    """The environment variable that overrides the retention of every final state named state."""
    return f"{RETENTION_OVERRIDE_PREFIX}{state.upper()}"


def _validate_retention(cfg: dict) -> None:
    years = cfg["RETENTION_YEARS"]
    if not isinstance(years, dict) or not all(isinstance(state, str) for state in years):
        raise ConfigError("RETENTION_YEARS must map final state names to years")
    for state, value in years.items():
        name = retention_override_variable(state)
        if not state:
            raise ConfigError(f"{name} must name a final state: {RETENTION_OVERRIDE_PREFIX}<STATE>")
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100:
            raise ConfigError(f"{name} must be a whole number of years from 1 to 100, got {value!r}")


SMTP_SECURITY_MODES = ("none", "starttls", "ssl")
# The hosts a production SIPFLOW_PUBLIC_URL may name over plain http: the machine itself (a browser treats
# it as secure, so the Secure cookie works; the default address, and the go-live test, use it).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
OUTBOX_DELIVERY_MODES = ("after_commit", "scheduler")
# A bearer secret short enough to guess would reopen the forgery it closes.
ITIP_SECRET_MIN = 24
# A meeting's video link: at most this long (the column, meetings.models.Meeting.video_url), made of
# SIPFLOW_VIDEO_URL_TEMPLATE and a random room name this long (meetings.services: 15 random bytes).
VIDEO_URL_MAX_LENGTH = 500
VIDEO_ROOM_LENGTH = 20
# The characters a URI holds as they are (RFC 3986: unreserved, reserved and the % of an escape). A link
# with any other (a space, a line break, a quote, a letter outside ASCII) is no link in the mail, and no URL
# property of a calendar entry: the icalendar library refuses to write one with a line break.
URI_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%"
)


def _validate_mail(cfg: dict) -> None:
    from urllib.parse import urlsplit

    if cfg["SMTP_SECURITY"] not in SMTP_SECURITY_MODES:
        raise ConfigError(
            f"SIPFLOW_SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY_MODES)}, "
            f"got {cfg['SMTP_SECURITY']!r}"
        )
    if cfg["OUTBOX_DELIVERY"] not in OUTBOX_DELIVERY_MODES:
        raise ConfigError(
            f"SIPFLOW_OUTBOX_DELIVERY must be one of {', '.join(OUTBOX_DELIVERY_MODES)}, "
            f"got {cfg['OUTBOX_DELIVERY']!r}"
        )
    if "@" not in cfg["MAIL_FROM"] or any(c in cfg["MAIL_FROM"] for c in " <>\r\n"):
        raise ConfigError(f"SIPFLOW_MAIL_FROM must be a plain e-mail address, got {cfg['MAIL_FROM']!r}")
    reply_to = cfg["REPLY_TO"]
    if reply_to and ("@" not in reply_to or any(c.isspace() or c in '<>",;' for c in reply_to)):
        raise ConfigError(f"SIPFLOW_REPLY_TO must be a plain e-mail address, got {reply_to!r}")
    if reply_to.lower() == cfg["MAIL_FROM"].lower():
        # Mail to MAIL_FROM that is no calendar answer is forwarded to REPLY_TO: the same address would loop.
        raise ConfigError("SIPFLOW_REPLY_TO must be a mailbox a person reads, not SIPFLOW_MAIL_FROM")
    secret = cfg["ITIP_REPLY_SECRET"]
    if secret and (
        len(secret) < ITIP_SECRET_MIN
        or not secret.isascii()
        or not secret.isprintable()
        or any(c.isspace() for c in secret)
    ):
        raise ConfigError(
            f"SIPFLOW_ITIP_REPLY_SECRET must be at least {ITIP_SECRET_MIN} printable ASCII characters "
            "without spaces (or empty, which turns POST /itip/reply off)"
        )
    public = urlsplit(cfg["PUBLIC_URL"])
    if public.scheme not in ("http", "https") or not public.netloc or public.query or public.fragment:
        raise ConfigError(f"SIPFLOW_PUBLIC_URL must be an http(s) address, got {cfg['PUBLIC_URL']!r}")
    if cfg["ENV_NAME"] == "production" and public.scheme != "https" and public.hostname not in LOOPBACK_HOSTS:
        # The session cookie is Secure (__Host-): over plain HTTP no login would work, and every link mailed
        # (answer, personal, set-password links) and every feed key would travel unencrypted.
        raise ConfigError(
            f"SIPFLOW_PUBLIC_URL must be an https:// address in production, got {cfg['PUBLIC_URL']!r}"
        )
    template = cfg["VIDEO_URL_TEMPLATE"]
    if not template.startswith("https://") or template.count("{room}") != 1:
        raise ConfigError(
            "SIPFLOW_VIDEO_URL_TEMPLATE must be an https:// address with {room} in it once, "
            f"got {template!r}"
        )
    try:
        link = template.format(room="x" * VIDEO_ROOM_LENGTH)
    except (KeyError, IndexError, ValueError):
        raise ConfigError(
            f"SIPFLOW_VIDEO_URL_TEMPLATE may hold no other {{...}} field than {{room}}, got {template!r}"
        ) from None
    # Checked at start: a template making links no mail or calendar entry can carry would fail, or mislead,
    # every video meeting booked, each noticed only then.
    if not set(link) <= URI_CHARACTERS:
        raise ConfigError(
            "SIPFLOW_VIDEO_URL_TEMPLATE may hold only the characters of a link (no space, line break, quote "
            f"or letter outside ASCII: percent-encode it), got {template!r}"
        )
    if not urlsplit(template).hostname or "{room}" in urlsplit(template).netloc:
        raise ConfigError(
            f"SIPFLOW_VIDEO_URL_TEMPLATE must name the video service's host before {{room}}, got {template!r}"
        )
    if len(link) > VIDEO_URL_MAX_LENGTH:
        raise ConfigError(
            f"SIPFLOW_VIDEO_URL_TEMPLATE makes links of {len(link)} characters with a room name of "
            f"{VIDEO_ROOM_LENGTH}; a meeting's video link holds at most {VIDEO_URL_MAX_LENGTH}"
        )
