//! Spreading topics over several sessions (KuCoin allows about 300 topics per connection).

use std::collections::BTreeMap;
use std::time::Instant;

use super::config::SessionConfig;
use super::frame::{FrameError, Message};
use super::rng::SplitMix64;
use super::session::Session;
use super::timer::Timer;
use super::topic::Topic;
use super::types::{
    BulletRequest, DisconnectCause, LifecycleError, SessionEvent, SessionState, SubscribeError,
    Transmit,
};
use crate::rest::ResponseError;

/// Several [`Session`]s behind one front: topics go to the first connection with room, and a
/// new connection is opened when all are full. Every output is tagged with the index of its
/// connection; pass that index back with the matching input.
///
/// `poll_timeout` is the minimum over the connections; `handle_timeout` fans out to all.
#[derive(Debug)]
pub struct SessionPool {
    config: SessionConfig,
    children: Vec<Session>,
    owner: BTreeMap<Topic, usize>,
    now: Instant,
    suspended: bool,
}

impl SessionPool {
    /// An empty pool; connections are created as topics arrive.
    #[must_use]
    pub fn new(config: SessionConfig, now: Instant) -> Self {
        Self {
            config,
            children: Vec::new(),
            owner: BTreeMap::new(),
            now,
            suspended: false,
        }
    }

    /// Number of connections (sessions).
    #[must_use]
    pub fn len(&self) -> usize {
        self.children.len()
    }

    /// True before the first topic.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// The session behind connection `index`.
    #[must_use]
    pub fn session(&self, index: usize) -> Option<&Session> {
        self.children.get(index)
    }

    /// The connection that carries `topic`, if it is wanted.
    #[must_use]
    pub fn connection_of(&self, topic: &Topic) -> Option<usize> {
        self.owner.get(topic).copied()
    }

    /// Adds `topic` to the first connection with room (opening a new one when all are full);
    /// returns the connection index.
    pub fn subscribe(&mut self, topic: Topic) -> Result<usize, SubscribeError> {
        if let Some(&i) = self.owner.get(&topic) {
            if let Some(s) = self.children.get_mut(i) {
                s.subscribe(topic)?;
            }
            return Ok(i);
        }
        if topic.is_private() && !self.config.private {
            return Err(SubscribeError::PrivateTopicOnPublicSession { topic });
        }
        let max = self.config.max_topics_per_connection;
        let found = self.children.iter().position(|s| {
            s.topic_count() < max
                && !matches!(
                    s.state(),
                    super::SessionState::Closing | super::SessionState::Closed
                )
        });
        let index = match found {
            Some(i) => i,
            None => {
                let i = self.children.len();
                let seed = SplitMix64::new(self.config.seed ^ (i as u64)).next_u64();
                let config = self.config.clone().with_seed(seed);
                let mut child = Session::new(config, self.now);
                if self.suspended {
                    // A connection opened while suspended waits for the resume like the others.
                    let _ = child.handle_suspend(self.now);
                }
                self.children.push(child);
                i
            }
        };
        let Some(child) = self.children.get_mut(index) else {
            return Err(SubscribeError::Closed);
        };
        child.subscribe(topic.clone())?;
        self.owner.insert(topic, index);
        Ok(index)
    }

    /// Removes `topic` from its connection; returns the connection index.
    pub fn unsubscribe(&mut self, topic: &Topic) -> Result<usize, SubscribeError> {
        let Some(&i) = self.owner.get(topic) else {
            return Err(SubscribeError::NotSubscribed {
                topic: topic.clone(),
            });
        };
        if let Some(s) = self.children.get_mut(i) {
            s.unsubscribe(topic)?;
        }
        self.owner.remove(topic);
        Ok(i)
    }

    /// Closes every connection.
    pub fn close(&mut self, now: Instant) {
        self.observe(now);
        for s in &mut self.children {
            s.close(now);
        }
    }

    /// [`Session::handle_suspend`] on every connection that is not closed: no socket, timer or
    /// request until [`SessionPool::handle_resume`]; connections opened meanwhile wait too.
    ///
    /// # Errors
    /// [`LifecycleError::AlreadySuspended`] when the pool is suspended.
    pub fn handle_suspend(&mut self, now: Instant) -> Result<(), LifecycleError> {
        if self.suspended {
            return Err(LifecycleError::AlreadySuspended);
        }
        self.observe(now);
        self.suspended = true;
        for s in &mut self.children {
            // A closing or closed connection has nothing to suspend.
            let _ = s.handle_suspend(now);
        }
        Ok(())
    }

    /// [`Session::handle_resume`] on every suspended connection: each fetches a fresh bullet.
    ///
    /// # Errors
    /// [`LifecycleError::NotSuspended`] unless the pool is suspended.
    pub fn handle_resume(&mut self, now: Instant) -> Result<(), LifecycleError> {
        if !self.suspended {
            return Err(LifecycleError::NotSuspended);
        }
        self.observe(now);
        self.suspended = false;
        for s in &mut self.children {
            if s.state() == SessionState::Suspended {
                let _ = s.handle_resume(now);
            }
        }
        Ok(())
    }

    /// [`Session::handle_network_change`] on every connection that is not closed.
    ///
    /// # Errors
    /// [`LifecycleError::Suspended`] while the pool is suspended.
    pub fn handle_network_change(&mut self, now: Instant) -> Result<(), LifecycleError> {
        if self.suspended {
            return Err(LifecycleError::Suspended);
        }
        self.observe(now);
        for s in &mut self.children {
            let _ = s.handle_network_change(now);
        }
        Ok(())
    }

    fn observe(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    /// [`Session::handle_bullet_response`] for connection `index` (an unknown index is ignored).
    pub fn handle_bullet_response(
        &mut self,
        index: usize,
        now: Instant,
        http_status: u16,
        body: &[u8],
    ) -> Result<(), ResponseError> {
        self.observe(now);
        match self.children.get_mut(index) {
            Some(s) => s.handle_bullet_response(now, http_status, body),
            None => Ok(()),
        }
    }

    /// [`Session::handle_bullet_failed`] for connection `index`.
    pub fn handle_bullet_failed(&mut self, index: usize, now: Instant, reason: String) {
        self.observe(now);
        if let Some(s) = self.children.get_mut(index) {
            s.handle_bullet_failed(now, reason);
        }
    }

    /// [`Session::handle_connected`] for connection `index`.
    pub fn handle_connected(&mut self, index: usize, now: Instant) {
        self.observe(now);
        if let Some(s) = self.children.get_mut(index) {
            s.handle_connected(now);
        }
    }

    /// [`Session::handle_connect_failed`] for connection `index`.
    pub fn handle_connect_failed(&mut self, index: usize, now: Instant, reason: String) {
        self.observe(now);
        if let Some(s) = self.children.get_mut(index) {
            s.handle_connect_failed(now, reason);
        }
    }

    /// [`Session::handle_frame`] for connection `index`.
    pub fn handle_frame<'a>(
        &mut self,
        index: usize,
        now: Instant,
        text: &'a str,
    ) -> Result<Option<Message<'a>>, FrameError> {
        self.observe(now);
        match self.children.get_mut(index) {
            Some(s) => s.handle_frame(now, text),
            None => Ok(None),
        }
    }

    /// [`Session::handle_disconnected`] for connection `index`.
    pub fn handle_disconnected(&mut self, index: usize, now: Instant, cause: DisconnectCause) {
        self.observe(now);
        if let Some(s) = self.children.get_mut(index) {
            s.handle_disconnected(now, cause);
        }
    }

    /// Fires due timers on every connection.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.now {
            return;
        }
        self.now = now;
        for s in &mut self.children {
            s.handle_timeout(now);
        }
    }

    /// A bullet to fetch, with its connection index.
    #[must_use]
    pub fn poll_fetch(&mut self) -> Option<(usize, BulletRequest)> {
        self.children
            .iter_mut()
            .enumerate()
            .find_map(|(i, s)| s.poll_fetch().map(|r| (i, r)))
    }

    /// A URL to open, with its connection index.
    #[must_use]
    pub fn poll_connect(&mut self) -> Option<(usize, url::Url)> {
        self.children
            .iter_mut()
            .enumerate()
            .find_map(|(i, s)| s.poll_connect().map(|u| (i, u)))
    }

    /// A frame to write, with its connection index.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<(usize, Transmit)> {
        self.children
            .iter_mut()
            .enumerate()
            .find_map(|(i, s)| s.poll_transmit().map(|t| (i, t)))
    }

    /// The earliest deadline over all connections: (deadline, connection index, timer).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<(Instant, usize, Timer)> {
        self.children
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.poll_timeout().map(|(at, t)| (at, i, t)))
            .min()
    }

    /// An event, with its connection index.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<(usize, SessionEvent)> {
        self.children
            .iter_mut()
            .enumerate()
            .find_map(|(i, s)| s.poll_event().map(|e| (i, e)))
    }
}
