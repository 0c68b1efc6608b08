"""Console configuration: ``console.toml`` validated against a schema written as data.

:data:`SCHEMA` lists every section and key with its type, default, range or choices and a
one-line description. :func:`load_config` reads a file and :func:`parse_config` a mapping; both
check *everything* and raise one :class:`~web.errors.ConsoleConfigError` whose ``errors`` name
each offending key by its path (``console.listen_port: must be <= 65535, got 70000``), so an
operator fixes them all in one go. The result is a frozen :class:`ConsoleConfig`.

A secret key (``console.secret_key`` or ``console.secret_key_file``) is required: there is no
default secret anywhere, and the console refuses to start without one.

Relative paths are taken relative to the config file's directory. Secrets given as files
(secret key, broker password, node command keys) are read when the config is loaded, so a
missing file is reported with the other errors. A top-level ``include = ["nodes.toml"]`` merges
the ``[mqtt]`` and ``[nodes.<id>]`` tables that ``lobbygate provision`` writes.

Example::

    [console]
    site = "sunny-garden"
    db = "/var/lib/lobbygate/console.sqlite"
    users_db = "/var/lib/lobbygate/users.json"
    secret_key_file = "/etc/lobbygate/console.secret"
    listen_host = "0.0.0.0"
    listen_port = 8080

    [mqtt]
    host = "localhost"
    port = 8883
    username = "console"
    password_file = "/etc/lobbygate/console.password"
    tls = true
    ca_file = "/etc/lobbygate/ca.crt"

    [nodes.lobby]
    command_key_file = "/etc/lobbygate/keys/lobby.key"
"""

from __future__ import annotations

import os
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from mqtt_topics import ContractError
from mqtt_topics.schema import (Key, Section, check_hex_key, check_nonempty, contract_check,
                                load_toml, read_secret, show, unknown, validate_table)
from mqtt_topics.topics import check_id, check_node_id

from .errors import ConsoleConfigError

if TYPE_CHECKING:  # pragma: no cover
    from .services import ServicesConfig

__all__ = ["Key", "Section", "SCHEMA", "SUPPORTED_LANGUAGES", "MIN_SECRET_KEY_CHARS",
           "MqttSettings", "ConsoleConfig", "load_config", "parse_config"]

#: Languages the console ships catalogues for; the first is the default.
SUPPORTED_LANGUAGES: tuple[str, ...] = ("zh_CN", "en")
#: Shortest secret key accepted (characters). ``python -c "import secrets;
#: print(secrets.token_hex(32))"`` makes a good one.
MIN_SECRET_KEY_CHARS = 32
#: Shortest node command key accepted (bytes).
MIN_COMMAND_KEY_BYTES = 16


# -- the schema, as data ------------------------------------------------------------------------

_check_site = contract_check(lambda v: check_id(v, "site"))


def _check_secret(v: str) -> str | None:
    if len(v.strip()) < MIN_SECRET_KEY_CHARS:
        return f"must be at least {MIN_SECRET_KEY_CHARS} characters, got {len(v.strip())}"
    return None


def _check_hex_key(v: str) -> str | None:
    return check_hex_key(v, MIN_COMMAND_KEY_BYTES)


def _check_languages(v: list[str]) -> str | None:
    bad = [x for x in v if x not in SUPPORTED_LANGUAGES]
    if bad:
        return f"unsupported language(s) {bad}; supported: {', '.join(SUPPORTED_LANGUAGES)}"
    if not v:
        return "must list at least one language"
    return None


def _check_timezone(v: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(v)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {v!r} (use an IANA name like 'Asia/Shanghai')"
    return None


SCHEMA: dict[str, Section] = {
    "console": Section(required=True, doc="the console itself", keys={
        "site": Key("str", required=True, check=_check_site,
                    doc="site id, [a-z0-9-]{1,32}, as in the MQTT topics"),
        "db": Key("path", required=True, doc="SQLite database (events, alarms, audit log)"),
        "users_db": Key("path", required=True, doc="users file (TinyDB JSON)"),
        "secret_key": Key("str", check=_check_secret,
                          doc="session signing key, >= 32 characters (or secret_key_file); required"),
        "secret_key_file": Key("path", doc="file holding the session signing key (first line)"),
        "signing_key_file": Key("path", doc="the site's Ed25519 private key (PEM) that signs goods "
                                "passes and visitor invites (made by `lobbygate provision`); "
                                "without it those features refuse to issue"),
        "listen_host": Key("str", default="127.0.0.1", check=check_nonempty,
                           doc="address the web server listens on"),
        "listen_port": Key("int", default=8080, min=0, max=65_535,
                           doc="TCP port the web server listens on (0: any free port)"),
        "threads": Key("int", default=32, min=4, max=512,
                       doc="web server worker threads; each live dashboard holds one"),
        "languages": Key("list[str]", default=SUPPORTED_LANGUAGES, check=_check_languages,
                         doc="languages offered in the interface"),
        "default_language": Key("str", default="zh_CN", choices=SUPPORTED_LANGUAGES,
                                doc="language before a user chooses one"),
        "timezone": Key("str", default="Asia/Shanghai", check=_check_timezone,
                        doc="time zone times are shown and entered in (IANA name)"),
        "max_clock_skew_s": Key("float", default=30.0, min=0, max=86_400,
                                doc="node clock offset flagged in red above this, seconds"),
        "secure_cookies": Key("bool", default=False,
                              doc="mark cookies Secure: set true when served over HTTPS"),
        "trusted_proxies": Key("int", default=0, min=0, max=5,
                               doc="reverse proxies in front whose X-Forwarded-For is trusted"),
        "session_hours": Key("float", default=12.0, min=0.1, max=24 * 30,
                             doc="how long a log-in lasts, hours"),
        "login_failures_per_minute": Key("int", default=10, min=1, max=1_000,
                                         doc="failed log-ins allowed per account and per address"),
    }),
    "mqtt": Section(doc="the broker connection (absent: run without a broker)", keys={
        "host": Key("str", required=True, check=check_nonempty, doc="broker host name or address"),
        "port": Key("int", min=1, max=65_535, doc="broker port (default 1883, or 8883 with tls)"),
        "username": Key("str", default="console", check=check_nonempty, doc="broker user"),
        "password": Key("str", doc="broker password (or password_file)"),
        "password_file": Key("path", doc="file holding the broker password (first line)"),
        "tls": Key("bool", default=False, doc="connect with TLS"),
        "ca_file": Key("path", doc="CA certificate bundle for TLS (default: the system's)"),
        "client_id": Key("str", default="lobbygate-console", check=check_nonempty,
                         doc="MQTT client id"),
    }),
    "nodes": Section(per_id=True, doc="one [nodes.<id>] per node the console may command", keys={
        "command_key": Key("str", check=_check_hex_key,
                           doc="the node's HMAC command key, hex, >= 16 bytes (or command_key_file)"),
        "command_key_file": Key("path", doc="file holding the node's command key as hex"),
    }),
}


# -- the result ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class MqttSettings:
    """Broker connection of the console."""

    host: str
    port: int
    username: str
    password: str = field(repr=False, default="")
    tls: bool = False
    ca_file: Path | None = None
    client_id: str = "lobbygate-console"


@dataclass(frozen=True)
class ConsoleConfig:
    """A validated console configuration; see :data:`SCHEMA` for each setting.

    ``secret_key`` signs session cookies (never printed); ``node_keys`` maps node id to its
    HMAC command key (bytes); ``mqtt`` is None to run without a broker (demo, tests);
    ``source``: the file it came from, if any."""

    site: str
    db_path: Path
    users_db_path: Path
    secret_key: str = field(repr=False, default="")
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    threads: int = 32
    languages: tuple[str, ...] = SUPPORTED_LANGUAGES
    default_language: str = "zh_CN"
    timezone: str = "Asia/Shanghai"
    max_clock_skew_s: float = 30.0
    secure_cookies: bool = False
    trusted_proxies: int = 0
    session_hours: float = 12.0
    login_failures_per_minute: int = 10
    mqtt: MqttSettings | None = None
    node_keys: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    signing_key_file: Path | None = None
    source: Path | None = None

    def services_config(self) -> "ServicesConfig":
        """The data layer's settings (:class:`web.services.ServicesConfig`) for this console."""
        from .ingest import BrokerSettings
        from .services import ServicesConfig

        broker = None
        if self.mqtt is not None:
            broker = BrokerSettings(host=self.mqtt.host, port=self.mqtt.port,
                                    username=self.mqtt.username, password=self.mqtt.password,
                                    client_id=self.mqtt.client_id, tls=self.mqtt.tls,
                                    ca_file=str(self.mqtt.ca_file) if self.mqtt.ca_file else None)
        return ServicesConfig(db_path=self.db_path, site=self.site, broker=broker,
                              node_keys=dict(self.node_keys), timezone=self.timezone,
                              max_clock_skew_s=self.max_clock_skew_s,
                              signing_key_file=self.signing_key_file)


# -- validation ----------------------------------------------------------------------------------

def _one_of(section: str, raw: Mapping[str, Any], value_key: str, file_key: str,
            errors: list[str], *, required: str) -> str | None:
    """Which of ``value_key`` / ``file_key`` was given (both: an error; neither: ``required``
    is the error sentence, or "" for optional)."""
    given = [k for k in (value_key, file_key) if k in raw]
    if len(given) == 2:
        errors.append(f"{section}.{file_key}: give {value_key} or {file_key}, not both")
        return None
    if not given:
        if required:
            errors.append(f"{section}.{value_key}: {required}")
        return None
    return given[0]


def _merge_includes(data: Mapping[str, Any], base: Path, errors: list[str]) -> dict[str, Any]:
    """``data`` with the ``[mqtt]`` and ``[nodes.*]`` tables of its ``include`` files merged in."""
    merged = {k: v for k, v in data.items() if k != "include"}
    includes = data.get("include", [])
    if not isinstance(includes, list) or not all(isinstance(i, str) and i for i in includes):
        errors.append(f"include: must be a list of file names, got {show(includes)}")
        return merged
    for name in includes:
        p = Path(os.path.expanduser(name))
        p = p if p.is_absolute() else base / p
        try:
            with p.open("rb") as fh:
                extra = tomllib.load(fh)
        except OSError as exc:
            errors.append(f"include: cannot read {p}: {exc.strerror or exc}")
            continue
        except tomllib.TOMLDecodeError as exc:
            errors.append(f"include: {p} is not valid TOML: {exc}")
            continue
        for sname, table in extra.items():
            if sname not in ("mqtt", "nodes"):
                errors.append(f"include: {p} may only hold [mqtt] and [nodes.<id>], found {sname!r}")
            elif sname == "mqtt":
                if "mqtt" in merged:
                    errors.append(f"include: [mqtt] is set both in the config and in {p}")
                else:
                    merged["mqtt"] = table
            else:
                nodes = merged.setdefault("nodes", {})
                if not isinstance(nodes, dict) or not isinstance(table, dict):
                    errors.append(f"include: [nodes] in {p} must be tables of node ids")
                    continue
                for node_id, node_table in table.items():
                    if node_id in nodes:
                        errors.append(f"include: [nodes.{node_id}] is set twice (again in {p})")
                    else:
                        nodes[node_id] = node_table
    return merged


def parse_config(data: Mapping[str, Any], *, base_dir: str | os.PathLike[str] = ".",
                 source: Path | None = None) -> ConsoleConfig:
    """Validate a decoded TOML document; return a :class:`ConsoleConfig` or raise
    :class:`~web.errors.ConsoleConfigError` listing every problem."""
    base = Path(base_dir).resolve()
    errors: list[str] = []
    if not isinstance(data, Mapping):
        raise ConsoleConfigError(["config: must be a table"])
    data = _merge_includes(data, base, errors)
    for name in data:
        if name not in SCHEMA:
            errors.append(unknown(name, name, SCHEMA, "section"))

    # -- [console] -------------------------------------------------------------------------
    raw_console = data.get("console")
    if raw_console is None:
        errors.append("console: required section [console] is missing")
        errors.append("console.secret_key: required (or console.secret_key_file); "
                      "the console never runs without a secret key")
        raise ConsoleConfigError(errors)
    console = validate_table("console", raw_console, SCHEMA["console"], base, errors)
    raw_console = raw_console if isinstance(raw_console, dict) else {}
    secret: str | None = None
    which = _one_of("console", raw_console, "secret_key", "secret_key_file", errors,
                    required="required (or console.secret_key_file); the console never runs "
                             "without a secret key")
    if which == "secret_key":
        secret = console["secret_key"]
    elif which == "secret_key_file" and console["secret_key_file"] is not None:
        secret = read_secret(console["secret_key_file"], "console.secret_key_file", errors)
        if secret is not None:
            problem = _check_secret(secret)
            if problem:
                errors.append(f"console.secret_key_file: the key in {console['secret_key_file']} "
                              f"{problem}")
                secret = None
    signing_key_file = console.get("signing_key_file")
    if isinstance(signing_key_file, Path):
        from .signing import SigningUnavailable, load_signer

        try:
            load_signer(signing_key_file)
        except SigningUnavailable as exc:
            errors.append(f"console.signing_key_file: {exc}")
    langs, default_lang = console.get("languages"), console.get("default_language")
    if isinstance(langs, tuple) and isinstance(default_lang, str) and default_lang not in langs:
        errors.append(f"console.default_language: {default_lang!r} is not in console.languages "
                      f"{list(langs)}")

    # -- [mqtt] ----------------------------------------------------------------------------
    mqtt_settings: MqttSettings | None = None
    if "mqtt" in data:
        mqtt = validate_table("mqtt", data["mqtt"], SCHEMA["mqtt"], base, errors)
        raw_mqtt = data["mqtt"] if isinstance(data["mqtt"], dict) else {}
        password: str | None = None
        which = _one_of("mqtt", raw_mqtt, "password", "password_file", errors,
                        required="required (or mqtt.password_file)")
        if which == "password":
            password = mqtt["password"]
        elif which == "password_file" and mqtt["password_file"] is not None:
            password = read_secret(mqtt["password_file"], "mqtt.password_file", errors)
        if mqtt.get("ca_file") is not None and not mqtt.get("tls"):
            errors.append("mqtt.ca_file: only used with tls = true")
        if isinstance(mqtt.get("ca_file"), Path) and not mqtt["ca_file"].is_file():
            errors.append(f"mqtt.ca_file: {mqtt['ca_file']} is not a readable file")
        if not errors:
            port = mqtt["port"] if mqtt["port"] is not None else (8883 if mqtt["tls"] else 1883)
            mqtt_settings = MqttSettings(host=mqtt["host"], port=port, username=mqtt["username"],
                                         password=password or "", tls=mqtt["tls"],
                                         ca_file=mqtt["ca_file"], client_id=mqtt["client_id"])

    # -- [nodes.<id>] ----------------------------------------------------------------------
    node_keys: dict[str, bytes] = {}
    raw_nodes = data.get("nodes", {})
    if not isinstance(raw_nodes, dict):
        errors.append(f"nodes: must be tables [nodes.<id>], got {show(raw_nodes)}")
        raw_nodes = {}
    for node_id, table in raw_nodes.items():
        prefix = f"nodes.{node_id}"
        try:
            check_node_id(node_id)
        except ContractError as exc:
            errors.append(f"{prefix}: {exc}")
        node = validate_table(prefix, table, SCHEMA["nodes"], base, errors)
        which = _one_of(prefix, table if isinstance(table, dict) else {}, "command_key",
                        "command_key_file", errors, required="required (or command_key_file)")
        key_text: str | None = None
        if which == "command_key":
            key_text = node["command_key"]
        elif which == "command_key_file" and node["command_key_file"] is not None:
            key_text = read_secret(node["command_key_file"], f"{prefix}.command_key_file", errors)
            if key_text is not None:
                problem = _check_hex_key(key_text)
                if problem:
                    errors.append(f"{prefix}.command_key_file: the key in "
                                  f"{node['command_key_file']} {problem}")
                    key_text = None
        if key_text is not None:
            node_keys[node_id] = bytes.fromhex(key_text)

    if errors:
        raise ConsoleConfigError(errors)
    return ConsoleConfig(
        site=console["site"], db_path=console["db"], users_db_path=console["users_db"],
        secret_key=secret or "", listen_host=console["listen_host"],
        listen_port=console["listen_port"], threads=console["threads"],
        languages=tuple(console["languages"]), default_language=console["default_language"],
        timezone=console["timezone"], max_clock_skew_s=console["max_clock_skew_s"],
        secure_cookies=console["secure_cookies"], trusted_proxies=console["trusted_proxies"],
        session_hours=console["session_hours"],
        signing_key_file=console.get("signing_key_file"),
        login_failures_per_minute=console["login_failures_per_minute"],
        mqtt=mqtt_settings, node_keys=node_keys, source=source)


def load_config(path: str | os.PathLike[str]) -> ConsoleConfig:
    """Read and validate ``console.toml``; raise :class:`~web.errors.ConsoleConfigError` with
    every problem (including an unreadable file or a TOML syntax error)."""
    p = Path(path)
    data = load_toml(p, ConsoleConfigError)
    return parse_config(data, base_dir=p.resolve().parent, source=p.resolve())
