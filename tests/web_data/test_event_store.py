"""EventStore: stored once, seq gaps found and filled, searched newest first with keyset pages."""

from __future__ import annotations

import pytest

from web.errors import BadCursor
from web.stores import EventStore

from wd_helpers import T0, envelope


def add(events: EventStore, *seqs: int, **kw) -> None:
    for s in seqs:
        events.add(envelope(s, **kw), received_at=T0 + s * 1000 + 5)


# -- storing -------------------------------------------------------------------------------

def test_add_returns_the_stored_event(events: EventStore) -> None:
    ev = events.add(envelope(1, data={"card": "42"}), received_at=T0 + 7)
    assert ev is not None
    assert (ev.event_id, ev.node, ev.kind, ev.seq, ev.data, ev.received_at, ev.event_class) == (
        "lobby:boot-1:1", "lobby", "card.read", 1, {"card": "42"}, T0 + 7, "access")
    assert events.get("lobby:boot-1:1") == ev


def test_duplicate_event_id_is_not_stored_twice(events: EventStore) -> None:
    assert events.add(envelope(1), received_at=T0) is not None
    assert events.add(envelope(1), received_at=T0 + 50) is None
    assert events.count() == 1
    assert events.get("lobby:boot-1:1").received_at == T0  # the first copy is kept


def test_get_unknown_event_is_none(events: EventStore) -> None:
    assert events.get("lobby:boot-1:9") is None


def test_event_class_follows_the_kind(events: EventStore) -> None:
    ev = events.add(envelope(1, kind="journal.full", data={"dropped": 3, "capacity": 10}), received_at=T0)
    assert ev is not None and ev.event_class == "alarm"


# -- seq gaps ------------------------------------------------------------------------------

def test_first_event_of_a_node_sets_the_baseline_without_a_gap(events: EventStore) -> None:
    add(events, 500)
    assert events.gaps() == []
    assert events.highest_seq("lobby") == 500


def test_consecutive_seqs_open_no_gap(events: EventStore) -> None:
    add(events, 1, 2, 3)
    assert events.gaps(open_only=False) == []


def test_skipped_seqs_open_a_gap(events: EventStore) -> None:
    add(events, 1, 2)
    rec = events.record(envelope(6), received_at=T0 + 99)
    assert rec.new_gap is not None
    assert (rec.new_gap.from_seq, rec.new_gap.to_seq, rec.new_gap.missing) == (3, 5, 3)
    [gap] = events.gaps()
    assert (gap.node, gap.from_seq, gap.to_seq, gap.detected_at, gap.boot_id) == ("lobby", 3, 5, T0 + 99, "boot-1")


def test_late_event_at_either_end_shrinks_the_gap(events: EventStore) -> None:
    add(events, 1, 6)
    add(events, 2)
    assert [(g.from_seq, g.to_seq) for g in events.gaps()] == [(3, 5)]
    add(events, 5)
    assert [(g.from_seq, g.to_seq) for g in events.gaps()] == [(3, 4)]


def test_late_event_in_the_middle_splits_the_gap(events: EventStore) -> None:
    add(events, 1, 10)
    rec = events.record(envelope(5), received_at=T0)
    assert rec.filled and not rec.gap_closed
    assert [(g.from_seq, g.to_seq) for g in events.gaps(node="lobby")] == [(2, 4), (6, 9)]


def test_last_missing_event_closes_the_gap(events: EventStore) -> None:
    add(events, 1, 3)
    rec = events.record(envelope(2), received_at=T0 + 1234)
    assert rec.filled and rec.gap_closed
    assert events.gaps() == []
    [closed] = events.gaps(open_only=False)
    assert (closed.from_seq, closed.to_seq, closed.closed_at) == (2, 2, T0 + 1234)


def test_duplicate_of_a_late_event_changes_no_gap(events: EventStore) -> None:
    add(events, 1, 5, 3)
    before = events.gaps()
    assert events.record(envelope(3), received_at=T0).event is None
    assert events.gaps() == before


def test_gaps_are_tracked_per_node(events: EventStore) -> None:
    add(events, 1, 2, node="lobby")
    add(events, 1, 4, node="gate")
    assert [(g.node, g.from_seq, g.to_seq) for g in events.gaps()] == [("gate", 2, 3)]
    assert events.gaps(node="lobby") == []


def test_seq_continues_across_boots(events: EventStore) -> None:
    add(events, 1, 2, boot="boot-1")
    add(events, 3, boot="boot-2")  # the node restarted; its seq carried on
    assert events.gaps() == []
    add(events, 5, boot="boot-2")
    assert [(g.from_seq, g.to_seq, g.boot_id) for g in events.gaps()] == [(4, 4, "boot-2")]


def test_gaps_survive_reopening_the_database(db, events: EventStore) -> None:
    add(events, 1, 4)
    db.close()
    db.open()
    add(events, 7)
    assert [(g.from_seq, g.to_seq) for g in EventStore(db).gaps()] == [(2, 3), (5, 6)]


# -- search --------------------------------------------------------------------------------

@pytest.fixture
def mixed(events: EventStore) -> EventStore:
    """30 events: lobby card.read (seq 1-10), gate input.changed (1-10), lobby reader.fault (11-20)."""
    for s in range(1, 11):
        events.add(envelope(s, node="lobby", kind="card.read", data={"card": f"C{s:03d}"}), received_at=T0)
        events.add(envelope(s, node="gate", kind="input.changed", ts=T0 + s * 1000 + 1,
                            data={"input": "door", "active": s % 2 == 0}), received_at=T0)
    for s in range(11, 21):
        events.add(envelope(s, node="lobby", kind="reader.fault", data={"error": "parity 50%_x"}),
                   received_at=T0)
    return events


def test_search_returns_newest_first(mixed: EventStore) -> None:
    page = mixed.search(limit=5)
    assert [e.ts for e in page.items] == sorted((e.ts for e in page.items), reverse=True)
    assert page.items[0].ts == T0 + 20_000
    assert page.has_more and page.next_cursor


def test_search_filters_by_node_and_kind(mixed: EventStore) -> None:
    assert {e.node for e in mixed.search(node="gate", limit=100).items} == {"gate"}
    items = mixed.search(node="lobby", kind="card.read", limit=100).items
    assert len(items) == 10 and {(e.node, e.kind) for e in items} == {("lobby", "card.read")}


def test_search_time_bounds_are_since_inclusive_until_exclusive(mixed: EventStore) -> None:
    items = mixed.search(node="lobby", since_ms=T0 + 3000, until_ms=T0 + 6000, limit=100).items
    assert [e.seq for e in items] == [5, 4, 3]


def test_pages_cover_every_match_once_in_order(mixed: EventStore) -> None:
    seen, cursor = [], None
    while True:
        page = mixed.search(cursor=cursor, limit=7)
        seen += page.items
        if not page.has_more:
            assert page.next_cursor is None
            break
        cursor = page.next_cursor
    assert len(seen) == 30 and len({e.event_id for e in seen}) == 30
    assert [(e.ts, e.id) for e in seen] == sorted(((e.ts, e.id) for e in seen), reverse=True)


def test_pagination_is_exact_with_equal_timestamps(events: EventStore) -> None:
    for s in range(1, 26):
        events.add(envelope(s, ts=T0), received_at=T0)  # all at the same ms
    first = events.search(limit=10)
    second = events.search(cursor=first.next_cursor, limit=10)
    third = events.search(cursor=second.next_cursor, limit=10)
    seqs = [e.seq for e in first.items + second.items + third.items]
    assert seqs == list(range(25, 0, -1)) and not third.has_more


def test_pages_are_stable_while_newer_events_arrive(events: EventStore) -> None:
    for s in range(1, 11):
        events.add(envelope(s), received_at=T0)
    first = events.search(limit=5)
    events.add(envelope(11), received_at=T0)  # newer than everything: not on later pages
    second = events.search(cursor=first.next_cursor, limit=5)
    assert [e.seq for e in second.items] == [5, 4, 3, 2, 1]


def test_text_search_matches_data_substring_case_insensitively(mixed: EventStore) -> None:
    items = mixed.search(text="c007", limit=100).items
    assert [e.data for e in items] == [{"card": "C007"}]


def test_text_search_matches_the_kind(mixed: EventStore) -> None:
    items = mixed.search(text="input.chan", limit=100).items
    assert len(items) == 10 and {e.kind for e in items} == {"input.changed"}


def test_short_text_is_matched_without_the_index(mixed: EventStore) -> None:
    assert [e.seq for e in mixed.search(text="07", node="lobby", limit=100).items] == [7]


def test_frequent_text_falls_back_to_the_index_walk(db) -> None:
    store = EventStore(db, fts_candidate_limit=3)  # "door" has 10 candidates: LIKE path
    for s in range(1, 11):
        store.add(envelope(s, node="gate", kind="input.changed", data={"input": "door"}), received_at=T0)
    page = store.search(text="DOOR", limit=4)
    assert [e.seq for e in page.items] == [10, 9, 8, 7] and page.has_more
    rest = store.search(text="door", cursor=page.next_cursor, limit=100).items
    assert [e.seq for e in rest] == [6, 5, 4, 3, 2, 1]


def test_text_search_treats_like_wildcards_literally(mixed: EventStore) -> None:
    assert len(mixed.search(text="50%_x", limit=100).items) == 10
    assert mixed.search(text="5_%", limit=100).items == []


def test_text_search_with_quotes_does_not_break(mixed: EventStore) -> None:
    assert mixed.search(text='"card":"C00', limit=100).items  # JSON text, quotes included
    assert mixed.search(text='zz"zz', limit=100).items == []


def test_text_search_combines_with_other_filters(mixed: EventStore) -> None:
    assert mixed.search(text="C00", node="gate", limit=100).items == []
    items = mixed.search(text="C00", since_ms=T0 + 8000, limit=100).items
    assert [e.seq for e in items] == [9, 8]


def test_text_search_without_match_is_empty(mixed: EventStore) -> None:
    page = mixed.search(text="nothing-like-this", limit=10)
    assert page.items == [] and not page.has_more and page.next_cursor is None


def test_text_search_finds_non_ascii(events: EventStore) -> None:
    events.add(envelope(1, kind="input.changed", data={"visitor": "José Müller"}), received_at=T0)
    assert [e.seq for e in events.search(text="Müller", limit=5).items] == [1]


def test_bad_cursor_is_refused(mixed: EventStore) -> None:
    with pytest.raises(BadCursor):
        mixed.search(cursor="not-a-cursor")
    with pytest.raises(ValueError):  # BadCursor is a ValueError for form handling
        mixed.search(cursor="1.2.3")


@pytest.mark.parametrize("limit", [0, -1, 1001, True])
def test_bad_limit_is_refused(mixed: EventStore, limit: int) -> None:
    with pytest.raises(ValueError):
        mixed.search(limit=limit)


def test_iter_search_streams_every_match_in_order(mixed: EventStore) -> None:
    got = list(mixed.iter_search(node="lobby", page_size=3))
    assert [e.seq for e in got] == list(range(20, 0, -1))


def test_iter_search_applies_text_filters(mixed: EventStore) -> None:
    assert [e.seq for e in mixed.iter_search(text="parity", page_size=4)] == list(range(20, 10, -1))


def test_kinds_and_nodes_list_what_is_stored(mixed: EventStore) -> None:
    assert mixed.kinds() == ["card.read", "input.changed", "reader.fault"]
    assert mixed.nodes() == ["gate", "lobby"]


def test_empty_store_has_no_kinds_nodes_or_events(events: EventStore) -> None:
    assert (events.kinds(), events.nodes(), events.count()) == ([], [], 0)
    assert events.search().items == []


# -- short text terms: a bounded window of the newest rows -------------------------------------

def _with_window(db, rows: int, *, target: int, total: int = 10, node: str = "lobby") -> EventStore:
    """A store examining ``rows`` newest rows for short terms; seqs 1..``total`` of ``node``,
    only seq ``target`` carrying the two-character term "Zq" (and the long one "Zqxy")."""
    store = EventStore(db, short_text_scan_rows=rows)
    for s in range(1, total + 1):
        data = {"who": "Zqxy"} if s == target else {"who": "-"}
        store.add(envelope(s, node=node, data=data), received_at=T0)
    return store


def test_short_text_beyond_the_window_is_not_found_and_says_so(db) -> None:
    store = _with_window(db, 5, target=3)  # the window is seqs 6..10
    page = store.search(text="zq", limit=50)
    assert page.items == [] and page.scan_limited and not page.has_more


def test_short_text_inside_the_window_is_found(db) -> None:
    store = _with_window(db, 5, target=7)
    assert [e.seq for e in store.search(text="zq", limit=50).items] == [7]


def test_long_text_is_not_limited_by_the_window(db) -> None:
    store = _with_window(db, 5, target=3)
    page = store.search(text="zqx", limit=50)
    assert [e.seq for e in page.items] == [3] and not page.scan_limited


def test_short_text_window_is_not_limited_when_it_holds_every_row(db) -> None:
    store = _with_window(db, 10, target=4)  # exactly 10 rows: nothing left unexamined
    page = store.search(text="zz", limit=50)
    assert page.items == [] and not page.scan_limited


def test_short_text_window_counts_only_rows_matching_the_other_filters(db) -> None:
    store = _with_window(db, 5, target=6, node="lobby")
    for s in range(1, 11):  # newer gate rows: the lobby match is not among the newest 5 overall
        store.add(envelope(s, node="gate", ts=T0 + 100_000 + s), received_at=T0)
    assert store.search(text="zq", limit=50).items == []
    assert [e.seq for e in store.search(text="zq", node="lobby", limit=50).items] == [6]


def test_short_text_pages_stop_at_the_window_edge(db) -> None:
    store = EventStore(db, short_text_scan_rows=7)
    for s in range(1, 11):
        store.add(envelope(s, data={"who": "ab"}), received_at=T0)
    first = store.search(text="ab", limit=4)
    second = store.search(text="ab", cursor=first.next_cursor, limit=4)
    assert [e.seq for e in first.items] == [10, 9, 8, 7] and first.has_more and not first.scan_limited
    assert [e.seq for e in second.items] == [6, 5, 4] and second.scan_limited and second.next_cursor is None


def test_iter_search_is_not_limited_by_the_short_text_window(db) -> None:
    store = _with_window(db, 5, target=3)
    assert [e.seq for e in store.iter_search(text="zq", page_size=2)] == [3]


@pytest.mark.parametrize("rows", [0, -5, 1.5, True])
def test_bad_short_text_scan_rows_is_refused(db, rows) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        EventStore(db, short_text_scan_rows=rows)
