//! The feed's books, keyed by topic, with the frame router of the hot path.
//!
//! A sorted `Vec` instead of a map: a feed follows a few books, iteration stays in topic order
//! (deterministic drain order), and the book that took the last frame is remembered by index, so
//! a steady stream of one topic is routed by one comparison with that book's frame prefix,
//! without a lookup. The methods mirror the `BTreeMap` ones the feed used.

use crate::book::BookSync;

use super::FeedMarket;

/// The books of a [`Feed`](super::Feed), in topic order.
#[derive(Debug)]
pub(super) struct Books<M: FeedMarket> {
    entries: Vec<(String, BookSync<M>)>,
    /// Index of the book that took the last routed frame.
    hot: usize,
}

/// Where a frame goes.
pub(super) enum Route<'a, M: FeedMarket> {
    /// The frame starts with the book's exact frame prefix (checked here, not again).
    Prefixed(&'a mut BookSync<M>),
    /// The frame's topic is the book's, in some other layout: the book decodes all of it.
    Topic(&'a mut BookSync<M>),
}

impl<M: FeedMarket> Books<M> {
    pub(super) fn new() -> Self {
        Books {
            entries: Vec::new(),
            hot: 0,
        }
    }

    fn index(&self, topic: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|(t, _)| t.as_str().cmp(topic))
    }

    pub(super) fn contains_key(&self, topic: &str) -> bool {
        self.index(topic).is_ok()
    }

    pub(super) fn get(&self, topic: &str) -> Option<&BookSync<M>> {
        let i = self.index(topic).ok()?;
        self.entries.get(i).map(|(_, b)| b)
    }

    pub(super) fn get_mut(&mut self, topic: &str) -> Option<&mut BookSync<M>> {
        let i = self.index(topic).ok()?;
        self.entries.get_mut(i).map(|(_, b)| b)
    }

    /// Adds or replaces the book of `topic`.
    pub(super) fn insert(&mut self, topic: String, book: BookSync<M>) -> Option<BookSync<M>> {
        match self.index(&topic) {
            Ok(i) => self
                .entries
                .get_mut(i)
                .map(|slot| std::mem::replace(&mut slot.1, book)),
            Err(i) => {
                self.entries.insert(i, (topic, book));
                None
            }
        }
    }

    pub(super) fn remove(&mut self, topic: &str) -> Option<BookSync<M>> {
        let i = self.index(topic).ok()?;
        // Indices move: the router finds its book again on the next frame.
        self.hot = 0;
        Some(self.entries.remove(i).1)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&String, &BookSync<M>)> {
        self.entries.iter().map(|(t, b)| (t, b))
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &BookSync<M>> {
        self.entries.iter().map(|(_, b)| b)
    }

    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut BookSync<M>> {
        self.entries.iter_mut().map(|(_, b)| b)
    }

    /// The book a message frame is for, when the frame starts the way KuCoin writes them
    /// (`{"type":"message","topic":"…`). The book of the previous frame is tried first, by its
    /// whole frame prefix; otherwise the topic is read and looked up.
    #[inline]
    pub(super) fn route(&mut self, text: &str) -> Option<Route<'_, M>> {
        let hot = self.hot;
        let hit = self
            .entries
            .get(hot)
            .is_some_and(|(_, b)| text.as_bytes().starts_with(b.frame_prefix()));
        if hit {
            return self.entries.get_mut(hot).map(|(_, b)| Route::Prefixed(b));
        }
        self.route_by_topic(text)
    }

    #[inline(never)]
    fn route_by_topic(&mut self, text: &str) -> Option<Route<'_, M>> {
        let i = self.index(fast_topic(text)?).ok()?;
        self.hot = i;
        let (_, book) = self.entries.get_mut(i)?;
        Some(if text.as_bytes().starts_with(book.frame_prefix()) {
            Route::Prefixed(book)
        } else {
            Route::Topic(book)
        })
    }
}

impl<'a, M: FeedMarket> IntoIterator for &'a mut Books<M> {
    type Item = (&'a String, &'a mut BookSync<M>);
    type IntoIter = std::iter::Map<
        std::slice::IterMut<'a, (String, BookSync<M>)>,
        fn(&'a mut (String, BookSync<M>)) -> (&'a String, &'a mut BookSync<M>),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter_mut().map(|(t, b)| (&*t, b))
    }
}

/// The topic of a message frame that starts the way KuCoin writes them.
///
/// A topic with an escape has a backslash in what is returned, so it matches no book and the
/// frame takes the general path.
pub(super) fn fast_topic(text: &str) -> Option<&str> {
    const PREFIX: &str = r#"{"type":"message","topic":""#;
    let rest = text.strip_prefix(PREFIX)?;
    rest.find('"').map(|end| &rest[..end])
}
