//! Helpers shared by the end-to-end tests of the adapters.
#![allow(dead_code)]

use kucoin_proto::book::OrderBook;
use kucoin_tests::TrueBook;

/// One side of a book as `(price, size)` text pairs, best first.
pub type Side = Vec<(String, String)>;

/// The client's book as `(price, size)` text pairs, best first, like [`TrueBook`].
pub fn levels(book: &OrderBook) -> (Side, Side) {
    let text = |l: kucoin_proto::book::Level| (l.price.to_string(), l.size.to_string());
    (
        book.bids().map(text).collect(),
        book.asks().map(text).collect(),
    )
}

/// Asserts the client's book equals the exchange's true book, level for level.
pub fn assert_same_book(book: &OrderBook, truth: &TrueBook) {
    assert_eq!(book.sequence(), truth.sequence, "sequence");
    let (bids, asks) = levels(book);
    assert_eq!(bids.len(), truth.bids.len(), "bid level count");
    assert_eq!(asks.len(), truth.asks.len(), "ask level count");
    assert_eq!(bids, truth.bids, "bids");
    assert_eq!(asks, truth.asks, "asks");
}
