//! `BookSync`: the state machine that keeps an [`OrderBook`] in step with KuCoin.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::BookError;
use super::decimal::Decimal;
use super::decode::{Change, DecodePath, FrameSpec, Update};
use super::order_book::{OrderBook, Side};
use super::sequence::{SeqCheck, check_spot};
use crate::market::{Futures, Market, Spot, Symbol};
use crate::rest::L2Snapshot;

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::market::Spot {}
    impl Sealed for crate::market::Futures {}
}

/// A market whose level-2 feed [`BookSync`] can follow: [`Spot`] or [`Futures`].
pub trait BookMarket: Market + sealed::Sealed {
    /// Frame decoding for this market's incremental topic.
    #[doc(hidden)]
    fn frame_spec(symbol: &str) -> FrameSpec;
    /// The snapshot to ask for.
    #[doc(hidden)]
    fn snapshot_request(symbol: &Symbol<Self>, full: bool) -> SnapshotRequest;
}

impl BookMarket for Spot {
    fn frame_spec(symbol: &str) -> FrameSpec {
        FrameSpec::spot(symbol)
    }
    fn snapshot_request(symbol: &Symbol<Self>, full: bool) -> SnapshotRequest {
        if full {
            SnapshotRequest::SpotFull {
                symbol: symbol.clone(),
            }
        } else {
            SnapshotRequest::SpotTop100 {
                symbol: symbol.clone(),
            }
        }
    }
}

impl BookMarket for Futures {
    fn frame_spec(symbol: &str) -> FrameSpec {
        FrameSpec::futures(symbol)
    }
    fn snapshot_request(symbol: &Symbol<Self>, _full: bool) -> SnapshotRequest {
        SnapshotRequest::Futures {
            symbol: symbol.clone(),
        }
    }
}

/// A REST snapshot the book needs. Fetch it, then call [`BookSync::handle_snapshot`] with the parsed
/// `data` (or [`BookSync::handle_snapshot_failed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotRequest {
    /// Spot full book, `GET /api/v3/market/orderbook/level2?symbol=…`. Needs a signed request.
    SpotFull {
        /// The symbol.
        symbol: Symbol<Spot>,
    },
    /// Spot top 100 levels a side, `GET /api/v1/market/orderbook/level2_100?symbol=…`. Public.
    SpotTop100 {
        /// The symbol.
        symbol: Symbol<Spot>,
    },
    /// Futures full book, `GET /api/v1/level2/snapshot?symbol=…` on the futures host. Public.
    Futures {
        /// The symbol.
        symbol: Symbol<Futures>,
    },
}

impl SnapshotRequest {
    /// Path and query to request (on the market's REST host).
    #[must_use]
    pub fn path_and_query(&self) -> String {
        match self {
            SnapshotRequest::SpotFull { symbol } => {
                format!("/api/v3/market/orderbook/level2?symbol={symbol}")
            }
            SnapshotRequest::SpotTop100 { symbol } => {
                format!("/api/v1/market/orderbook/level2_100?symbol={symbol}")
            }
            SnapshotRequest::Futures { symbol } => {
                format!("/api/v1/level2/snapshot?symbol={symbol}")
            }
        }
    }

    /// True if the request must be signed with API keys.
    #[must_use]
    pub fn requires_auth(&self) -> bool {
        matches!(self, SnapshotRequest::SpotFull { .. })
    }

    /// Levels per side the answer is limited to, for depth-limited snapshots.
    #[must_use]
    pub fn depth_limit(&self) -> Option<usize> {
        match self {
            SnapshotRequest::SpotTop100 { .. } => Some(100),
            _ => None,
        }
    }
}

/// Which spot snapshot to bootstrap from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SpotSnapshotSource {
    /// The full book (`/api/v3/market/orderbook/level2`): needs API keys; gives a complete book.
    Full,
    /// The top 100 levels (`level2_100`): public; the book is complete only near the touch
    /// (see [`OrderBook::complete_depth`]).
    #[default]
    Top100,
}

/// Tuning for [`BookSync`]. Start from `BookConfig::default()` and change fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BookConfig {
    /// Most messages buffered while waiting for a snapshot; more restarts the sync. Default 20,000.
    pub max_buffered_updates: usize,
    /// Most levels kept per side; the worst are dropped beyond it (and no longer count as complete).
    /// Default 100,000.
    pub max_levels: usize,
    /// Spot only: the snapshot to bootstrap from. Default [`SpotSnapshotSource::Top100`]; set
    /// [`SpotSnapshotSource::Full`] when the adapter has API keys.
    pub spot_snapshot: SpotSnapshotSource,
    /// How long to wait for the first message before asking for a snapshot anyway, when the
    /// subscription's acknowledgement is not reported ([`BookSync::handle_subscribed`]; a
    /// [`Feed`](crate::feed::Feed) reports it, so there the snapshot is asked for at the ack).
    /// Default 2 s.
    pub first_update_wait: Duration,
    /// How long a snapshot request may take before it is asked for again. Default 10 s.
    pub snapshot_timeout: Duration,
    /// First delay before retrying a failed or too-old snapshot; doubles up to `retry_max`.
    /// Default 250 ms.
    pub retry_initial: Duration,
    /// Longest delay between snapshot retries. Default 10 s.
    pub retry_max: Duration,
    /// Once live messages continue the book, this many stale messages in a row (at or below its
    /// sequence) mean the book ran ahead of the stream: it resyncs instead of silently ignoring
    /// the stream. Duplicates and overlaps are single messages; a stream that lags a fresh
    /// snapshot is not counted until it has caught up. Default 100.
    pub max_stale_run: u32,
}

impl Default for BookConfig {
    fn default() -> Self {
        BookConfig {
            max_buffered_updates: 20_000,
            max_levels: 100_000,
            spot_snapshot: SpotSnapshotSource::Top100,
            first_update_wait: Duration::from_secs(2),
            snapshot_timeout: Duration::from_secs(10),
            retry_initial: Duration::from_millis(250),
            retry_max: Duration::from_secs(10),
            max_stale_run: 100,
        }
    }
}

/// Where the synchronisation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BookState {
    /// Buffering messages before asking for the first snapshot.
    Buffering,
    /// A snapshot is wanted or in flight; messages are buffered.
    AwaitingSnapshot,
    /// The book is in step; [`BookSync::book`] returns it.
    Live,
    /// The book was lost (gap, overflow, reconnect) and is being rebuilt.
    Resyncing,
}

/// Why a resync started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResyncReason {
    /// A message was missing.
    Gap,
    /// Too many messages were buffered while waiting for a snapshot.
    BufferOverflow,
    /// The session reconnected ([`BookSync::handle_reset`]).
    Reconnect,
    /// The host suspended the feed ([`BookSync::handle_suspend`]).
    Suspended,
    /// After live messages had continued the book, [`BookConfig::max_stale_run`] messages in a
    /// row were at or below its sequence: the book's sequence ran ahead of the stream (a bogus
    /// sequence was accepted), so its content can no longer be trusted.
    StaleRun,
}

/// How much of the time a book was available (in step and shown), from the `now` values it was
/// given. Time while the host had suspended the feed is not counted at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Availability {
    /// Milliseconds with the book available.
    pub available_ms: u64,
    /// Milliseconds counted (since the book was added, less the time suspended).
    pub total_ms: u64,
    /// The longest stretch without the book, in milliseconds (the first sync counts, and so
    /// does a stretch still running).
    pub max_unavailable_ms: u64,
}

impl Availability {
    /// Figures from milliseconds (for tools that store or replay them).
    #[must_use]
    pub const fn new(available_ms: u64, total_ms: u64, max_unavailable_ms: u64) -> Self {
        Availability {
            available_ms,
            total_ms,
            max_unavailable_ms,
        }
    }

    /// Available time as a percentage of the time counted (100 when nothing was counted yet).
    #[must_use]
    pub fn pct(&self) -> f64 {
        if self.total_ms == 0 {
            return 100.0;
        }
        // Both values are far below 2^52 ms: exact as f64.
        #[allow(clippy::cast_precision_loss)]
        let pct = self.available_ms as f64 * 100.0 / self.total_ms as f64;
        pct
    }
}

/// Availability bookkeeping: updated only when the book becomes or stops being available (and
/// when asked), never per message.
#[derive(Debug, Clone, Copy)]
struct AvailClock {
    /// Time is counted up to here.
    since: Instant,
    live: bool,
    /// Suspended by the host: no time is counted.
    paused: bool,
    available: Duration,
    total: Duration,
    /// The unavailable stretch running now.
    stretch: Duration,
    max_unavailable: Duration,
}

impl AvailClock {
    fn new(now: Instant) -> Self {
        AvailClock {
            since: now,
            live: false,
            paused: false,
            available: Duration::ZERO,
            total: Duration::ZERO,
            stretch: Duration::ZERO,
            max_unavailable: Duration::ZERO,
        }
    }

    /// Counts the time up to `now` in the current state.
    fn account(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.since);
        self.since = self.since.max(now);
        if self.paused {
            return;
        }
        self.total += dt;
        if self.live {
            self.available += dt;
        } else {
            self.stretch += dt;
            self.max_unavailable = self.max_unavailable.max(self.stretch);
        }
    }

    /// The state changes at `now`. A suspension ends the running stretch (it restarts at resume).
    fn set(&mut self, now: Instant, live: bool, paused: bool) {
        self.account(now);
        if live || paused {
            self.stretch = Duration::ZERO;
        }
        self.live = live;
        self.paused = paused;
    }

    fn figures(mut self, now: Instant) -> Availability {
        self.account(now);
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Availability {
            available_ms: ms(self.available),
            total_ms: ms(self.total),
            max_unavailable_ms: ms(self.max_unavailable),
        }
    }
}

/// Something that happened to the book. Drain with [`BookSync::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BookEvent {
    /// The book is in step with KuCoin, at `sequence`.
    Synced {
        /// The book's sequence.
        sequence: u64,
    },
    /// Messages were applied since the last event: one coalesced event, not one per message.
    Updated {
        /// The book's sequence.
        sequence: u64,
        /// Messages applied since the previous `Updated`.
        messages: u64,
    },
    /// A message skipped ahead: the book stopped before it and a resync follows.
    GapDetected {
        /// The sequence the book needed next.
        expected: u64,
        /// The first sequence the message had.
        got: u64,
    },
    /// The book was invalidated and is being rebuilt.
    ResyncStarted {
        /// Why.
        reason: ResyncReason,
    },
    /// The snapshot is older than the buffered messages reach back; another will be fetched.
    SnapshotTooOld {
        /// The snapshot's sequence.
        snapshot_sequence: u64,
        /// The first sequence the buffer has after it.
        first_buffered: u64,
    },
    /// A snapshot request failed (or timed out); it will be retried.
    SnapshotFailed {
        /// Whether the failure was transient.
        retryable: bool,
    },
    /// The buffer of messages hit [`BookConfig::max_buffered_updates`]; the sync restarted.
    BufferOverflow {
        /// The limit.
        limit: usize,
    },
    /// After an update the best bid is at or above the best ask (reported once per episode).
    Crossed {
        /// Best bid price.
        best_bid: Decimal,
        /// Best ask price.
        best_ask: Decimal,
        /// The book's sequence.
        sequence: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Buffering,
    Awaiting,
    Live,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    FirstUpdate,
    SnapshotTimeout,
    Retry,
}

#[derive(Debug, Clone, Copy)]
struct Buffered {
    start: u64,
    end: u64,
    from: usize,
    to: usize,
}

/// Keeps a level-2 [`OrderBook`] in step with KuCoin's feed for one symbol, or knows it is not.
///
/// Feed it every frame of the symbol's incremental topic ([`handle_frame`](Self::handle_frame)),
/// the snapshots it asks for ([`poll_fetch`](Self::poll_fetch) → [`handle_snapshot`](Self::handle_snapshot)),
/// reconnects ([`handle_reset`](Self::handle_reset)) and timeouts. The procedure and the sequence rule are
/// described in [`sequence`](super::sequence). After every `handle_*` call, drain
/// [`poll_fetch`](Self::poll_fetch) and [`poll_event`](Self::poll_event), then re-arm
/// [`poll_timeout`](Self::poll_timeout).
///
/// In the `Live` state a frame costs one decode into a reused buffer and the book changes: no heap
/// allocation (checked by a counting-allocator test) and no per-frame event (see [`BookEvent::Updated`]).
#[derive(Debug, Clone)]
pub struct BookSync<M: BookMarket> {
    symbol: Symbol<M>,
    config: BookConfig,
    spec: FrameSpec,
    phase: Phase,
    ever_synced: bool,
    book: OrderBook,
    scratch: Update,
    buf: Vec<Buffered>,
    buf_changes: Vec<Change>,
    fetch_due: bool,
    in_flight: bool,
    full: bool,
    timer: Option<(Instant, Timer)>,
    retry_delay: Duration,
    now: Instant,
    events: VecDeque<BookEvent>,
    updated: u64,
    crossed: bool,
    applied: u64,
    fallbacks: u64,
    /// A live message has continued the book since it was (re)synced.
    continued: bool,
    /// Stale live messages in a row since the last one that continued the book.
    stale_run: u32,
    /// Time with and without the book.
    avail: AvailClock,
}

/// A book following spot `/market/level2:{symbol}`.
pub type SpotBookSync = BookSync<Spot>;
/// A book following futures `/contractMarket/level2:{symbol}`.
pub type FuturesBookSync = BookSync<Futures>;

impl<M: BookMarket> BookSync<M> {
    /// Starts in `Buffering`: subscribe to the topic, then feed frames; the subscription's
    /// acknowledgement ([`handle_subscribed`](Self::handle_subscribed)), the first frame or
    /// `first_update_wait`, whichever comes first, triggers the snapshot request.
    #[must_use]
    pub fn new(symbol: Symbol<M>, config: BookConfig, now: Instant) -> Self {
        let spec = M::frame_spec(symbol.as_str());
        let full = config.spot_snapshot == SpotSnapshotSource::Full;
        let timer = Some((now + config.first_update_wait, Timer::FirstUpdate));
        BookSync {
            symbol,
            spec,
            phase: Phase::Buffering,
            ever_synced: false,
            book: OrderBook::new(),
            scratch: Update::default(),
            buf: Vec::new(),
            buf_changes: Vec::new(),
            fetch_due: false,
            in_flight: false,
            full,
            timer,
            retry_delay: config.retry_initial,
            now,
            events: VecDeque::new(),
            updated: 0,
            crossed: false,
            applied: 0,
            fallbacks: 0,
            continued: false,
            stale_run: 0,
            avail: AvailClock::new(now),
            config,
        }
    }

    /// The symbol.
    #[must_use]
    pub fn symbol(&self) -> &Symbol<M> {
        &self.symbol
    }

    /// The topic whose frames this book takes, e.g. `/market/level2:BTC-USDT`.
    #[must_use]
    pub fn topic(&self) -> &str {
        self.spec.topic()
    }

    /// A whole WebSocket text frame of this book's topic. Decoded by the fast decoder, or by
    /// `serde_json` when the frame is unusual; either way the same result.
    ///
    /// An error means the frame was not applied (nothing of it); if it carried sequences, the next
    /// frame shows the gap and the book resyncs.
    pub fn handle_frame(&mut self, now: Instant, frame: &str) -> Result<(), BookError> {
        self.now = self.now.max(now);
        let mut u = std::mem::take(&mut self.scratch);
        let r = self.spec.decode_frame(frame, &mut u);
        if let Ok(path) = r {
            self.fallbacks += u64::from(path == DecodePath::Serde);
            self.on_update(&u);
        }
        self.scratch = u;
        r.map(|_| ())
    }

    /// The usual start of a frame of this book's topic, up to `"data":` (for routers).
    #[must_use]
    pub fn frame_prefix(&self) -> &[u8] {
        self.spec.frame_prefix()
    }

    /// [`handle_frame`](Self::handle_frame) for a frame that starts with
    /// [`frame_prefix`](Self::frame_prefix), as the feed's router has already checked.
    #[inline]
    pub(crate) fn handle_prefixed_frame(
        &mut self,
        now: Instant,
        frame: &str,
    ) -> Result<(), BookError> {
        self.now = self.now.max(now);
        let mut u = std::mem::take(&mut self.scratch);
        let r = self.spec.decode_prefixed_frame(frame, &mut u);
        if let Ok(path) = r {
            self.fallbacks += u64::from(path == DecodePath::Serde);
            self.on_update(&u);
        }
        self.scratch = u;
        r.map(|_| ())
    }

    /// True when [`poll_event`](Self::poll_event) has an event other than the coalesced
    /// [`BookEvent::Updated`] (a gap, a resync, a crossed book, …).
    #[must_use]
    pub(crate) fn has_queued_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// Only the `data` object of a frame of this book's topic (for sessions that split frames).
    pub fn handle_data(&mut self, now: Instant, data: &str) -> Result<(), BookError> {
        self.now = self.now.max(now);
        let mut u = std::mem::take(&mut self.scratch);
        let r = self.spec.decode_data(data, &mut u);
        if let Ok(path) = r {
            self.fallbacks += u64::from(path == DecodePath::Serde);
            self.on_update(&u);
        }
        self.scratch = u;
        r.map(|_| ())
    }

    /// A message decoded separately (with [`FrameSpec::decode_frame`]), for tools and benchmarks.
    pub fn handle_update(&mut self, now: Instant, update: &Update) {
        self.now = self.now.max(now);
        self.on_update(update);
    }

    /// The snapshot answering [`poll_fetch`](Self::poll_fetch). Ignored when none is awaited.
    ///
    /// An error (a level that is not an exact decimal, a price listed twice) counts as a failed fetch:
    /// it is retried with backoff.
    pub fn handle_snapshot(
        &mut self,
        now: Instant,
        snapshot: &L2Snapshot,
    ) -> Result<(), BookError> {
        self.now = self.now.max(now);
        if self.phase != Phase::Awaiting {
            return Ok(());
        }
        self.in_flight = false;
        if self.timer.is_some_and(|(_, t)| t == Timer::SnapshotTimeout) {
            self.timer = None;
        }
        if let Err(e) = self.load_snapshot(snapshot) {
            self.schedule_retry();
            return Err(e);
        }
        let last = snapshot.sequence;
        self.book.sequence = last;
        let mut from = 0;
        let mut first = true;
        for bi in 0..self.buf.len() {
            let Some(&m) = self.buf.get(bi) else { break };
            match check_spot(self.book.sequence, m.start, m.end) {
                SeqCheck::Stale => {}
                SeqCheck::Apply => {
                    first = false;
                    if let Some(changes) = self.buf_changes.get(m.from..m.to) {
                        apply(&mut self.book, changes, m.end, self.config.max_levels);
                    }
                }
                SeqCheck::Gap { expected, got } => {
                    if first {
                        self.push(BookEvent::SnapshotTooOld {
                            snapshot_sequence: last,
                            first_buffered: got,
                        });
                    } else {
                        // The buffer itself has a hole: only what follows it can be used.
                        self.push(BookEvent::GapDetected { expected, got });
                        from = bi;
                    }
                    self.drop_buffered(from);
                    self.schedule_retry();
                    return Ok(());
                }
            }
            from = bi + 1;
        }
        self.buf.clear();
        self.buf_changes.clear();
        self.phase = Phase::Live;
        self.avail.set(self.now, true, false);
        self.ever_synced = true;
        self.continued = false;
        self.stale_run = 0;
        // The retry delay is reset once a message continues the book: a snapshot that the very
        // next message shows to be too old keeps backing off.
        self.timer = None;
        self.push(BookEvent::Synced {
            sequence: self.book.sequence,
        });
        self.check_crossed();
        Ok(())
    }

    /// The snapshot request failed. `retryable: false` (e.g. the full spot snapshot was refused for
    /// lack of keys) switches spot to `level2_100`; either way the request is retried with backoff.
    pub fn handle_snapshot_failed(&mut self, now: Instant, retryable: bool) {
        self.now = self.now.max(now);
        if self.phase != Phase::Awaiting {
            return;
        }
        self.in_flight = false;
        self.push(BookEvent::SnapshotFailed { retryable });
        if !retryable && self.full {
            self.full = false;
            self.fetch_due = true;
            self.timer = None;
        } else {
            self.schedule_retry();
        }
    }

    /// The session reconnected (or re-subscribed): the book is invalid until resynced.
    pub fn handle_reset(&mut self, now: Instant) {
        self.reset(now, ResyncReason::Reconnect);
        self.timer = Some((self.now + self.config.first_update_wait, Timer::FirstUpdate));
    }

    /// The subscription to [`topic`](Self::topic) was acknowledged: the stream that must follow
    /// the snapshot is flowing, so the snapshot is asked for now (messages are buffered
    /// meanwhile) instead of waiting for a first message, which a quiet market may not send
    /// for a long time. Does nothing unless the book is waiting for its first message.
    pub fn handle_subscribed(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.phase == Phase::Buffering {
            self.phase = Phase::Awaiting;
            self.fetch_due = true;
            self.timer = None;
        }
    }

    /// The host suspended the feed: the book is invalid (never shown stale), no timer runs and
    /// no snapshot is asked for until [`handle_resume`](Self::handle_resume). Time suspended
    /// does not count in [`availability`](Self::availability).
    pub fn handle_suspend(&mut self, now: Instant) {
        self.reset(now, ResyncReason::Suspended);
        self.timer = None;
        self.avail.set(self.now, false, true);
    }

    /// The host resumed the feed: the book waits for its subscription (or first message) again,
    /// as after [`handle_reset`](Self::handle_reset). Does nothing unless suspended.
    pub fn handle_resume(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if !self.avail.paused {
            return;
        }
        self.avail.set(self.now, false, false);
        self.timer = Some((self.now + self.config.first_update_wait, Timer::FirstUpdate));
    }

    fn reset(&mut self, now: Instant, reason: ResyncReason) {
        self.now = self.now.max(now);
        self.phase = Phase::Buffering;
        self.avail.set(self.now, false, self.avail.paused);
        self.in_flight = false;
        self.fetch_due = false;
        self.buf.clear();
        self.buf_changes.clear();
        self.crossed = false;
        self.retry_delay = self.config.retry_initial;
        self.push(BookEvent::ResyncStarted { reason });
    }

    /// Time passed. Early or repeated calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let Some((at, timer)) = self.timer else {
            return;
        };
        if now < at {
            return;
        }
        self.timer = None;
        match timer {
            Timer::FirstUpdate => {
                if self.phase == Phase::Buffering {
                    self.phase = Phase::Awaiting;
                    self.fetch_due = true;
                }
            }
            Timer::SnapshotTimeout => {
                if self.phase == Phase::Awaiting && self.in_flight {
                    self.in_flight = false;
                    self.push(BookEvent::SnapshotFailed { retryable: true });
                    self.fetch_due = true;
                }
            }
            Timer::Retry => {
                if self.phase == Phase::Awaiting {
                    self.fetch_due = true;
                }
            }
        }
    }

    /// The snapshot to fetch now, if any (at most one in flight).
    #[must_use]
    pub fn poll_fetch(&mut self) -> Option<SnapshotRequest> {
        if !self.fetch_due || self.in_flight {
            return None;
        }
        self.fetch_due = false;
        self.in_flight = true;
        self.timer = Some((
            self.now + self.config.snapshot_timeout,
            Timer::SnapshotTimeout,
        ));
        Some(M::snapshot_request(&self.symbol, self.full))
    }

    /// The next event, oldest first.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<BookEvent> {
        if let Some(e) = self.events.pop_front() {
            return Some(e);
        }
        self.take_updated()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timer.map(|(at, _)| at)
    }

    /// Where the synchronisation stands.
    #[must_use]
    pub fn state(&self) -> BookState {
        match self.phase {
            Phase::Live => BookState::Live,
            _ if self.ever_synced => BookState::Resyncing,
            Phase::Buffering => BookState::Buffering,
            Phase::Awaiting => BookState::AwaitingSnapshot,
        }
    }

    /// The book, only while it is in step (`Live`).
    #[must_use]
    pub fn book(&self) -> Option<&OrderBook> {
        (self.phase == Phase::Live).then_some(&self.book)
    }

    /// Messages applied to the book so far.
    #[must_use]
    pub fn messages_applied(&self) -> u64 {
        self.applied
    }

    /// Time with the book available and the longest stretch without, up to `now`.
    #[must_use]
    pub fn availability(&self, now: Instant) -> Availability {
        self.avail.figures(now.max(self.now))
    }

    /// Frames that needed the `serde_json` fallback decoder so far.
    #[must_use]
    pub fn fallback_decodes(&self) -> u64 {
        self.fallbacks
    }

    fn on_update(&mut self, u: &Update) {
        match self.phase {
            Phase::Live => match check_spot(self.book.sequence, u.start, u.end) {
                SeqCheck::Stale => {
                    if self.continued {
                        self.stale_run += 1;
                        if self.stale_run >= self.config.max_stale_run.max(1) {
                            self.start_resync(ResyncReason::StaleRun);
                        }
                    }
                }
                SeqCheck::Apply => {
                    if !self.continued {
                        self.continued = true;
                        self.retry_delay = self.config.retry_initial;
                    }
                    self.stale_run = 0;
                    apply(&mut self.book, &u.changes, u.end, self.config.max_levels);
                    self.applied += 1;
                    self.updated += 1;
                    self.check_crossed();
                }
                SeqCheck::Gap { expected, got } => {
                    self.push(BookEvent::GapDetected { expected, got });
                    let snapshot_too_old = !self.continued;
                    self.start_resync(ResyncReason::Gap);
                    if snapshot_too_old {
                        // Nothing continued the snapshot (it was taken with an empty buffer):
                        // it is older than the stream, like `SnapshotTooOld`. Back off before
                        // the next one rather than hammer a lagging snapshot server.
                        self.fetch_due = false;
                        self.schedule_retry();
                    }
                    self.buffer(u);
                }
            },
            Phase::Buffering => {
                self.phase = Phase::Awaiting;
                self.fetch_due = true;
                self.timer = None;
                self.buffer(u);
            }
            Phase::Awaiting => self.buffer(u),
        }
    }

    fn start_resync(&mut self, reason: ResyncReason) {
        let continued = self.continued;
        self.phase = Phase::Awaiting;
        self.avail.set(self.now, false, false);
        self.fetch_due = true;
        self.crossed = false;
        self.buf.clear();
        self.buf_changes.clear();
        if continued {
            self.retry_delay = self.config.retry_initial;
        }
        self.push(BookEvent::ResyncStarted { reason });
    }

    fn buffer(&mut self, u: &Update) {
        if self.buf.len() >= self.config.max_buffered_updates {
            let limit = self.config.max_buffered_updates;
            self.push(BookEvent::BufferOverflow { limit });
            self.push(BookEvent::ResyncStarted {
                reason: ResyncReason::BufferOverflow,
            });
            self.buf.clear();
            self.buf_changes.clear();
            if !self.in_flight {
                self.fetch_due = true;
            }
            if self.config.max_buffered_updates == 0 {
                return;
            }
        }
        let from = self.buf_changes.len();
        self.buf_changes.extend_from_slice(&u.changes);
        self.buf.push(Buffered {
            start: u.start,
            end: u.end,
            from,
            to: self.buf_changes.len(),
        });
    }

    fn drop_buffered(&mut self, keep_from: usize) {
        let Some(first) = self.buf.get(keep_from).map(|m| m.from) else {
            self.buf.clear();
            self.buf_changes.clear();
            return;
        };
        self.buf.drain(..keep_from);
        self.buf_changes.drain(..first);
        for m in &mut self.buf {
            m.from -= first;
            m.to -= first;
        }
    }

    fn schedule_retry(&mut self) {
        self.timer = Some((self.now + self.retry_delay, Timer::Retry));
        self.retry_delay = (self.retry_delay * 2).min(self.config.retry_max);
    }

    fn load_snapshot(&mut self, snap: &L2Snapshot) -> Result<(), BookError> {
        self.book.clear();
        let limit = if self.full {
            None
        } else {
            M::snapshot_request(&self.symbol, false).depth_limit()
        };
        for (side, levels) in [(Side::Bid, &snap.bids), (Side::Ask, &snap.asks)] {
            let ladder = match side {
                Side::Bid => &mut self.book.bids,
                Side::Ask => &mut self.book.asks,
            };
            for l in levels {
                let price = Decimal::parse(&l.price)
                    .map_err(|source| BookError::BadSnapshotLevel { source })?;
                let size = Decimal::parse(&l.size)
                    .map_err(|source| BookError::BadSnapshotLevel { source })?;
                ladder.push_unsorted(price, size);
            }
            if !ladder.finish_load(limit, self.config.max_levels) {
                return Err(BookError::DuplicateSnapshotPrice);
            }
        }
        Ok(())
    }

    #[inline]
    fn check_crossed(&mut self) {
        let crossed = self.book.is_crossed();
        if crossed == self.crossed {
            return;
        }
        if crossed && let (Some(b), Some(a)) = (self.book.best_bid(), self.book.best_ask()) {
            self.push(BookEvent::Crossed {
                best_bid: b.price,
                best_ask: a.price,
                sequence: self.book.sequence,
            });
        }
        self.crossed = crossed;
    }

    fn take_updated(&mut self) -> Option<BookEvent> {
        if self.updated == 0 {
            return None;
        }
        let messages = std::mem::take(&mut self.updated);
        Some(BookEvent::Updated {
            sequence: self.book.sequence,
            messages,
        })
    }

    /// Queues an event, after a pending `Updated` so that the order stays true.
    fn push(&mut self, e: BookEvent) {
        if let Some(u) = self.take_updated() {
            self.events.push_back(u);
        }
        self.events.push_back(e);
    }
}

/// Applies the changes above the book's sequence, then moves the sequence to `end`.
#[inline]
fn apply(book: &mut OrderBook, changes: &[Change], end: u64, max_levels: usize) {
    let last = book.sequence;
    for ch in changes {
        // Price 0: a sequence-only message. Size 0 deletes (inside `set`).
        if ch.sequence <= last || ch.price.is_zero() {
            continue;
        }
        match ch.side {
            Side::Bid => book.bids.set(ch.price, ch.size, max_levels),
            Side::Ask => book.asks.set(ch.price, ch.size, max_levels),
        }
    }
    book.sequence = end;
}
