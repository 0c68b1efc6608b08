"""The outbox pump: the journal is the only source of what gets published as an event.

One thread (:class:`OutboxPump`) waits on a condition, woken by :meth:`~OutboxPump.wake` (an
event was appended), by the bridge becoming ready (connected and subscribed) and by PUBACKs.
While the bridge is ready it reads unsent rows after its cursor, in ``seq`` order, and publishes
them (QoS 1), keeping at most ``window`` unacknowledged. A PUBACK (paho ``on_publish`` with the
message id) makes the row's seq *acknowledged*; acknowledged seqs are marked sent in the journal
in batches, because each journal transaction is fsync'd: a *group commit* — every seq
acknowledged while the previous ``mark_sent`` was being written goes into the next one, so the
batches grow with the load and the fsync cost (on an SD card ~10 ms: ~100 seqs per transaction at
10,000 events/s) while a lone event is marked at once. ``flush_interval_s`` (default 0) can add
a wait to gather more; ``flush_batch`` (default 100) flushes at once regardless. Marking at once
matters after a power cut: every acknowledged-but-unmarked row is published again at the next
start (a duplicate the console drops by ``event_id``); measured with 20 SIGKILLs during bursts
(tests/edge/test_node_durability.py), group commit gave ~2 duplicates per kill where a 5 ms
batching delay gave 14-67; at most ``window`` + one batch per kill in any case.

While disconnected nothing is published. paho keeps the QoS 1 messages it had in flight and sends
them again after the reconnect, so the pump continues from its cursor (no re-read of everything:
at most ``window`` duplicates). A PUBACK carrying a failure reason (MQTT 5) leaves the row unsent;
the cursor rewinds to it at the next reconnect. At process start the cursor is 0, so a restarted
node publishes everything still unsent, oldest first.

Only the pump thread touches the in-flight table and the cursor; the paho thread only queues
acknowledgements (under the condition's lock, which the pump never holds while calling paho or
the journal), so no lock order can deadlock.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from mqtt_topics import topics as T

from .counters import Counters, LatencyWindow
from .errors import JournalError
from .journal import EventJournal, utc_ms

__all__ = ["OutboxPump"]

log = logging.getLogger(__name__)


class OutboxPump:
    """Publish the journal's unsent rows, in ``seq`` order, and mark them sent on PUBACK.

    :param journal: the open :class:`~edge.journal.EventJournal`.
    :param site: site id; :param node: node id (topic of a row: ``topics.event(site, node, kind)``).
    :param publish: ``publish(topic, payload) -> mid | None`` (QoS 1); None means "not taken,
        try again later" (:meth:`edge.bridge.MqttBridge.publish_event`).
    :param window: most rows published and not yet acknowledged (default 100).
    :param flush_interval_s: how long an acknowledged seq may wait for others before
        ``mark_sent`` (default 0: group commit, see the module note);
    :param flush_batch: flush at once when this many are waiting (default 100).
    :param clock: UTC ms, the journal's clock, for the append-to-PUBACK latency.
    :param latency: where latency samples (ms) go (a :class:`~edge.counters.LatencyWindow`).
    """

    def __init__(self, journal: EventJournal, *, site: str, node: str,
                 publish: Callable[[str, bytes], int | None], window: int = 100,
                 flush_interval_s: float = 0.0, flush_batch: int = 100,
                 clock: Callable[[], int] = utc_ms, latency: LatencyWindow | None = None) -> None:
        if window < 1:
            raise ValueError(f"outbox window must be >= 1, got {window}")
        self._journal = journal
        self._site, self._node = site, node
        self._publish = publish
        self.window = window
        self._flush_interval_s = flush_interval_s
        self._flush_batch = flush_batch
        self._clock = clock
        self.latency = latency or LatencyWindow()
        self.counters = Counters(["published", "acked", "refused_acks", "marked_sent",
                                  "mark_errors", "read_errors", "republish_waits"])
        self._cond = threading.Condition()
        # shared with other threads (under _cond)
        self._acks: list[tuple[int, bool, int]] = []  # (mid, ok, at_ms)
        self._dirty = True          # rows may exist after the cursor
        self._wakes = 0             # bumps on every wake(), to clear _dirty safely
        self._ready = False
        self._ready_epoch = 0       # bumps on every on_ready
        self._paused = False
        self._stopping = False
        self._idle = False          # nothing unsent known, nothing in flight, nothing to flush
        # pump thread only
        self._cursor = 0
        self._inflight: dict[int, tuple[int, int]] = {}  # mid -> (seq, created_ms)
        self._to_mark: list[int] = []
        self._flush_due: float | None = None
        self._rewind_to: int | None = None
        self._seen_epoch = 0
        self._thread: threading.Thread | None = None
        self._topics: dict[str, str] = {}  # kind -> topic
        self._inflight_n = 0
        self._peak = 0

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> "OutboxPump":
        """Start the pump thread (idempotent)."""
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="outbox-pump", daemon=True)
                self._thread.start()
        return self

    def pause(self) -> None:
        """Publish nothing more (acknowledgements are still processed): before a clean stop."""
        with self._cond:
            self._paused = True
            self._cond.notify_all()

    def stop(self, *, timeout_s: float = 5.0) -> None:
        """Mark every acknowledged seq sent, then stop the thread. Idempotent."""
        with self._cond:
            self._stopping = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
            if thread.is_alive():
                log.error("outbox: pump thread did not stop within %.1f s", timeout_s)

    @property
    def alive(self) -> bool:
        """True while the pump thread runs (for the systemd watchdog)."""
        return self._thread is not None and self._thread.is_alive()

    # -- signals from other threads -------------------------------------------------------------

    def wake(self) -> None:
        """An event was appended to the journal."""
        with self._cond:
            self._dirty = True
            self._wakes += 1
            self._idle = False
            self._cond.notify_all()

    def connection_ready(self) -> None:
        """The bridge is connected and subscribed: publishing may go on."""
        with self._cond:
            self._ready = True
            self._ready_epoch += 1
            self._dirty = True
            self._wakes += 1
            self._cond.notify_all()

    def connection_lost(self) -> None:
        """The connection dropped: publish nothing until :meth:`connection_ready`."""
        with self._cond:
            self._ready = False
            self._cond.notify_all()

    def acknowledged(self, mid: int, ok: bool = True) -> None:
        """paho's ``on_publish`` for ``mid`` (called in the network thread; never blocks)."""
        at = self._clock()
        with self._cond:
            self._acks.append((mid, ok, at))
            self._cond.notify_all()

    # -- observation --------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Rows published and not yet acknowledged (as of the pump's last pass)."""
        with self._cond:
            return self._inflight_n

    @property
    def peak_in_flight(self) -> int:
        """The most rows ever in flight at once (never more than ``window``)."""
        with self._cond:
            return self._peak

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until the pump has nothing left to do: no unsent row after its cursor, nothing
        in flight, every acknowledged seq marked sent. False on timeout. (For tests, benches and
        a draining stop.)"""
        with self._cond:
            return self._cond.wait_for(lambda: self._idle, timeout_s)

    # -- the thread -----------------------------------------------------------------------------

    def _should_run(self) -> bool:
        if self._stopping or self._acks:
            return True
        if self._flush_due is not None and time.monotonic() >= self._flush_due:
            return True
        return (self._ready and not self._paused and self._dirty
                and len(self._inflight) < self.window)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._should_run():
                    timeout = None
                    if self._flush_due is not None:
                        timeout = max(0.0, self._flush_due - time.monotonic())
                    self._cond.wait(timeout)
                acks, self._acks = self._acks, []
                stopping = self._stopping
                can_publish = self._ready and not self._paused and not stopping
                epoch = self._ready_epoch
                wakes = self._wakes
            try:
                self._take_acks(acks)
                if self._to_mark and (stopping or len(self._to_mark) >= self._flush_batch
                                      or (self._flush_due is not None
                                          and time.monotonic() >= self._flush_due)):
                    self._flush()
                if stopping:
                    if self._to_mark:
                        self._flush()
                    break
                if can_publish:
                    if epoch != self._seen_epoch:
                        self._seen_epoch = epoch
                        if self._rewind_to is not None:
                            log.info("outbox: re-publishing from seq %d after refused acks",
                                     self._rewind_to)
                            self._cursor = min(self._cursor, self._rewind_to - 1)
                            self._rewind_to = None
                    self._publish_more(wakes)
            except Exception:  # noqa: BLE001 - the pump must outlive any surprise; log and retry
                log.exception("outbox: pump pass failed; retrying")
                with self._cond:
                    self._cond.wait(0.5)
            self._update_idle()
        self._update_idle()

    def _take_acks(self, acks: list[tuple[int, bool, int]]) -> None:
        for mid, ok, at in acks:
            entry = self._inflight.pop(mid, None)
            if entry is None:
                continue  # a status, cmd_result or telemetry message
            seq, created = entry
            if not ok:
                self.counters.incr("refused_acks")
                log.error("outbox: broker refused event seq %d; it stays unsent", seq)
                self._rewind_to = seq if self._rewind_to is None else min(self._rewind_to, seq)
                continue
            self.counters.incr("acked")
            self.latency.add(max(0, at - created))
            self._to_mark.append(seq)
            if self._flush_due is None:
                self._flush_due = time.monotonic() + self._flush_interval_s

    def _flush(self) -> None:
        seqs = self._to_mark
        try:
            self._journal.mark_sent(seqs)
        except JournalError as exc:
            self.counters.incr("mark_errors")
            log.error("outbox: marking %d seq(s) sent failed (kept for the next try): %s",
                      len(seqs), exc)
            self._flush_due = time.monotonic() + max(self._flush_interval_s, 0.1)
            return
        self.counters.incr("marked_sent", len(seqs))
        self._to_mark = []
        self._flush_due = None

    def _publish_more(self, wakes: int) -> None:
        room = self.window - len(self._inflight)
        if room <= 0:
            return
        try:
            rows = self._journal.unsent(after_seq=self._cursor, limit=room)
        except JournalError as exc:
            self.counters.incr("read_errors")
            log.error("outbox: reading unsent rows failed: %s", exc)
            with self._cond:
                self._cond.wait(0.5)
            return
        for row in rows:
            topic = self._topics.get(row.kind)
            if topic is None:
                topic = self._topics[row.kind] = T.event(self._site, self._node, row.kind)
            mid = self._publish(topic, row.payload)
            if mid is None:
                # paho did not take it: try again on the next acknowledgement or wake
                self.counters.incr("republish_waits")
                with self._cond:
                    self._dirty = True
                    self._cond.wait(0.05)  # paho's queue is full (rare): let it drain a little
                return
            self._inflight[mid] = (row.seq, row.created_ms)
            self._cursor = row.seq
            self.counters.incr("published")
        if len(self._inflight) > self._peak:
            with self._cond:
                self._peak = len(self._inflight)
        if len(rows) < room:
            with self._cond:
                if self._wakes == wakes:
                    self._dirty = False  # caught up: nothing appended since we looked

    def _update_idle(self) -> None:
        with self._cond:
            self._inflight_n = len(self._inflight)
            idle = (not self._dirty and not self._inflight and not self._to_mark
                    and not self._acks and self._rewind_to is None)
            if idle != self._idle:
                self._idle = idle
                self._cond.notify_all()
