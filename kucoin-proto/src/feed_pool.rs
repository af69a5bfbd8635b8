//! Typed channel subscriptions spread over as many connections as they need.
//!
//! A [`Feed`](crate::feed::Feed) is one WebSocket connection; KuCoin allows about 300 topics on
//! one. A [`ChannelRouter`] is the sans-IO part of a feed that runs several of them:
//! - **Placement** ([`Placement`]): every topic (a book's or a channel's) goes to the first
//!   connection of its kind with room, up to `topics_per_connection` (300 by default, the
//!   session's [`max_topics_per_connection`](crate::ws::SessionConfig::max_topics_per_connection));
//!   a new connection is opened when all are full. Private topics go to private connections
//!   (signed bullet) and public topics to public ones, so a private session's troubles never
//!   stall market data and the reverse. Removing a topic frees its slot.
//! - **Typed subscriptions**: [`ChannelRouter::subscribe`] takes any channel value
//!   ([`ChannelSpec`]) and gives a [`Subscription`] handle; every message a connection's feed
//!   hands out ([`FeedEvent::Message`]) is routed to the subscriptions that accept it (channel and
//!   symbol), decoded once into a [`ChannelMessage`], and comes out as a [`PoolEvent::Channel`];
//!   [`Subscription::message`] gives it as the channel's own message type. A message of the
//!   wrong shape is a [`PoolEvent::ChannelError`]; the stream lives on.
//!
//! Each connection keeps its own bullet, pings, reconnects and resubscription: that is its
//! [`Feed`](crate::feed::Feed)'s job. The adapters (`ChannelFeed` in `kucoin-blocking` and
//! `kucoin-async-std`) run one feed per [`ConnId`] and pass their events through
//! [`ChannelRouter::route`].
//!
//! ```
//! use kucoin_proto::feed::{FeedEvent, OwnedMessage};
//! use kucoin_proto::feed_pool::{ChannelRouter, ConnId, PoolEvent};
//! use kucoin_proto::ws::channels::{SpotOrdersV2Channel, SpotTickerChannel};
//! use kucoin_proto::{Spot, SpotSymbol};
//!
//! let mut router = ChannelRouter::new(300);
//! let symbols: Vec<SpotSymbol> = (1..=1000)
//!     .map(|i| SpotSymbol::new(format!("SYM{i:04}-USDT")))
//!     .collect::<Result<_, _>>()?;
//! let (tickers, placed) = router.subscribe(SpotTickerChannel { symbols })?;
//! // 1,000 topics, 300 a connection: four public connections.
//! assert_eq!(placed.len(), 1000);
//! assert_eq!(router.placement().len(), 4);
//! // The private orders channel opens a private connection of its own.
//! let (_orders, placed) = router.subscribe(SpotOrdersV2Channel)?;
//! assert!(router.placement().is_private(placed[0].conn));
//!
//! // What a connection's feed hands out is routed and typed.
//! let raw = OwnedMessage {
//!     topic: "/market/ticker:SYM0007-USDT".into(),
//!     subject: Some("trade.ticker".into()),
//!     data: r#"{"sequence":"5","price":"1.5","size":"2","bestAsk":"1.6","bestAskSize":"1",
//!         "bestBid":"1.4","bestBidSize":"3","time":1704873323416}"#.into(),
//! };
//! let mut out = Vec::new();
//! router.route(ConnId(0), FeedEvent::<Spot>::Message(raw), &mut out);
//! let PoolEvent::Channel(event) = &out[0] else { panic!("a ticker") };
//! let ticker = tickers.message(event).expect("this subscription's")?;
//! assert_eq!(ticker.sequence, Some(5));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::book::BookMarket;
use crate::feed::{FeedEvent, OwnedMessage};
use crate::market::{Market, Symbol};
use crate::ws::channels::{self, ChannelError, ChannelKind, ChannelMessage, ChannelSpec};
use crate::ws::{Topic, TopicError};

/// The level-2 topic of `symbol`'s book (`/market/level2:BTC-USDT`), to place with
/// [`ChannelRouter::add_topic`].
///
/// # Errors
/// The symbol cannot form a topic.
pub fn book_topic<M: BookMarket>(symbol: &Symbol<M>) -> Result<Topic, TopicError> {
    Topic::parse(M::frame_spec(symbol.as_str()).topic())
}

/// Identifies one connection (one feed) of a pool: 0, 1, 2... in the order they were opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub usize);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connection {}", self.0)
    }
}

/// Where a topic was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    /// The connection that carries it.
    pub conn: ConnId,
    /// True when this placement opened the connection (the adapter must start its feed).
    pub opened: bool,
    /// Whether the connection is private (signed bullet).
    pub private: bool,
}

#[derive(Debug, Clone, Default)]
struct Slot {
    private: bool,
    topics: BTreeSet<String>,
}

/// Which topic rides on which connection: first fit, at most `topics_per_connection` each,
/// private topics on private connections only. Deterministic. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Placement {
    per_conn: usize,
    slots: Vec<Slot>,
    owner: BTreeMap<String, ConnId>,
}

impl Placement {
    /// An empty placement; at least one topic fits on a connection.
    #[must_use]
    pub fn new(topics_per_connection: usize) -> Self {
        Self {
            per_conn: topics_per_connection.max(1),
            slots: Vec::new(),
            owner: BTreeMap::new(),
        }
    }

    /// Places `topic` (again on its connection if it is placed already).
    pub fn place(&mut self, topic: &Topic) -> Placed {
        let key = topic.to_string();
        let private = topic.is_private();
        if let Some(&conn) = self.owner.get(&key) {
            return Placed {
                conn,
                opened: false,
                private: self.is_private(conn),
            };
        }
        let found = self
            .slots
            .iter()
            .position(|s| s.private == private && s.topics.len() < self.per_conn);
        let (index, opened) = match found {
            Some(i) => (i, false),
            None => {
                self.slots.push(Slot {
                    private,
                    topics: BTreeSet::new(),
                });
                (self.slots.len() - 1, true)
            }
        };
        if let Some(slot) = self.slots.get_mut(index) {
            slot.topics.insert(key.clone());
        }
        self.owner.insert(key, ConnId(index));
        Placed {
            conn: ConnId(index),
            opened,
            private,
        }
    }

    /// Frees `topic`'s slot; its connection, if it had one.
    pub fn remove(&mut self, topic: &Topic) -> Option<ConnId> {
        let key = topic.to_string();
        let conn = self.owner.remove(&key)?;
        if let Some(slot) = self.slots.get_mut(conn.0) {
            slot.topics.remove(&key);
        }
        Some(conn)
    }

    /// The connection that carries `topic` (as written, `/market/ticker:BTC-USDT`).
    #[must_use]
    pub fn connection_of(&self, topic: &str) -> Option<ConnId> {
        self.owner.get(topic).copied()
    }

    /// Connections opened so far (a connection stays, even emptied, so ids are stable).
    #[must_use]
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True before the first topic.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Topics on `conn`.
    #[must_use]
    pub fn topic_count(&self, conn: ConnId) -> usize {
        self.slots.get(conn.0).map_or(0, |s| s.topics.len())
    }

    /// Whether `conn` is a private connection.
    #[must_use]
    pub fn is_private(&self, conn: ConnId) -> bool {
        self.slots.get(conn.0).is_some_and(|s| s.private)
    }

    /// The most topics on one connection.
    #[must_use]
    pub fn topics_per_connection(&self) -> usize {
        self.per_conn
    }
}

/// Identifies one typed subscription of a [`ChannelRouter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubscriptionId(pub u64);

/// A typed subscription: its id, and the channel value it was made from.
#[derive(Debug, Clone)]
pub struct Subscription<C> {
    id: SubscriptionId,
    channel: C,
}

impl<C: ChannelSpec> Subscription<C> {
    /// Its id (as in [`ChannelEvent::subscription`]).
    #[must_use]
    pub fn id(&self) -> SubscriptionId {
        self.id
    }

    /// The channel value it was made from.
    #[must_use]
    pub fn channel(&self) -> &C {
        &self.channel
    }

    /// The event's message as this channel's message type, if the event is this subscription's
    /// (`None` otherwise). The message is read from the event's raw `data`.
    pub fn message<'e>(
        &self,
        event: &'e ChannelEvent,
    ) -> Option<Result<C::Message<'e>, ChannelError>> {
        if event.subscription != self.id {
            return None;
        }
        let subject = event.raw.subject.as_deref().unwrap_or_default();
        Some(C::parse(subject, &event.raw.data))
    }
}

/// A message of a typed subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelEvent {
    /// The connection it came on.
    pub conn: ConnId,
    /// The subscription that accepted it.
    pub subscription: SubscriptionId,
    /// Its channel (from its topic and subject).
    pub kind: ChannelKind,
    /// The decoded message.
    pub message: ChannelMessage<'static>,
    /// The message as it came (topic, subject, raw `data`).
    pub raw: OwnedMessage,
}

/// What a pool of feeds reports, in order per connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PoolEvent<M: Market> {
    /// Something else one connection's feed reported (session, book, REST events).
    Feed {
        /// The connection.
        conn: ConnId,
        /// What happened.
        event: FeedEvent<M>,
    },
    /// A typed message of a subscription.
    Channel(ChannelEvent),
    /// A message a subscription accepted could not be decoded; the stream lives on.
    ChannelError {
        /// The connection it came on.
        conn: ConnId,
        /// The subscription that accepted it.
        subscription: SubscriptionId,
        /// The message as it came.
        raw: OwnedMessage,
        /// Why it was not decoded.
        error: ChannelError,
    },
    /// A message that no subscription accepts (a topic subscribed by hand, or one KuCoin sent
    /// unasked); handed out as it came.
    Unrouted {
        /// The connection it came on.
        conn: ConnId,
        /// The message.
        raw: OwnedMessage,
    },
}

type Accepts = Box<dyn Fn(&str, &str) -> bool + Send + Sync>;

struct Entry {
    topics: Vec<Topic>,
    accepts: Accepts,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("topics", &self.topics.len())
            .finish_non_exhaustive()
    }
}

/// Topic placement and typed routing for a feed over several connections. See the
/// [module docs](self).
#[derive(Debug)]
pub struct ChannelRouter {
    placement: Placement,
    subs: BTreeMap<SubscriptionId, Entry>,
    /// How many users (subscriptions, books) each placed topic has.
    uses: BTreeMap<String, usize>,
    by_topic: BTreeMap<String, Vec<SubscriptionId>>,
    next_id: u64,
}

/// A topic the adapter must subscribe (or unsubscribe) on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicOn {
    /// The topic.
    pub topic: Topic,
    /// Its connection.
    pub conn: ConnId,
    /// True when the connection is new (start its feed first).
    pub opened: bool,
    /// Whether the connection is private.
    pub private: bool,
}

impl ChannelRouter {
    /// A router placing up to `topics_per_connection` topics on each connection.
    #[must_use]
    pub fn new(topics_per_connection: usize) -> Self {
        Self {
            placement: Placement::new(topics_per_connection),
            subs: BTreeMap::new(),
            uses: BTreeMap::new(),
            by_topic: BTreeMap::new(),
            next_id: 0,
        }
    }

    /// The placement of topics on connections.
    #[must_use]
    pub fn placement(&self) -> &Placement {
        &self.placement
    }

    /// Subscribes a channel value; gives its handle and the topics to subscribe, each with its
    /// connection (topics another subscription already has are not repeated). The adapter
    /// subscribes each topic on its connection's feed, which joins topics of one prefix up to
    /// 100 a request.
    ///
    /// # Errors
    /// The channel's parameters cannot form a topic.
    pub fn subscribe<C>(
        &mut self,
        channel: C,
    ) -> Result<(Subscription<C>, Vec<TopicOn>), TopicError>
    where
        C: ChannelSpec + Clone + Send + Sync + 'static,
    {
        let mut topics = channel.topics()?;
        // A symbol given twice is one topic (and one message per message).
        let mut seen = BTreeSet::new();
        topics.retain(|t| seen.insert(t.to_string()));
        let id = SubscriptionId(self.next_id);
        self.next_id += 1;
        let mut wanted = Vec::new();
        for topic in &topics {
            if let Some(on) = self.use_topic(topic) {
                wanted.push(on);
            }
            self.by_topic.entry(topic.to_string()).or_default().push(id);
        }
        let accepting = channel.clone();
        self.subs.insert(
            id,
            Entry {
                topics,
                accepts: Box::new(move |topic, subject| accepting.accepts(topic, subject)),
            },
        );
        Ok((Subscription { id, channel }, wanted))
    }

    /// Ends a subscription; gives the topics no one uses any more, to unsubscribe on their
    /// connections (their slots are free again). Unknown ids give nothing.
    pub fn unsubscribe(&mut self, id: SubscriptionId) -> Vec<TopicOn> {
        let Some(entry) = self.subs.remove(&id) else {
            return Vec::new();
        };
        let mut freed = Vec::new();
        for topic in entry.topics {
            let key = topic.to_string();
            if let Some(ids) = self.by_topic.get_mut(&key) {
                ids.retain(|i| *i != id);
                if ids.is_empty() {
                    self.by_topic.remove(&key);
                }
            }
            if let Some(on) = self.release_topic(topic) {
                freed.push(on);
            }
        }
        freed
    }

    /// Places a book's topic (say `/market/level2:BTC-USDT`); `None` if it is placed already.
    pub fn add_topic(&mut self, topic: &Topic) -> Option<TopicOn> {
        self.use_topic(topic)
    }

    /// Releases a topic placed with [`ChannelRouter::add_topic`]; `Some` when its slot is free.
    pub fn remove_topic(&mut self, topic: Topic) -> Option<TopicOn> {
        self.release_topic(topic)
    }

    fn use_topic(&mut self, topic: &Topic) -> Option<TopicOn> {
        let count = self.uses.entry(topic.to_string()).or_insert(0);
        *count += 1;
        if *count > 1 {
            return None;
        }
        let placed = self.placement.place(topic);
        Some(TopicOn {
            topic: topic.clone(),
            conn: placed.conn,
            opened: placed.opened,
            private: placed.private,
        })
    }

    fn release_topic(&mut self, topic: Topic) -> Option<TopicOn> {
        let key = topic.to_string();
        let count = self.uses.get_mut(&key)?;
        *count -= 1;
        if *count > 0 {
            return None;
        }
        self.uses.remove(&key);
        let private = topic.is_private();
        self.placement.remove(&topic).map(|conn| TopicOn {
            topic,
            conn,
            opened: false,
            private,
        })
    }

    /// Turns what connection `conn`'s feed reported into pool events: a message goes to every
    /// subscription that accepts it (decoded once), others are passed on as they are.
    pub fn route<M: Market>(&self, conn: ConnId, event: FeedEvent<M>, out: &mut Vec<PoolEvent<M>>) {
        let FeedEvent::Message(raw) = event else {
            out.push(PoolEvent::Feed { conn, event });
            return;
        };
        let subject = raw.subject.as_deref().unwrap_or_default();
        let accepts = |id: &SubscriptionId| {
            self.subs
                .get(id)
                .is_some_and(|e| (e.accepts)(&raw.topic, subject))
        };
        let mut ids: Vec<SubscriptionId> = match self.by_topic.get(&raw.topic) {
            Some(ids) => ids.iter().copied().filter(accepts).collect(),
            None => Vec::new(),
        };
        if ids.is_empty() {
            // Channels whose messages name a topic of their own (futures all-orders and
            // all-positions: `/contractMarket/tradeOrders:XBTUSDTM`).
            ids = self.subs.keys().copied().filter(accepts).collect();
        }
        if ids.is_empty() {
            out.push(PoolEvent::Unrouted { conn, raw });
            return;
        }
        let decoded = channels::decode(&raw.topic, subject, &raw.data)
            .map(|d| (d.kind, d.message.into_owned()));
        for subscription in ids {
            out.push(match &decoded {
                Ok((kind, message)) => PoolEvent::Channel(ChannelEvent {
                    conn,
                    subscription,
                    kind: *kind,
                    message: message.clone(),
                    raw: raw.clone(),
                }),
                Err(error) => PoolEvent::ChannelError {
                    conn,
                    subscription,
                    raw: raw.clone(),
                    error: error.clone(),
                },
            });
        }
    }
}
