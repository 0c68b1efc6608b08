"""Signed updates: only the site key's bundles install, the previous release is kept, an
unhealthy release is rolled back.  Install, restart and health check are injected; the release
store, the symlinks, the signature and the tar handling are the real ones."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from firmware import pki, update_cli
from firmware.errors import BundleRejected, UpdateError, UpdateRolledBack
from firmware.releases import (CommandHealthCheck, ReleaseStore, Updater, VenvInstaller,
                               keep_payload)
from firmware.update_bundle import pack_bundle, verify_bundle
from fw_helpers import FIXED_NOW, make_wheel


@pytest.fixture
def key():
    return pki.new_signing_key()


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    p = tmp_path / "lobbygate-0.2.0-py3-none-any.whl"
    p.write_bytes(b"PK\x03\x04 pretend wheel 0.2.0")
    return p


def _bundle(tmp_path: Path, key, version: str, *, site: str = "") -> Path:
    w = tmp_path / f"lobbygate-{version}-py3-none-any.whl"
    w.write_bytes(f"wheel {version}".encode())
    out = tmp_path / f"lobbygate-{version}.tar"
    pack_bundle(version=version, files=[w], signing_key=key, out=out, site=site, now=FIXED_NOW)
    return out


class Service:
    """Stands in for systemd: records restarts; its health is decided per version."""

    def __init__(self, unhealthy: set[str] = frozenset()) -> None:
        self.restarts: list[str] = []
        self.unhealthy = set(unhealthy)

    def restart(self, version: str) -> None:
        self.restarts.append(version)

    def health(self, version: str, timeout_s: float) -> bool:
        return version not in self.unhealthy


def _updater(root: Path, key, service: Service, **kw) -> Updater:
    return Updater(ReleaseStore(root), public_key=key.public_key(), install=keep_payload,
                   restart=service.restart, health=service.health, health_timeout_s=5, **kw)


def test_signed_bundle_installs_and_becomes_current(tmp_path, key):
    svc, root = Service(), tmp_path / "opt"
    res = _updater(root, key, svc).apply(_bundle(tmp_path, key, "0.2.0"))
    store = ReleaseStore(root)
    assert (res.status, store.current()) == ("installed", "0.2.0")
    assert (store.path("0.2.0") / "payload" / "lobbygate-0.2.0-py3-none-any.whl").read_bytes() == b"wheel 0.2.0"
    assert svc.restarts == ["0.2.0"]


def test_update_keeps_the_previous_release(tmp_path, key):
    svc, root = Service(), tmp_path / "opt"
    up = _updater(root, key, svc)
    up.apply(_bundle(tmp_path, key, "0.2.0"))
    up.apply(_bundle(tmp_path, key, "0.3.0"))
    store = ReleaseStore(root)
    assert (store.current(), store.previous(), store.installed()) == ("0.3.0", "0.2.0", ["0.2.0", "0.3.0"])


def test_only_current_and_previous_are_kept(tmp_path, key):
    up = _updater(tmp_path / "opt", key, Service())
    for v in ("0.2.0", "0.3.0", "0.4.0"):
        up.apply(_bundle(tmp_path, key, v))
    assert ReleaseStore(tmp_path / "opt").installed() == ["0.3.0", "0.4.0"]


def test_bundle_signed_by_another_key_is_refused_and_nothing_changes(tmp_path, key):
    svc, root = Service(), tmp_path / "opt"
    up = _updater(root, key, svc)
    up.apply(_bundle(tmp_path, key, "0.2.0"))
    with pytest.raises(BundleRejected, match="signature"):
        up.apply(_bundle(tmp_path, pki.new_signing_key(), "0.3.0"))
    store = ReleaseStore(root)
    assert (store.current(), store.installed(), svc.restarts) == ("0.2.0", ["0.2.0"], ["0.2.0"])


def _rewrite(bundle: Path, change) -> Path:
    """Copy a bundle's members through ``change(name, data) -> data | None`` (None drops it)."""
    out = bundle.with_name("tampered.tar")
    with tarfile.open(bundle) as src, tarfile.open(out, "w") as dst:
        for m in src.getmembers():
            data = change(m.name, src.extractfile(m).read())
            if data is not None:
                info = tarfile.TarInfo(m.name)
                info.size = len(data)
                dst.addfile(info, io.BytesIO(data))
    return out


def test_tampered_payload_is_refused(tmp_path, key):
    bad = _rewrite(_bundle(tmp_path, key, "0.2.0"),
                   lambda n, d: b"wheel 0.2.X" if n.startswith("payload/") else d)
    with pytest.raises(BundleRejected, match="checksum"):
        _updater(tmp_path / "opt", key, Service()).apply(bad)
    assert ReleaseStore(tmp_path / "opt").installed() == []


def test_tampered_manifest_is_refused(tmp_path, key):
    bad = _rewrite(_bundle(tmp_path, key, "0.2.0"),
                   lambda n, d: d.replace(b"0.2.0", b"9.9.9") if n == "manifest.json" else d)
    with pytest.raises(BundleRejected, match="signature"):
        _updater(tmp_path / "opt", key, Service()).apply(bad)


def test_unsigned_bundle_is_refused(tmp_path, key):
    bad = _rewrite(_bundle(tmp_path, key, "0.2.0"), lambda n, d: None if n == "manifest.sig" else d)
    with pytest.raises(BundleRejected, match="manifest.sig"):
        _updater(tmp_path / "opt", key, Service()).apply(bad)


def test_file_smuggled_beside_the_signed_payload_is_refused(tmp_path, key):
    bundle = _bundle(tmp_path, key, "0.2.0")
    with tarfile.open(bundle, "a") as tar:
        info = tarfile.TarInfo("../../etc/cron.d/evil")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    with pytest.raises(BundleRejected, match="not in the manifest"):
        verify_bundle(bundle, public_key=key.public_key(), dest=tmp_path / "out")
    assert not (tmp_path / "etc").exists()


def test_bundle_for_another_site_is_refused(tmp_path, key):
    with pytest.raises(BundleRejected, match="site"):
        _updater(tmp_path / "opt", key, Service(), site="oak-court").apply(
            _bundle(tmp_path, key, "0.2.0", site="elm-park"))


def test_unhealthy_release_is_rolled_back_to_the_previous(tmp_path, key):
    svc, root = Service(unhealthy={"0.3.0"}), tmp_path / "opt"
    up = _updater(root, key, svc)
    up.apply(_bundle(tmp_path, key, "0.2.0"))
    with pytest.raises(UpdateRolledBack) as err:
        up.apply(_bundle(tmp_path, key, "0.3.0"))
    store = ReleaseStore(root)
    assert (err.value.version, err.value.previous) == ("0.3.0", "0.2.0")
    assert (store.current(), store.installed()) == ("0.2.0", ["0.2.0"])
    assert svc.restarts == ["0.2.0", "0.3.0", "0.2.0"]


def test_release_that_fails_to_start_is_rolled_back(tmp_path, key):
    svc, root = Service(), tmp_path / "opt"
    up = _updater(root, key, svc)
    up.apply(_bundle(tmp_path, key, "0.2.0"))

    def restart(version: str) -> None:
        svc.restarts.append(version)
        if version == "0.3.0":
            raise UpdateError("Job for lobbygate-node.service failed")
    up.restart = restart
    with pytest.raises(UpdateRolledBack, match="failed"):
        up.apply(_bundle(tmp_path, key, "0.3.0"))
    assert ReleaseStore(root).current() == "0.2.0"


def test_failed_install_leaves_the_running_release_alone(tmp_path, key):
    svc, root = Service(), tmp_path / "opt"
    up = _updater(root, key, svc)
    up.apply(_bundle(tmp_path, key, "0.2.0"))

    def broken_install(release_dir, manifest):
        raise UpdateError("pip: no matching distribution")
    up.install = broken_install
    with pytest.raises(UpdateError, match="pip"):
        up.apply(_bundle(tmp_path, key, "0.3.0"))
    assert (ReleaseStore(root).current(), ReleaseStore(root).installed()) == ("0.2.0", ["0.2.0"])
    assert svc.restarts == ["0.2.0"]


def test_older_version_is_refused_unless_allowed(tmp_path, key):
    up = _updater(tmp_path / "opt", key, Service())
    up.apply(_bundle(tmp_path, key, "0.3.0"))
    old = _bundle(tmp_path, key, "0.2.0")
    with pytest.raises(BundleRejected, match="older"):
        up.apply(old)
    up.allow_downgrade = True
    assert up.apply(old).version == "0.2.0"


def test_applying_the_current_version_again_does_nothing(tmp_path, key):
    svc = Service()
    up = _updater(tmp_path / "opt", key, svc)
    bundle = _bundle(tmp_path, key, "0.2.0")
    up.apply(bundle)
    assert up.apply(bundle).status == "already-current"
    assert svc.restarts == ["0.2.0"]


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def _health(results: list[int], clock: FakeClock, settle_s: float) -> CommandHealthCheck:
    it = iter(results)
    run = lambda argv, **kw: subprocess.CompletedProcess(argv, next(it, results[-1]))  # noqa: E731
    return CommandHealthCheck(["systemctl", "is-active", "x"], settle_s=settle_s, interval_s=1.0,
                              clock=clock, sleep=clock.sleep, run=run)


def test_health_check_needs_the_service_to_stay_up_for_the_settle_time(tmp_path):
    clock = FakeClock()
    # up, then a crash (watchdog restart), then up for good: healthy once up for 3 s straight
    assert _health([0, 0, 1, 0, 0, 0, 0], clock, settle_s=3)("0.2.0", timeout_s=30)
    assert clock.t == 6.0


def test_health_check_gives_up_at_the_timeout(tmp_path):
    clock = FakeClock()
    assert not _health([1], clock, settle_s=3)("0.2.0", timeout_s=10)
    assert clock.t == 10.0


def test_cli_pack_then_update_installs_and_status_reports_it(tmp_path, wheel, capsys):
    key_file = tmp_path / "site-signing.key"
    key_file.write_bytes(pki.private_pem(k := pki.new_signing_key()))
    (pub := tmp_path / "site-signing.pub").write_bytes(pki.public_pem(k))
    bundle, root = tmp_path / "b.tar", tmp_path / "opt"
    assert update_cli.main(["pack", "--key", str(key_file), "--version", "0.2.0",
                            "--out", str(bundle), str(wheel)]) == 0
    assert update_cli.main(["verify", str(bundle), "--public-key", str(pub)]) == 0
    assert update_cli.main([str(bundle), "--root", str(root), "--public-key", str(pub), "--site", "",
                            "--installer", "payload-only", "--restart-cmd", "true",
                            "--health-cmd", "true", "--settle", "0"]) == 0
    capsys.readouterr()
    update_cli.main(["status", "--root", str(root)])
    assert "current: 0.2.0" in capsys.readouterr().out


def test_cli_update_exits_3_after_a_rollback(tmp_path, wheel):
    key = pki.new_signing_key()
    (pub := tmp_path / "site-signing.pub").write_bytes(pki.public_pem(key))
    root = tmp_path / "opt"
    common = ["--root", str(root), "--public-key", str(pub), "--site", "", "--installer",
              "payload-only", "--restart-cmd", "true", "--settle", "0", "--interval", "0"]
    assert update_cli.main([str(_bundle(tmp_path, key, "0.2.0")), *common, "--health-cmd", "true"]) == 0
    assert update_cli.main([str(_bundle(tmp_path, key, "0.3.0")), *common, "--health-cmd", "false",
                            "--timeout", "0"]) == 3
    assert ReleaseStore(root).current() == "0.2.0"


def test_venv_installer_installs_the_bundled_wheel_offline_into_the_release(tmp_path, key):
    (src := tmp_path / "src").mkdir()
    bundle = tmp_path / "b.tar"
    pack_bundle(version="0.2.0", files=[make_wheel(src)], signing_key=key, out=bundle)
    root = tmp_path / "opt"
    Updater(ReleaseStore(root), public_key=key.public_key(), install=VenvInstaller(),
            restart=Service().restart, health=Service().health).apply(bundle)
    python = root / "current" / "venv" / "bin" / "python"
    out = subprocess.run([str(python), "-c", "import lobbygate_probe_mod as m; print(m.VERSION)"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0.2.0"
