"""Installed releases and the update procedure: verify, install beside, switch, check, roll back.

Layout under ``root`` (``/opt/lobbygate`` on a node or the console host)::

    releases/<version>/       payload/ (the verified files), manifest.json, venv/
    current  -> releases/<version>    what the systemd units run (…/current/venv/bin/lobbygate)
    previous -> releases/<version>    the release before it, kept for rollback

:meth:`Updater.apply` never touches the running release until the new one is installed; it
switches ``current`` with an atomic ``rename`` of a symlink, restarts, and waits for the health
check; if the check fails within the timeout it switches back and restarts the previous release.
Installing, restarting and checking health are injected callables, so the whole procedure runs
in tests without root, without systemd and without pip."""

from __future__ import annotations

import fcntl
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from firmware.errors import BundleRejected, UpdateError, UpdateRolledBack
from firmware.files import fsync_dir, make_dir, write_file
from firmware.update_bundle import Manifest, parse_version, verify_bundle

log = logging.getLogger("lobbygate.update")

#: Seconds the new release has to report healthy.  Default 120.
HEALTH_TIMEOUT_S = 120.0


class ReleaseStore:
    """The ``releases/`` directory and the ``current`` / ``previous`` links under ``root``.
    The constructor does no I/O."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.releases = self.root / "releases"

    def path(self, version: str) -> Path:
        return self.releases / version

    def _link(self, name: str) -> str | None:
        try:
            return Path(os.readlink(self.root / name)).name
        except (FileNotFoundError, OSError):
            return None

    def current(self) -> str | None:
        """The active version, or None before the first install."""
        return self._link("current")

    def previous(self) -> str | None:
        """The version kept for rollback, or None."""
        return self._link("previous")

    def installed(self) -> list[str]:
        """Installed versions, oldest first."""
        if not self.releases.is_dir():
            return []
        names = [p.name for p in self.releases.iterdir() if p.is_dir() and not p.name.startswith(".")]
        return sorted(names, key=_sort_key)

    def point(self, name: str, version: str | None) -> None:
        """Atomically point link ``name`` (``current``/``previous``) at ``version`` (None:
        remove the link)."""
        link = self.root / name
        if version is None:
            link.unlink(missing_ok=True)
        else:
            tmp = self.root / f".{name}.{uuid.uuid4().hex}"
            os.symlink(Path("releases") / version, tmp)
            os.replace(tmp, link)
        fsync_dir(self.root)

    def remove(self, version: str) -> None:
        if version in (self.current(), self.previous()):
            raise UpdateError(f"release {version} is in use; not removing it")
        shutil.rmtree(self.path(version), ignore_errors=True)

    def staging(self) -> Path:
        """A fresh directory beside the releases, for a bundle being verified."""
        return make_dir(self.releases / f".staging-{uuid.uuid4().hex}", mode=0o755)


def _sort_key(v: str) -> tuple:
    try:
        return (0, parse_version(v))
    except BundleRejected:
        return (1, (v,))


class Installer(Protocol):
    """Turns a release directory holding ``payload/`` into something the units can run."""

    def __call__(self, release_dir: Path, manifest: Manifest) -> None: ...


class HealthCheck(Protocol):
    """True once ``version`` reports healthy, False if it has not within ``timeout_s``."""

    def __call__(self, version: str, timeout_s: float) -> bool: ...


def keep_payload(release_dir: Path, manifest: Manifest) -> None:
    """An installer that only keeps the verified payload (for hosts whose runtime is managed
    elsewhere, and for tests)."""


@dataclass
class VenvInstaller:
    """Create ``release_dir/venv`` and pip-install the manifest's requirement from the payload.

    ``python``: the interpreter for the venv (default this one); ``allow_index``: also let pip
    fetch missing dependencies from the package index (default False: the bundle must carry
    every wheel the node lacks); ``system_site_packages``: let the venv see Debian's Python
    packages (default True: ``python3-lgpio`` comes from apt on a Pi, as install-node.sh sets
    up the first release); ``pip``: the pip command that installs into the new venv with
    ``--python`` (default this interpreter's pip, else Debian's ``python3 -m pip``: the venvs
    made here have no pip of their own); ``run``: :func:`subprocess.run` (injectable)."""

    python: str = sys.executable
    allow_index: bool = False
    system_site_packages: bool = True
    pip: Sequence[str] = ()
    run: Callable[..., subprocess.CompletedProcess] = subprocess.run

    def __call__(self, release_dir: Path, manifest: Manifest) -> None:
        venv = release_dir / "venv"
        self._run([self.python, "-m", "venv", "--without-pip", str(venv)]
                  + (["--system-site-packages"] if self.system_site_packages else []))
        cmd = [*(self.pip or _pip_command()), "--python", str(venv / "bin" / "python"),
               "--disable-pip-version-check", "install", "--no-cache-dir",
               "--find-links", str(release_dir / "payload")]
        if not self.allow_index:
            cmd.append("--no-index")
        self._run(cmd + [manifest.requirement or f"{manifest.package}=={manifest.version}"])

    def _run(self, cmd: Sequence[str]) -> None:
        res = self.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if res.returncode != 0:
            raise UpdateError(f"{' '.join(cmd[:4])}... failed: {(res.stdout or '')[-1500:]}")


def _pip_command() -> list[str]:
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    return [shutil.which("python3") or "/usr/bin/python3", "-m", "pip"]


@dataclass
class CommandHealthCheck:
    """Healthy when ``argv`` exits 0 and keeps doing so for ``settle_s`` (default 15 s), e.g.
    ``systemctl is-active --quiet lobbygate-node.service`` (a unit with ``Type=notify`` is active
    only after READY=1, and falls back out of it when its watchdog fires).  ``{version}`` in an
    argument is replaced by the version.  ``clock``/``sleep``/``run`` are injectable."""

    argv: Sequence[str]
    settle_s: float = 15.0
    interval_s: float = 1.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    run: Callable[..., subprocess.CompletedProcess] = subprocess.run

    def __call__(self, version: str, timeout_s: float) -> bool:
        argv = [a.replace("{version}", version) for a in self.argv]
        deadline = self.clock() + timeout_s
        healthy_since: float | None = None
        while True:
            now = self.clock()
            ok = self.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
            healthy_since = (healthy_since if healthy_since is not None else now) if ok else None
            if healthy_since is not None and now - healthy_since >= self.settle_s:
                return True
            if now >= deadline:
                return False
            self.sleep(min(self.interval_s, max(0.0, deadline - now)))


def command_restart(argv: Sequence[str], *, run: Callable[..., subprocess.CompletedProcess]
                    = subprocess.run) -> Callable[[str], None]:
    """A restart callable running ``argv`` (e.g. ``systemctl restart lobbygate-node.service``);
    raises :class:`UpdateError` if it fails (a Type=notify unit that never gets READY)."""
    def restart(version: str) -> None:
        res = run([a.replace("{version}", version) for a in argv],
                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if res.returncode != 0:
            raise UpdateError(f"{' '.join(argv)} failed: {(res.stdout or '').strip()[-500:]}")
    return restart


@dataclass(frozen=True)
class UpdateResult:
    """``status``: "installed" or "already-current"."""

    status: str
    version: str
    previous: str | None


class Updater:
    """Apply signed bundles to a :class:`ReleaseStore`.

    ``public_key``: the site's Ed25519 key; ``install``: an :class:`Installer` (default
    :class:`VenvInstaller`); ``restart(version)``: start the units on the new ``current``;
    ``health``: a :class:`HealthCheck`; ``health_timeout_s``: default 120 s; ``site``: refuse
    bundles signed for another site; ``allow_downgrade``: accept an older version (default
    False: an old signed bundle cannot be replayed to bring back a fixed bug)."""

    def __init__(self, store: ReleaseStore, *, public_key: Ed25519PublicKey,
                 restart: Callable[[str], None], health: HealthCheck,
                 install: Installer | None = None, health_timeout_s: float = HEALTH_TIMEOUT_S,
                 site: str = "", allow_downgrade: bool = False) -> None:
        self.store = store
        self.public_key = public_key
        self.install = install or VenvInstaller()
        self.restart = restart
        self.health = health
        self.health_timeout_s = health_timeout_s
        self.site = site
        self.allow_downgrade = allow_downgrade

    def apply(self, bundle: Path) -> UpdateResult:
        """Verify, install, switch, check; roll back on failure.

        Raises :class:`BundleRejected` (nothing changed), :class:`UpdateError` (install failed,
        nothing switched) or :class:`UpdateRolledBack` (the previous release is current again)."""
        make_dir(self.store.releases, mode=0o755)
        with _lock(self.store.root / ".update.lock"):
            staging = self.store.staging()
            try:
                manifest = verify_bundle(bundle, public_key=self.public_key,
                                         dest=staging / "payload", site=self.site)
                cur = self.store.current()
                if manifest.version == cur:
                    return UpdateResult("already-current", cur, self.store.previous())
                if cur and not self.allow_downgrade and _sort_key(manifest.version) < _sort_key(cur):
                    raise BundleRejected(f"{manifest.version} is older than the running {cur}")
                release = self._install(staging, manifest)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            return self._activate(manifest.version, release, cur)

    def _install(self, staging: Path, manifest: Manifest) -> Path:
        release = self.store.path(manifest.version)
        if release.exists():
            if manifest.version == self.store.previous():
                self.store.point("previous", None)
            shutil.rmtree(release)
        write_file(staging / "manifest.json", manifest.to_json())
        os.rename(staging, release)
        try:
            self.install(release, manifest)
        except Exception as exc:
            shutil.rmtree(release, ignore_errors=True)
            if isinstance(exc, UpdateError):
                raise
            raise UpdateError(f"installing {manifest.version} failed: {exc}") from exc
        return release

    def _activate(self, version: str, release: Path, cur: str | None) -> UpdateResult:
        old_previous = self.store.previous()
        self.store.point("current", version)
        log.info("update: %s is current (was %s); restarting", version, cur)
        try:
            self.restart(version)
            healthy = self.health(version, self.health_timeout_s)
            reason = f"not healthy within {self.health_timeout_s:g} s"
        except Exception as exc:  # a failed restart is an unhealthy release
            healthy, reason = False, str(exc)
        if healthy:
            self.store.point("previous", cur)
            self._prune(keep={version, cur})
            log.info("update: %s healthy", version)
            return UpdateResult("installed", version, cur)
        log.error("update: %s %s; rolling back to %s", version, reason, cur)
        self.store.point("current", cur)
        self.store.point("previous", old_previous if old_previous != version else None)
        if cur is not None:
            try:
                self.restart(cur)
            except Exception as exc:
                log.error("update: restarting %s after rollback failed: %s", cur, exc)
        shutil.rmtree(release, ignore_errors=True)
        raise UpdateRolledBack(version, cur, reason)

    def _prune(self, *, keep: set[str | None]) -> None:
        for v in self.store.installed():
            if v not in keep:
                shutil.rmtree(self.store.path(v), ignore_errors=True)


class _lock:
    """An exclusive ``flock`` on a file; :class:`UpdateError` if another update holds it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> "_lock":
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(self._fd)
            raise UpdateError("another update is running") from exc
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock
            self._fd = None
