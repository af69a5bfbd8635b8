//! A blocking-adapter client that records its events, for the end-to-end tests.

use std::time::{Duration, Instant};

use kucoin_blocking::proto::Symbol;
use kucoin_blocking::proto::feed::{FeedEvent, FeedMarket};
use kucoin_blocking::{BookFeed, Config};
use kucoin_tests::FakeHandle;

use super::Timed;

/// A [`BookFeed`] following one book, with every event it gave and when.
pub struct Client<M: FeedMarket> {
    /// The feed under test.
    pub feed: BookFeed<M>,
    /// The book it follows.
    pub symbol: Symbol<M>,
    /// Every event so far, in order.
    pub log: Vec<Timed<M>>,
}

impl<M: FeedMarket> Client<M> {
    /// A feed from `config` following `symbol`.
    pub fn new(config: Config<M>, symbol: Symbol<M>) -> Self {
        let mut feed = BookFeed::new(config).expect("feed");
        feed.add_book(symbol.clone()).expect("add_book");
        Self {
            feed,
            symbol,
            log: Vec::new(),
        }
    }

    /// Runs until `done` holds for an event (true), the feed ends or `limit` passes (false).
    pub fn run_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&BookFeed<M>, &FeedEvent<M>) -> bool,
    ) -> bool {
        let give_up = Instant::now() + limit;
        while let Some(event) = self.feed.next_event_until(give_up) {
            let at = Instant::now();
            let hit = done(&self.feed, &event);
            self.log.push(Timed { at, event });
            if hit {
                return true;
            }
        }
        false
    }

    /// Runs for `d`, recording events.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(d, |_, _| false);
    }

    /// Runs until the book is in step, within `limit`.
    pub fn synced(&mut self, limit: Duration) -> bool {
        let symbol = self.symbol.clone();
        self.feed.book(&symbol).is_some() || self.run_until(limit, |f, _| f.book(&symbol).is_some())
    }

    /// Freezes the exchange, lets the client reach the true sequence, and compares the books
    /// level for level.
    pub fn converge_and_compare(&mut self, fake: &FakeHandle) {
        fake.pause_updates();
        let truth = fake.true_book(self.symbol.as_str()).expect("listed");
        let give_up = Instant::now() + Duration::from_secs(15);
        let symbol = self.symbol.clone();
        let at_truth =
            |f: &BookFeed<M>| f.book(&symbol).map(|b| b.sequence()) == Some(truth.sequence);
        while !at_truth(&self.feed) {
            assert!(
                Instant::now() < give_up,
                "client did not reach sequence {} (at {:?}, book state {:?}, session {:?})",
                truth.sequence,
                self.feed.book(&symbol).map(|b| b.sequence()),
                self.feed.feed().book_sync(&symbol).map(|b| b.state()),
                self.feed.feed().session().state(),
            );
            self.run_until(Duration::from_millis(20), |f, _| at_truth(f));
        }
        super::assert_same_book(self.feed.book(&symbol).expect("synced"), &truth);
    }

    /// Closes the feed.
    pub fn close(mut self) {
        self.feed.close();
    }
}
