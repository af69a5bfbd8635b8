//! [`ChannelFeed`]: typed channels and books over as many connections as they need.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use kucoin_proto::Symbol;
use kucoin_proto::book::OrderBook;
use kucoin_proto::feed::{FeedError, FeedMarket};
use kucoin_proto::feed_pool::{
    ChannelRouter, ConnId, PoolEvent, Subscription, SubscriptionId, book_topic,
};
use kucoin_proto::ws::channels::ChannelSpec;

use crate::{BookFeed, Config, Error};

/// How long one connection is read before the next gets its turn, when it has nothing.
const SLICE: Duration = Duration::from_millis(1);

/// Most events taken from one connection in one turn.
const BURST: usize = 64;

/// A feed of typed channels and level-2 books over several WebSocket connections.
///
/// Topics are placed by a [`ChannelRouter`]: up to the session's
/// [`max_topics_per_connection`](kucoin_proto::ws::SessionConfig::max_topics_per_connection)
/// (300 by default) on each connection, private channels on a private connection of their own
/// (the [`Config`] needs credentials then). Each connection is a [`BookFeed`] with its own
/// bullet, pings, reconnects and resubscription; one closing leaves the others running. The
/// connections are served in turn on the calling thread.
///
/// ```
/// use std::time::{Duration, Instant};
/// use kucoin_blocking::{ChannelFeed, Config};
/// use kucoin_blocking::proto::feed_pool::PoolEvent;
/// use kucoin_blocking::proto::ws::channels::SpotTickerChannel;
/// use kucoin_blocking::proto::{Spot, SpotSymbol};
/// # let fake = kucoin_tests::FakeKucoin::start(kucoin_tests::FakeConfig::spot()).unwrap();
/// # let rest_url = fake.rest_url();
/// let mut feed = ChannelFeed::new(Config::<Spot>::new().rest_url(&rest_url)?);
/// let tickers = feed.subscribe(SpotTickerChannel {
///     symbols: vec![SpotSymbol::new("BTC-USDT")?, SpotSymbol::new("ETH-USDT")?],
/// })?;
/// let give_up = Instant::now() + Duration::from_secs(20);
/// while let Some(event) = feed.next_event_until(give_up) {
///     if let PoolEvent::Channel(message) = &event
///         && let Some(ticker) = tickers.message(message)
///     {
///         println!("{}: best bid {:?}", message.raw.topic, ticker?.best_bid);
///         break;
///     }
/// }
/// feed.close();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ChannelFeed<M: FeedMarket> {
    config: Config<M>,
    router: ChannelRouter,
    conns: Vec<BookFeed<M>>,
    queue: VecDeque<PoolEvent<M>>,
    turn: usize,
}

impl<M: FeedMarket + Clone> ChannelFeed<M> {
    /// A feed with no connection yet; the first topic opens one.
    #[must_use]
    pub fn new(config: Config<M>) -> Self {
        let per_conn = config.feed_config().session.max_topics_per_connection;
        Self {
            config,
            router: ChannelRouter::new(per_conn),
            conns: Vec::new(),
            queue: VecDeque::new(),
            turn: 0,
        }
    }

    /// Subscribes a channel value (every symbol of it); its messages come as
    /// [`PoolEvent::Channel`], typed by [`Subscription::message`].
    ///
    /// # Errors
    /// The channel cannot form topics, or a private channel without credentials in the
    /// [`Config`] (nothing is subscribed then).
    pub fn subscribe<C>(&mut self, channel: C) -> Result<Subscription<C>, Error>
    where
        C: ChannelSpec + Clone + Send + Sync + 'static,
    {
        let (subscription, wanted) = self
            .router
            .subscribe(channel)
            .map_err(|e| Error::Feed(e.into()))?;
        for on in wanted {
            if let Err(e) = self
                .ensure(on.conn)
                .and_then(|feed| feed.subscribe(on.topic))
            {
                for freed in self.router.unsubscribe(subscription.id()) {
                    if let Some(feed) = self.conns.get_mut(freed.conn.0) {
                        let _ = feed.unsubscribe(&freed.topic);
                    }
                }
                return Err(e);
            }
        }
        Ok(subscription)
    }

    /// Ends a subscription: topics no other subscription uses are unsubscribed.
    ///
    /// # Errors
    /// A connection refused the unsubscription (it is closed).
    pub fn unsubscribe(&mut self, id: SubscriptionId) -> Result<(), Error> {
        for freed in self.router.unsubscribe(id) {
            if let Some(feed) = self.conns.get_mut(freed.conn.0) {
                feed.unsubscribe(&freed.topic)?;
            }
        }
        Ok(())
    }

    /// Follows the level-2 book of `symbol` on a public connection with room (or on the
    /// connection that already carries its topic); gives the connection.
    ///
    /// # Errors
    /// The book is followed already, or its connection could not be started.
    pub fn add_book(&mut self, symbol: Symbol<M>) -> Result<ConnId, Error> {
        if self
            .conns
            .iter()
            .any(|c| c.feed().book_sync(&symbol).is_some())
        {
            return Err(Error::Feed(FeedError::DuplicateBook(symbol.to_string())));
        }
        let topic = book_topic(&symbol).map_err(|e| Error::Feed(e.into()))?;
        let conn = match self.router.add_topic(&topic) {
            Some(on) => on.conn,
            // A channel subscription placed the topic already: the book joins it there.
            None => self
                .router
                .placement()
                .connection_of(&topic.to_string())
                .unwrap_or(ConnId(0)),
        };
        let added = self.ensure(conn).and_then(|feed| feed.add_book(symbol));
        if let Err(e) = added {
            let _ = self.router.remove_topic(topic);
            return Err(e);
        }
        Ok(conn)
    }

    /// Stops following the book of `symbol`; its slot is free again (unless a channel
    /// subscription uses the topic too: then the topic stays subscribed for it).
    ///
    /// # Errors
    /// The book is not followed.
    pub fn remove_book(&mut self, symbol: &Symbol<M>) -> Result<(), Error> {
        let Some(feed) = self
            .conns
            .iter_mut()
            .find(|c| c.feed().book_sync(symbol).is_some())
        else {
            return Err(Error::Feed(FeedError::UnknownBook(symbol.to_string())));
        };
        feed.remove_book(symbol)?;
        let topic = book_topic(symbol).map_err(|e| Error::Feed(e.into()))?;
        if self.router.remove_topic(topic.clone()).is_none() {
            // Still used by a channel subscription: keep its messages flowing.
            feed.subscribe(topic)?;
        }
        Ok(())
    }

    /// The synced book of `symbol`, or `None` while it is not known to be in step.
    #[must_use]
    pub fn book(&self, symbol: &Symbol<M>) -> Option<&OrderBook> {
        self.conns.iter().find_map(|c| c.book(symbol))
    }

    /// Connections opened so far.
    #[must_use]
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// The state and last failure of every connection, in connection order.
    pub fn statuses(&self) -> impl Iterator<Item = kucoin_proto::feed::FeedStatus> + '_ {
        self.conns.iter().map(BookFeed::status)
    }

    /// The feed behind connection `conn` (its session, stats, books).
    #[must_use]
    pub fn connection(&self, conn: ConnId) -> Option<&BookFeed<M>> {
        self.conns.get(conn.0)
    }

    /// The placement and the subscriptions.
    #[must_use]
    pub fn router(&self) -> &ChannelRouter {
        &self.router
    }

    /// Runs until the next event; `None` once every connection has closed.
    pub fn next_event(&mut self) -> Option<PoolEvent<M>> {
        self.next_event_until(Instant::now() + Duration::from_secs(u64::from(u32::MAX)))
    }

    /// Runs until the next event or `give_up`, whichever comes first; `None` then, or when
    /// every connection has closed (or none was opened).
    pub fn next_event_until(&mut self, give_up: Instant) -> Option<PoolEvent<M>> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            if self.conns.iter().all(BookFeed::is_ended) || Instant::now() >= give_up {
                return None;
            }
            // One round: each live connection in turn, a short read each, until one has an
            // event (the next round starts after it, so no connection starves another).
            let n = self.conns.len();
            for k in 0..n {
                let i = (self.turn + k) % n;
                let Some(feed) = self.conns.get_mut(i) else {
                    continue;
                };
                if feed.is_ended() {
                    continue;
                }
                let until = (Instant::now() + SLICE).min(give_up);
                if let Some(event) = feed.next_event_until(until) {
                    self.turn = (i + 1) % n;
                    let mut out = Vec::with_capacity(1);
                    self.router.route(ConnId(i), event, &mut out);
                    // Take what this connection has queued already (no I/O: `give_up` is
                    // now), so a burst (300 acks after a reconnect) is not spread over rounds.
                    for _ in 1..BURST {
                        match feed.next_event_until(Instant::now()) {
                            Some(event) => self.router.route(ConnId(i), event, &mut out),
                            None => break,
                        }
                    }
                    self.queue.extend(out);
                    break;
                }
            }
        }
    }

    /// The app goes to the background: every connection is closed gracefully and waits for
    /// [`ChannelFeed::resume`] (no socket, timer or request meanwhile; books read `None`).
    ///
    /// # Errors
    /// A connection was suspended or closed already (the others are suspended anyway).
    pub fn suspend(&mut self) -> Result<(), Error> {
        let mut result = Ok(());
        for feed in &mut self.conns {
            if let Err(e) = feed.suspend() {
                result = Err(e);
            }
        }
        result
    }

    /// The app is back: every connection starts over with a fresh bullet, resubscribes its
    /// topics and resyncs its books.
    ///
    /// # Errors
    /// A connection was not suspended (the others are resumed anyway).
    pub fn resume(&mut self) -> Result<(), Error> {
        let mut result = Ok(());
        for feed in &mut self.conns {
            if let Err(e) = feed.resume() {
                result = Err(e);
            }
        }
        result
    }

    /// The OS reports a network change: every connection reconnects at once.
    ///
    /// # Errors
    /// A connection is suspended or closed (the others reconnect anyway).
    pub fn network_changed(&mut self) -> Result<(), Error> {
        let mut result = Ok(());
        for feed in &mut self.conns {
            if let Err(e) = feed.network_changed() {
                result = Err(e);
            }
        }
        result
    }

    /// Closes every connection gracefully.
    pub fn close(&mut self) {
        for feed in &mut self.conns {
            feed.close();
        }
        self.queue.clear();
    }

    /// The feed of connection `conn`, started if it is new.
    fn ensure(&mut self, conn: ConnId) -> Result<&mut BookFeed<M>, Error> {
        while self.conns.len() <= conn.0 {
            let index = self.conns.len();
            let private = self.router.placement().is_private(ConnId(index));
            let base = self.config.feed_config().session.clone();
            let mut session = base.clone().with_seed(base.seed ^ (index as u64 + 1));
            session.private = private;
            let feed = BookFeed::new(self.config.clone().session(session))?;
            self.conns.push(feed);
        }
        self.conns
            .get_mut(conn.0)
            .ok_or(Error::Feed(FeedError::UnknownBook(conn.to_string())))
    }
}

impl<M: FeedMarket + Clone> Iterator for ChannelFeed<M> {
    type Item = PoolEvent<M>;

    /// [`ChannelFeed::next_event`]: `None` once every connection has closed.
    fn next(&mut self) -> Option<PoolEvent<M>> {
        self.next_event()
    }
}
