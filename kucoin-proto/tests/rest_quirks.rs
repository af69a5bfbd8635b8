//! KuCoin's real answers differ from its specification; the generated types meet each quirk.
#![cfg(all(feature = "spot", feature = "futures"))]

use kucoin_proto::http::{HeaderMap, StatusCode};
use kucoin_proto::num::Dec;
use kucoin_proto::rest::api::futures::{fundingfees, market as fmarket, positions};
use kucoin_proto::rest::api::spot::market as smarket;
use kucoin_proto::rest::operation::Ack;
use kucoin_proto::rest::{Endpoint, parse_response};

fn parse<E: Endpoint>(data: &str) -> E::Response {
    let body = format!(r#"{{"code":"200000","data":{data}}}"#);
    parse_response::<E>(StatusCode::OK, &HeaderMap::new(), body.as_bytes())
        .result
        .unwrap_or_else(|e| panic!("{data}: {e}"))
}

fn dec(s: &str) -> Option<Dec> {
    Some(Dec::parse(s).unwrap())
}

#[test]
fn prices_and_sizes_as_strings_on_spot_and_numbers_on_futures() {
    let spot = parse::<smarket::GetTicker>(
        r#"{"time":1729172965609,"sequence":"14609309753","price":"67269","size":"0.000025",
            "bestBid":"67267.5","bestBidSize":"0.000025","bestAsk":"67267.6","bestAskSize":"1.24808993"}"#,
    );
    assert_eq!(spot.price, dec("67269"));
    assert_eq!(spot.best_ask, dec("67267.6"));
    let futures = parse::<fmarket::GetTicker>(
        r#"{"sequence":1697895100310,"symbol":"XBTUSDTM","side":"sell","size":2,
            "price":66964.8,"bestBidSize":1195,"bestBidPrice":"66964.8","bestAskPrice":"66964.9",
            "tradeId":"1606694012","ts":1729176273859123456}"#,
    );
    assert_eq!(futures.price, dec("66964.8"));
    assert_eq!(futures.best_bid_price, dec("66964.8"));
    assert_eq!(futures.size, dec("2"));
}

#[test]
fn nanosecond_timestamps_above_2_pow_53_stay_exact() {
    let t =
        parse::<fmarket::GetTicker>(r#"{"ts":1729176273859123457,"sequence":"9007199254740993"}"#);
    assert_eq!(t.ts, Some(1_729_176_273_859_123_457));
    assert_eq!(t.sequence, Some(9_007_199_254_740_993));
}

#[test]
fn exponents_negatives_and_long_fractions_are_exact() {
    let r = parse::<fundingfees::GetCurrentFundingRate>(
        r#"{"symbol":".XBTUSDTMFPI8H","granularity":28800000,"timePoint":1731441600000,
            "value":2.4985e-5,"predictedValue":"0e-8","fundingRateCap":0.003,"fundingRateFloor":-0.003}"#,
    );
    assert_eq!(r.value.unwrap().to_string(), "0.000024985");
    assert_eq!(r.predicted_value, dec("0"));
    assert_eq!(r.funding_rate_floor, dec("-0.003"));
    let p = parse::<positions::GetPositionDetails>(
        r#"{"symbol":"XBTUSDTM","unrealisedPnl":-12.5,"realisedPnl":"1.88488874999999999969",
            "currentQty":-3,"isOpen":"true","autoDeposit":0,"crossMode":null}"#,
    );
    assert_eq!(p.unrealised_pnl, dec("-12.5"));
    assert_eq!(
        p.realised_pnl.unwrap().to_string(),
        "1.88488874999999999969"
    );
    assert_eq!(p.current_qty, dec("-3"));
    assert_eq!(
        (p.is_open, p.auto_deposit, p.cross_mode),
        (Some(true), Some(false), None)
    );
}

#[test]
fn null_empty_and_absent_fields_are_none() {
    let t = parse::<smarket::GetTicker>(
        r#"{"time":1729172965609,"sequence":null,"price":"","size":null,"bestBid":""}"#,
    );
    assert_eq!(
        (t.sequence, t.price, t.size, t.best_bid),
        (None, None, None, None)
    );
    assert_eq!(t.best_ask, None);
}

#[test]
fn strings_sent_as_numbers_keep_their_text() {
    let t = parse::<fmarket::GetTicker>(r#"{"tradeId":1606694012,"symbol":"XBTUSDTM"}"#);
    assert_eq!(t.trade_id.as_deref(), Some("1606694012"));
}

#[test]
fn closed_value_sets_keep_values_kucoin_adds() {
    use kucoin_proto::rest::api::futures::market::Side;
    let t = parse::<fmarket::GetTicker>(r#"{"side":"sell"}"#);
    assert_eq!(t.side, Some(Side::Sell));
    let t = parse::<fmarket::GetTicker>(r#"{"side":"both"}"#);
    assert_eq!(t.side, Some(Side::Unknown("both".into())));
    assert_eq!(t.side.unwrap().as_str(), "both");
}

#[test]
fn data_that_is_true_a_number_or_null() {
    type Leverage = positions::ModifyMarginLeverage;
    assert_eq!(parse::<Leverage>("true"), Ack::Bool(true));
    assert_eq!(parse::<Leverage>("1"), Ack::Number(Dec::from(1i64)));
    assert_eq!(parse::<Leverage>("null"), Ack::Null);
    assert!(parse::<Leverage>("true").is_ok() && !parse::<Leverage>("false").is_ok());
    let absent =
        parse_response::<Leverage>(StatusCode::OK, &HeaderMap::new(), br#"{"code":"200000"}"#);
    assert_eq!(absent.result.unwrap(), Ack::Null);
}

#[test]
fn a_value_that_is_not_a_decimal_is_an_error_not_a_guess() {
    let body = br#"{"code":"200000","data":{"price":"12,5"}}"#;
    let r = parse_response::<smarket::GetTicker>(StatusCode::OK, &HeaderMap::new(), body);
    assert!(r.result.is_err());
}
