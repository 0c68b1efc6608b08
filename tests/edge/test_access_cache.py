"""CredentialCache: the highest version wins, writes are atomic, the copy survives a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.access import AccessError, CredentialCache, CredentialSet
from mqtt_topics import SyncSnapshot


def snap(version: int, cards: int = 1) -> SyncSnapshot:
    creds = [{"id": f"c-{i}", "cards": [f"w26:1:{i}"], "doors": "*"} for i in range(cards)]
    return SyncSnapshot(dataset="credentials", version=version, ts=1_700_000_000_000,
                        data={"format": 1, "credentials": creds})


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "credentials.json"


def test_empty_cache_loads_nothing(path: Path) -> None:
    cache = CredentialCache(path)
    assert cache.load() is None and cache.version is None


def test_constructing_does_no_io(path: Path) -> None:
    CredentialCache(path)
    assert not path.parent.exists()


def test_first_snapshot_is_stored(path: Path) -> None:
    cache = CredentialCache(path)
    assert cache.offer(snap(3))
    assert cache.version == 3 and path.exists()


def test_newer_version_replaces_the_cached_one(path: Path) -> None:
    cache = CredentialCache(path)
    cache.offer(snap(3, cards=1))
    assert cache.offer(snap(4, cards=2))
    assert len(CredentialSet.from_snapshot(CredentialCache(path).load())) == 2


@pytest.mark.parametrize("older", [2, 3])
def test_older_or_equal_version_is_ignored(path: Path, older: int) -> None:
    cache = CredentialCache(path)
    cache.offer(snap(3, cards=1))
    assert not cache.offer(snap(older, cards=5))
    assert cache.version == 3 and cache.counters["ignored_older"] == 1
    assert len(CredentialSet.from_snapshot(cache.load())) == 1


def test_cache_survives_a_restart(path: Path) -> None:
    CredentialCache(path).offer(snap(9, cards=3))
    reopened = CredentialCache(path)                   # a reboot, no network
    loaded = reopened.load()
    assert loaded == snap(9, cards=3)
    assert reopened.version == 9


def test_a_fresh_cache_compares_offers_with_the_file_on_disk(path: Path) -> None:
    CredentialCache(path).offer(snap(9))
    assert not CredentialCache(path).offer(snap(5))   # the retained v5 replayed after a reboot
    assert CredentialCache(path).load().version == 9


def test_writes_leave_no_temporary_files(path: Path) -> None:
    cache = CredentialCache(path)
    for v in range(1, 6):
        cache.offer(snap(v))
    assert sorted(p.name for p in path.parent.iterdir()) == ["credentials.json"]


def test_corrupt_cache_is_moved_aside_and_counted(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"dataset": "credentials", "vers')   # power cut mid-copy by hand
    cache = CredentialCache(path)
    assert cache.load() is None
    assert cache.counters["corrupt"] == 1
    assert path.with_name("credentials.json.corrupt").exists() and not path.exists()
    assert cache.offer(snap(1))


def test_snapshot_of_another_dataset_is_refused(path: Path) -> None:
    other = SyncSnapshot(dataset="patrol-plan", version=1, ts=1, data={})
    with pytest.raises(AccessError):
        CredentialCache(path).offer(other)


def test_unwritable_location_raises_and_the_cached_version_stays(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    cache = CredentialCache(blocker / "credentials.json")
    with pytest.raises(AccessError, match="not-a-dir"):
        cache.offer(snap(2))
    assert cache.version is None and cache.counters["stored"] == 0
