//! Typed channels on a live session: their topics are batched 100 to a request, private ones go
//! out flagged private, and a message of the wrong shape is a typed error while the stream goes on.

mod common;

use common::{Behavior, Driver, exact_config, secs};
use kucoin_proto::SpotSymbol;
use kucoin_proto::ws::SessionState;
use kucoin_proto::ws::channels::{
    self, ChannelError, ChannelKind, ChannelMessage, ChannelSpec, SpotBalanceChannel,
    SpotOrdersV2Channel, SpotTickerChannel,
};

fn ticker_channel(n: usize) -> SpotTickerChannel {
    SpotTickerChannel {
        symbols: (0..n)
            .map(|i| SpotSymbol::new(format!("S{i:03}-USDT")).unwrap())
            .collect(),
    }
}

#[test]
fn a_typed_channel_over_250_symbols_is_subscribed_in_requests_of_100() {
    let mut d = Driver::new(exact_config());
    for topic in ticker_channel(250).topics().unwrap() {
        d.session.subscribe(topic).unwrap();
    }
    d.run_until(secs(2));
    let sizes: Vec<usize> = d
        .server
        .subscribe_topics
        .iter()
        .map(|t| {
            t.strip_prefix("/market/ticker:")
                .expect("ticker topic")
                .split(',')
                .count()
        })
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    assert!(d.server.subscribe_topics[0].starts_with("/market/ticker:S000-USDT,S001-USDT,"));
    assert!(d.server.private_flags.iter().all(|p| !p));
}

#[test]
fn private_channels_go_out_flagged_private_on_a_private_session() {
    let mut d = Driver::new(
        kucoin_proto::ws::SessionConfig::private()
            .with_seed(1)
            .with_backoff(exact_config().backoff),
    );
    for topic in SpotOrdersV2Channel
        .topics()
        .unwrap()
        .into_iter()
        .chain(SpotBalanceChannel.topics().unwrap())
    {
        assert!(topic.is_private());
        d.session.subscribe(topic).unwrap();
    }
    d.run_until(secs(2));
    let mut topics = d.server.subscribe_topics.clone();
    topics.sort();
    assert_eq!(topics, ["/account/balance", "/spotMarket/tradeOrdersV2"]);
    assert!(d.server.private_flags.iter().all(|p| *p));
    // A private channel on a public session is refused before anything is sent.
    let mut public = Driver::new(exact_config());
    let topic = SpotOrdersV2Channel.topics().unwrap().remove(0);
    assert!(public.session.subscribe(topic).is_err());
}

#[test]
fn a_message_of_the_wrong_shape_is_a_typed_error_and_the_stream_goes_on() {
    // The fake answers each subscription with a message whose data lacks the ticker's fields.
    let mut d = Driver::with_behavior(
        exact_config(),
        Behavior {
            message_after_ack: true,
            ..Behavior::default()
        },
    );
    let channel = ticker_channel(2);
    for topic in channel.topics().unwrap() {
        d.session.subscribe(topic).unwrap();
    }
    d.run_until(secs(2));
    assert_eq!(d.messages.len(), 2);
    for (topic, data) in &d.messages {
        assert!(channel.accepts(topic, "trade.ticker"));
        match channels::decode(topic, "trade.ticker", data) {
            Err(ChannelError::Shape { kind, detail }) => {
                assert_eq!(kind, ChannelKind::SpotTicker);
                assert!(detail.contains("time"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }
    // The session lives on and the next, well-formed message decodes.
    let now = d.now;
    d.server.send(
        now,
        r#"{"type":"message","topic":"/market/ticker:S001-USDT","subject":"trade.ticker","data":{"sequence":"7","price":"1.5","size":"2","bestAsk":"1.6","bestAskSize":"1","bestBid":"1.4","bestBidSize":"3","time":1704873323416}}"#
            .into(),
    );
    d.run_until(secs(3));
    assert_eq!(d.session.state(), SessionState::Live);
    let (topic, data) = d.messages.last().unwrap();
    assert_eq!(topic, "/market/ticker:S001-USDT");
    let decoded = channels::decode(topic, "trade.ticker", data).unwrap();
    let ChannelMessage::SpotTicker(t) = decoded.message else {
        panic!("{decoded:?}")
    };
    assert_eq!(t.sequence, Some(7));
    assert_eq!(t.best_bid.unwrap().to_string(), "1.4");
    // A message of another topic is not this subscription's.
    assert!(!channel.accepts("/market/ticker:S002-USDT", "trade.ticker"));
}
