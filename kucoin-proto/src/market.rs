//! Markets (spot, futures) as types, and symbols that cannot be mixed up between them.

use std::fmt;
use std::marker::PhantomData;

/// A KuCoin market (REST host): spot, futures or broker. Spot and futures each have their own
/// REST host, bullet and topics; the broker host serves only broker REST operations.
pub trait Market: Copy + Default + fmt::Debug + Send + Sync + 'static {
    /// Human-readable name ("spot" or "futures").
    const NAME: &'static str;
    /// KuCoin's production REST base URL for this market.
    const DEFAULT_REST_BASE: &'static str;
}

/// The spot market (`api.kucoin.com`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Spot;

/// The futures market (`api-futures.kucoin.com`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Futures;

/// The broker host (`api-broker.kucoin.com`): broker REST operations only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Broker;

impl Market for Broker {
    const NAME: &'static str = "broker";
    const DEFAULT_REST_BASE: &'static str = "https://api-broker.kucoin.com";
}

impl Market for Spot {
    const NAME: &'static str = "spot";
    const DEFAULT_REST_BASE: &'static str = "https://api.kucoin.com";
}

impl Market for Futures {
    const NAME: &'static str = "futures";
    const DEFAULT_REST_BASE: &'static str = "https://api-futures.kucoin.com";
}

/// A trading symbol of market `M`, such as `BTC-USDT` (spot) or `XBTUSDTM` (futures).
///
/// A `Symbol<Spot>` cannot be passed where a `Symbol<Futures>` is expected. Cloning is cheap (the
/// name is held inline: a copy of a few words, no allocation and no shared counter), so events
/// can carry the symbol on the hot path.
pub struct Symbol<M: Market> {
    name: Name,
    _market: PhantomData<M>,
}

/// A validated symbol name (ASCII, at most [`MAX_SYMBOL_LEN`] bytes), stored inline.
#[derive(Clone, Copy)]
struct Name {
    len: u8,
    bytes: [u8; MAX_SYMBOL_LEN],
}

impl Name {
    /// `name` must have passed [`Symbol::validate`] (ASCII, 1 to `MAX_SYMBOL_LEN` bytes).
    fn new(name: &str) -> Self {
        let mut bytes = [0u8; MAX_SYMBOL_LEN];
        let len = name.len().min(MAX_SYMBOL_LEN);
        bytes[..len].copy_from_slice(&name.as_bytes()[..len]);
        Name {
            len: len as u8,
            bytes,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    fn as_str(&self) -> &str {
        // Validated ASCII: always UTF-8.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

/// A spot symbol such as `BTC-USDT`.
pub type SpotSymbol = Symbol<Spot>;
/// A futures contract symbol such as `XBTUSDTM`.
pub type FuturesSymbol = Symbol<Futures>;

/// Why a symbol was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SymbolError {
    /// The symbol is empty.
    #[error("symbol is empty: pass a name such as BTC-USDT (spot) or XBTUSDTM (futures)")]
    Empty,
    /// The symbol is longer than any KuCoin symbol.
    #[error("symbol is {len} bytes long, more than the {max} a KuCoin symbol can have")]
    TooLong {
        /// Length of the rejected symbol.
        len: usize,
        /// Maximum accepted length.
        max: usize,
    },
    /// The symbol has a character KuCoin symbols never have (and that would break a topic).
    #[error(
        "symbol has {ch:?}, which KuCoin symbols never contain (only A-Z, a-z, 0-9, '-', '_', '.')"
    )]
    BadChar {
        /// The offending character.
        ch: char,
    },
}

/// Longest symbol accepted.
pub const MAX_SYMBOL_LEN: usize = 40;

impl<M: Market> Symbol<M> {
    /// Validates and wraps a symbol name.
    pub fn new(name: impl Into<String>) -> Result<Self, SymbolError> {
        let name = name.into();
        Self::validate(&name)?;
        Ok(Self {
            name: Name::new(&name),
            _market: PhantomData,
        })
    }

    /// Checks that `name` could be a symbol of this market without building one.
    pub fn validate(name: &str) -> Result<(), SymbolError> {
        if name.is_empty() {
            return Err(SymbolError::Empty);
        }
        if name.len() > MAX_SYMBOL_LEN {
            return Err(SymbolError::TooLong {
                len: name.len(),
                max: MAX_SYMBOL_LEN,
            });
        }
        if let Some(ch) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(SymbolError::BadChar { ch });
        }
        Ok(())
    }

    /// The symbol's name as KuCoin spells it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.name.as_str()
    }
}

impl<M: Market> Clone for Symbol<M> {
    fn clone(&self) -> Self {
        Self {
            name: self.name,
            _market: PhantomData,
        }
    }
}

impl<M: Market> PartialEq for Symbol<M> {
    fn eq(&self, other: &Self) -> bool {
        self.name.as_bytes() == other.name.as_bytes()
    }
}
impl<M: Market> Eq for Symbol<M> {}
impl<M: Market> PartialOrd for Symbol<M> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<M: Market> Ord for Symbol<M> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name.as_bytes().cmp(other.name.as_bytes())
    }
}
impl<M: Market> std::hash::Hash for Symbol<M> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl<M: Market> fmt::Debug for Symbol<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", M::NAME, self.as_str())
    }
}

impl<M: Market> fmt::Display for Symbol<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<M: Market> std::str::FromStr for Symbol<M> {
    type Err = SymbolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl<M: Market> AsRef<str> for Symbol<M> {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_validate_characters_and_length() {
        assert!(SpotSymbol::new("BTC-USDT").is_ok());
        assert!(FuturesSymbol::new("XBTUSDTM").is_ok());
        assert_eq!(SpotSymbol::new(""), Err(SymbolError::Empty));
        assert_eq!(
            SpotSymbol::new("BTC,USDT"),
            Err(SymbolError::BadChar { ch: ',' })
        );
        assert!(matches!(
            SpotSymbol::new("A".repeat(41)),
            Err(SymbolError::TooLong { .. })
        ));
    }

    #[test]
    fn debug_names_the_market() {
        assert_eq!(
            format!("{:?}", SpotSymbol::new("BTC-USDT").unwrap()),
            "spot:BTC-USDT"
        );
        assert_eq!(
            format!("{:?}", FuturesSymbol::new("XBTUSDTM").unwrap()),
            "futures:XBTUSDTM"
        );
    }
}
