"""LiveFeed: fan-out to bounded subscriber queues that never block the publisher."""

from __future__ import annotations

import threading

from web.live import LiveFeed


def test_every_subscriber_gets_each_update_in_order() -> None:
    feed = LiveFeed()
    with feed.subscribe() as a, feed.subscribe() as b:
        feed.publish("event", {"n": 1})
        feed.publish("alarm", {"n": 2})
        for sub in (a, b):
            assert [sub.get(timeout_s=1), sub.get(timeout_s=1)] == [("event", {"n": 1}), ("alarm", {"n": 2})]


def test_get_times_out_with_none() -> None:
    with LiveFeed().subscribe() as sub:
        assert sub.get(timeout_s=0.01) is None


def test_a_full_queue_drops_the_oldest_and_counts_it() -> None:
    feed = LiveFeed()
    with feed.subscribe(maxsize=2) as sub:
        for n in range(5):
            feed.publish("event", {"n": n})
        assert sub.dropped == 3
        assert [sub.get(timeout_s=1)[1]["n"], sub.get(timeout_s=1)[1]["n"]] == [3, 4]


def test_close_wakes_a_blocked_get_and_unsubscribes() -> None:
    feed = LiveFeed()
    sub = feed.subscribe()
    got: list[object] = []
    started = threading.Event()

    def reader() -> None:
        started.set()
        got.append(sub.get(timeout_s=30))

    t = threading.Thread(target=reader)
    t.start()
    started.wait(5)
    sub.close()
    t.join(5)
    assert not t.is_alive() and got == [None] and feed.subscribers == 0
    sub.close()  # idempotent


def test_publish_after_close_reaches_no_one() -> None:
    feed = LiveFeed()
    sub = feed.subscribe()
    sub.close()
    feed.publish("event", {})
    assert sub.get(timeout_s=0.01) is None
