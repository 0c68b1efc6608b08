"""UserStore: validation, password hashing, roles, sessions, the crash-safe TinyDB storage."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from web.auth.storage import SafeJSONStorage
from web.auth.users import UserStore
from web.errors import (InvalidRole, InvalidUsername, LastAdmin, UnknownUser, UserExists,
                        UserStoreError, WeakPassword)

from console_helpers import FAST_HASH, PASSWORD, FakeClock


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> UserStore:
    return UserStore(tmp_path / "users.json", clock=clock, hash_method=FAST_HASH).open()


def test_added_user_authenticates_with_its_password_only(store: UserStore) -> None:
    store.add("wang.li", PASSWORD, role="desk")
    assert store.authenticate("wang.li", PASSWORD).role == "desk"
    assert store.authenticate("wang.li", PASSWORD + "x") is None
    assert store.authenticate("nobody", PASSWORD) is None


def test_password_is_stored_hashed(store: UserStore) -> None:
    store.add("wang.li", PASSWORD, role="desk")
    text = store.path.read_text(encoding="utf-8")
    assert PASSWORD not in text
    assert "pbkdf2:sha256" in text


def test_default_hash_is_scrypt(tmp_path: Path) -> None:
    s = UserStore(tmp_path / "u.json").open()
    s.add("admin", PASSWORD, role="admin")
    assert s.get("admin").password_hash.startswith("scrypt:")


@pytest.mark.parametrize("name", ["", "a", "Admin", "wang li", "-x", "a" * 33, "张三", "x/y", None])
def test_bad_usernames_are_refused(store: UserStore, name: object) -> None:
    with pytest.raises(InvalidUsername):
        store.add(name, PASSWORD, role="desk")  # type: ignore[arg-type]


def test_short_password_is_refused(store: UserStore) -> None:
    with pytest.raises(WeakPassword):
        store.add("guard2", "123456789", role="guard")
    assert store.get("guard2") is None


def test_unknown_role_is_refused(store: UserStore) -> None:
    with pytest.raises(InvalidRole):
        store.add("guard2", PASSWORD, role="root")


def test_duplicate_user_is_refused(store: UserStore) -> None:
    store.add("guard2", PASSWORD, role="guard")
    with pytest.raises(UserExists):
        store.add("guard2", PASSWORD, role="desk")


def test_list_is_sorted_by_name(store: UserStore) -> None:
    for name in ("zhao", "an", "ming"):
        store.add(name, PASSWORD, role="patrol")
    assert [u.username for u in store.list()] == ["an", "ming", "zhao"]


def test_disabled_user_cannot_log_in(store: UserStore) -> None:
    store.add("admin", PASSWORD, role="admin")
    store.add("guard2", PASSWORD, role="guard")
    store.disable("guard2")
    assert store.authenticate("guard2", PASSWORD) is None
    store.enable("guard2")
    assert store.authenticate("guard2", PASSWORD) is not None


def test_last_admin_cannot_be_disabled_or_demoted(store: UserStore) -> None:
    store.add("admin", PASSWORD, role="admin")
    with pytest.raises(LastAdmin):
        store.disable("admin")
    with pytest.raises(LastAdmin):
        store.set_role("admin", "desk")
    store.add("admin2", PASSWORD, role="admin")
    assert store.set_role("admin", "desk").role == "desk"


def test_changing_an_unknown_user_raises(store: UserStore) -> None:
    with pytest.raises(UnknownUser):
        store.set_role("ghost", "desk")


def test_session_is_valid_until_ended(store: UserStore) -> None:
    store.add("desk2", PASSWORD, role="desk")
    nonce = store.start_session("desk2")
    assert store.check_session("desk2", nonce) is not None
    store.end_session("desk2", nonce)
    assert store.check_session("desk2", nonce) is None


def test_ending_one_session_keeps_the_others(store: UserStore) -> None:
    store.add("desk2", PASSWORD, role="desk")
    a, b = store.start_session("desk2"), store.start_session("desk2")
    store.end_session("desk2", a)
    assert store.check_session("desk2", b) is not None


def test_password_change_ends_every_session(store: UserStore) -> None:
    store.add("desk2", PASSWORD, role="desk")
    nonce = store.start_session("desk2")
    store.set_password("desk2", "another good password")
    assert store.check_session("desk2", nonce) is None


def test_session_expires_after_its_lifetime(tmp_path: Path, clock: FakeClock) -> None:
    s = UserStore(tmp_path / "u.json", clock=clock, hash_method=FAST_HASH, session_ttl_ms=1000).open()
    s.add("desk2", PASSWORD, role="desk")
    nonce = s.start_session("desk2")
    clock.advance(999)
    assert s.check_session("desk2", nonce) is not None
    clock.advance(1)
    assert s.check_session("desk2", nonce) is None


def test_session_nonce_is_not_stored_in_clear(store: UserStore) -> None:
    store.add("desk2", PASSWORD, role="desk")
    nonce = store.start_session("desk2")
    assert nonce not in store.path.read_text(encoding="utf-8")


def test_sessions_per_user_are_bounded(tmp_path: Path, clock: FakeClock) -> None:
    s = UserStore(tmp_path / "u.json", clock=clock, hash_method=FAST_HASH, max_sessions=2).open()
    s.add("desk2", PASSWORD, role="desk")
    first = s.start_session("desk2")
    clock.advance(1)
    s.start_session("desk2")
    clock.advance(1)
    s.start_session("desk2")
    assert s.check_session("desk2", first) is None
    assert len(s.get("desk2").sessions) == 2


def test_change_by_another_store_instance_is_seen_at_once(store: UserStore, tmp_path: Path) -> None:
    store.add("desk2", PASSWORD, role="desk")
    other = UserStore(store.path, hash_method=FAST_HASH).open()
    other.set_role("desk2", "guard")
    assert store.get("desk2").role == "guard"


def test_concurrent_adds_from_threads_all_land(store: UserStore) -> None:
    errors: list[BaseException] = []

    def add(i: int) -> None:
        try:
            store.add(f"user{i}", PASSWORD, role="patrol")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.count() == 8


def test_users_file_is_private(store: UserStore) -> None:
    store.add("desk2", PASSWORD, role="desk")
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600


def test_storage_replaces_the_file_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "db.json"
    storage = SafeJSONStorage(path)
    storage.write({"users": {"1": {"username": "old"}}})
    calls: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        calls.append((str(src), str(dst)))
        # at the moment of the swap the old content is still complete
        assert json.loads(path.read_text())["users"]["1"]["username"] == "old"
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    storage.write({"users": {"1": {"username": "new"}}})
    assert calls and calls[0][1] == str(path) and calls[0][0] != str(path)
    assert storage.read()["users"]["1"]["username"] == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["db.json"]  # no temp file left


def test_storage_fsyncs_file_and_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[bool] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    SafeJSONStorage(tmp_path / "db.json").write({"t": {}})
    assert synced == [False, True]


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "db.json"
    storage = SafeJSONStorage(path)
    storage.write({"t": {"1": {"v": 1}}})

    def broken(*_a: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(UserStoreError, match="No space left"):
        storage.write({"t": {"1": {"v": 2}}})
    assert storage.read() == {"t": {"1": {"v": 1}}}
    assert [p.name for p in tmp_path.iterdir()] == ["db.json"]


def test_corrupt_users_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text("{not json")
    with pytest.raises(UserStoreError, match="not valid JSON"):
        UserStore(path).open()
