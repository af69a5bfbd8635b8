//! Topics: a prefix such as `/market/level2`, an optional subject such as `BTC-USDT`, and
//! whether the channel is private.

use std::fmt;

/// A KuCoin WebSocket topic: `prefix` plus optional `:subject`, and a private flag.
///
/// Topics with a subject and the same prefix are joined into one request
/// (`/market/level2:BTC-USDT,ETH-USDT`). Topics without a subject (`/market/ticker:all`,
/// `/account/balance`) are sent as they are. Ordering (prefix, private flag, subject) is the
/// order in which topics are (re)subscribed.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Topic {
    prefix: String,
    private: bool,
    subject: Option<String>,
}

/// Why a topic was rejected when built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopicError {
    /// The prefix does not start with `/` or is empty.
    #[error("topic prefix {0:?} must start with '/', like \"/market/level2\"")]
    BadPrefix(String),
    /// The prefix has a `:` although a subject is given separately.
    #[error(
        "topic prefix {0:?} already contains ':': pass the part after ':' as the subject, or use Topic::whole"
    )]
    PrefixHasColon(String),
    /// The subject is empty or has a character that would break the joined topic string.
    #[error(
        "topic subject {0:?} is empty or contains one of , : \" \\ or whitespace; pass one symbol such as BTC-USDT"
    )]
    BadSubject(String),
    /// A character that is never part of a KuCoin topic.
    #[error("topic {0:?} contains a quote, backslash, comma or whitespace")]
    BadChar(String),
}

fn bad_char(c: char) -> bool {
    c == '"' || c == '\\' || c == ',' || c.is_whitespace() || c.is_control()
}

impl Topic {
    /// A topic with a subject: `Topic::new("/market/level2", "BTC-USDT")` is `/market/level2:BTC-USDT`.
    pub fn new(prefix: impl Into<String>, subject: impl Into<String>) -> Result<Self, TopicError> {
        let prefix = prefix.into();
        let subject = subject.into();
        check_prefix(&prefix)?;
        if prefix.contains(':') {
            return Err(TopicError::PrefixHasColon(prefix));
        }
        if subject.is_empty() || subject.contains(':') || subject.chars().any(bad_char) {
            return Err(TopicError::BadSubject(subject));
        }
        Ok(Self {
            prefix,
            private: false,
            subject: Some(subject),
        })
    }

    /// A topic sent as is, never joined with others: `/market/ticker:all`, `/account/balance`.
    pub fn whole(topic: impl Into<String>) -> Result<Self, TopicError> {
        let prefix = topic.into();
        check_prefix(&prefix)?;
        Ok(Self {
            prefix,
            private: false,
            subject: None,
        })
    }

    /// Parses `prefix:subject` (one subject) or a whole topic without `:`.
    ///
    /// `/market/ticker:all` parses as prefix `/market/ticker`, subject `all`; use
    /// [`Topic::whole`] if the topic must never be joined with others.
    pub fn parse(text: &str) -> Result<Self, TopicError> {
        match text.split_once(':') {
            Some((prefix, subject)) => Self::new(prefix, subject),
            None => Self::whole(text),
        }
    }

    /// Marks the topic as a private channel (`"privateChannel": true`); it needs a private session.
    #[must_use]
    pub fn private(mut self) -> Self {
        self.private = true;
        self
    }

    /// The prefix, such as `/market/level2`.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The subject, such as `BTC-USDT`, if any.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// True for a private channel.
    #[must_use]
    pub fn is_private(&self) -> bool {
        self.private
    }

    /// True when `self` and `other` can go into one joined request.
    pub(crate) fn joins_with(&self, other: &Topic) -> bool {
        self.subject.is_some()
            && other.subject.is_some()
            && self.prefix == other.prefix
            && self.private == other.private
    }
}

fn check_prefix(prefix: &str) -> Result<(), TopicError> {
    if !prefix.starts_with('/') || prefix.len() < 2 {
        return Err(TopicError::BadPrefix(prefix.to_owned()));
    }
    if prefix.chars().any(bad_char) {
        return Err(TopicError::BadChar(prefix.to_owned()));
    }
    Ok(())
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let private = if self.private { ", private" } else { "" };
        write!(f, "Topic({self}{private})")
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.subject {
            Some(s) => write!(f, "{}:{}", self.prefix, s),
            None => f.write_str(&self.prefix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_displays_as_kucoin_writes_it() {
        let t = Topic::new("/market/level2", "BTC-USDT").unwrap();
        assert_eq!(t.to_string(), "/market/level2:BTC-USDT");
        assert_eq!(Topic::parse("/market/level2:BTC-USDT").unwrap(), t);
        let w = Topic::whole("/account/balance").unwrap().private();
        assert_eq!(w.to_string(), "/account/balance");
        assert!(w.is_private());
        assert_eq!(format!("{w:?}"), "Topic(/account/balance, private)");
        assert_eq!(format!("{t:?}"), "Topic(/market/level2:BTC-USDT)");
    }

    #[test]
    fn topic_rejects_text_that_would_break_a_joined_request() {
        assert!(matches!(
            Topic::new("/market/level2", "A,B"),
            Err(TopicError::BadSubject(_))
        ));
        assert!(matches!(
            Topic::new("market", "A"),
            Err(TopicError::BadPrefix(_))
        ));
        assert!(matches!(
            Topic::new("/market/ticker:all", "A"),
            Err(TopicError::PrefixHasColon(_))
        ));
        assert!(matches!(Topic::whole("/a\"b"), Err(TopicError::BadChar(_))));
    }
}
