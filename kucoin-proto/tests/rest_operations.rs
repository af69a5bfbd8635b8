//! Generated operations as requests: signing covers exactly the bytes sent, the operation
//! table, erased answers, and paging (by page number and by `lastId` cursor).
#![cfg(all(feature = "spot", feature = "account"))]

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use kucoin_proto::auth::{Credentials, Signer};
use kucoin_proto::http::{HeaderMap, StatusCode};
use kucoin_proto::num::Dec;
use kucoin_proto::rest::api::account::account::{GetSpotHfLedger, GetSpotLedger};
use kucoin_proto::rest::api::account::fee::GetSpotActualFee;
use kucoin_proto::rest::api::spot::order::{AddOrder, GetTradeHistory, Side, Type};
use kucoin_proto::rest::operation::{
    CursorPages, Host, Operation, Pages, Pool, operation, operations, parse_answer,
};
use kucoin_proto::rest::{Access, RestClient, parse_response};
use kucoin_proto::{Spot, UnixMillis};

const SECRET: &str = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3";

fn client() -> RestClient<Spot> {
    RestClient::<Spot>::new()
        .with_signer(Signer::new(Credentials::new("key", SECRET, "passphrase")).unwrap())
}

fn sign(prehash: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(prehash);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn a_post_with_a_body_is_signed_over_the_body_it_sends() {
    let order = AddOrder::new(Side::Buy, "BTC-USDT", Type::Limit)
        .price(Dec::parse("50000.5").unwrap())
        .size(Dec::parse("0.00001").unwrap())
        .client_oid("5c52e11203aa677f33e493fb");
    let req = client()
        .request(&order, UnixMillis(1_700_000_000_000))
        .unwrap();
    assert_eq!(req.method(), "POST");
    assert_eq!(req.uri(), "https://api.kucoin.com/api/v1/hf/orders");
    let body = req.body().clone();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"clientOid":"5c52e11203aa677f33e493fb","price":"50000.5",
            "side":"buy","size":"0.00001","symbol":"BTC-USDT","type":"limit"})
    );
    let mut prehash = b"1700000000000POST/api/v1/hf/orders".to_vec();
    prehash.extend_from_slice(&body);
    assert_eq!(req.headers()["KC-API-SIGN"], sign(&prehash).as_str());
}

#[test]
fn a_get_with_an_escaped_query_is_signed_over_the_decoded_query_it_sends() {
    let fee = GetSpotActualFee::new("BTC-USDT,ETH-USDT");
    let req = client()
        .request(&fee, UnixMillis(1_700_000_000_000))
        .unwrap();
    let uri = req.uri().to_string();
    assert_eq!(
        uri,
        "https://api.kucoin.com/api/v1/trade-fees?symbols=BTC-USDT%2CETH-USDT"
    );
    let sent = percent_decode(req.uri().path_and_query().unwrap().as_str());
    assert_eq!(sent, "/api/v1/trade-fees?symbols=BTC-USDT,ETH-USDT");
    assert!(req.body().is_empty());
    let prehash = format!("1700000000000GET{sent}");
    assert_eq!(
        req.headers()["KC-API-SIGN"],
        sign(prehash.as_bytes()).as_str()
    );
}

#[test]
fn the_operation_table_holds_the_spec_facts() {
    let info = AddOrder::INFO;
    assert_eq!(info.id, "spot.order.addOrder");
    assert_eq!((info.method, info.path), ("POST", "/api/v1/hf/orders"));
    assert_eq!(
        (info.host, info.access, info.pool),
        (Host::Spot, Access::Private, Pool::Spot)
    );
    assert_eq!(
        (info.permission, info.weight, info.body),
        (Some("Spot"), Some(1), true)
    );
    let ledger = operation("account.account.getSpotLedger").unwrap();
    assert_eq!((ledger.pool, ledger.weight), (Pool::Management, Some(2)));
    assert!(ledger.matches_path("/api/v1/accounts/ledgers"));
    let by_id = operation("account.account.getSpotAccountDetail").unwrap();
    assert!(by_id.matches_path("/api/v1/accounts/548674591753"));
    assert!(!by_id.matches_path("/api/v1/accounts/548674591753/x"));
    assert!(operations().all(|o| o.path.starts_with("/api/")));
}

#[test]
fn an_answer_is_parsed_for_an_operation_named_at_run_time() {
    let body =
        br#"{"code":"200000","data":{"orderId":"670fd33bf9406e0007ab3945","clientOid":null}}"#;
    let answer = parse_answer(
        "spot.order.addOrder",
        StatusCode::OK,
        &HeaderMap::new(),
        body,
    )
    .unwrap();
    let value = answer.result.unwrap();
    assert_eq!(
        value.to_json().unwrap(),
        serde_json::json!({"orderId":"670fd33bf9406e0007ab3945","clientOid":null})
    );
    let typed = value
        .downcast_ref::<kucoin_proto::rest::api::spot::order::AddOrderData>()
        .unwrap();
    assert_eq!(typed.order_id.as_deref(), Some("670fd33bf9406e0007ab3945"));
    let err = parse_answer("spot.order.nope", StatusCode::OK, &HeaderMap::new(), body).unwrap_err();
    assert!(err.to_string().contains("spot.order.nope"));
    let failed = br#"{"code":"400100","msg":"Parameter error"}"#;
    let answer = parse_answer(
        "spot.order.addOrder",
        StatusCode::OK,
        &HeaderMap::new(),
        failed,
    );
    assert_eq!(
        answer
            .unwrap()
            .result
            .unwrap_err()
            .api()
            .unwrap()
            .code
            .as_str(),
        "400100"
    );
}

fn ledger_page(current: i64, total: i64, n: usize) -> Vec<u8> {
    let items: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"id":"{current}-{i}","amount":"-0.5","currency":"USDT"}}"#))
        .collect();
    format!(
        r#"{{"code":"200000","data":{{"currentPage":{current},"pageSize":{n},"totalNum":9,"totalPage":{total},"items":[{}]}}}}"#,
        items.join(",")
    )
    .into_bytes()
}

#[test]
fn pages_ask_for_each_page_until_the_last() {
    let mut pages = Pages::new(GetSpotLedger::new().currency("USDT").page_size(2));
    let mut ids = Vec::new();
    let mut asked = Vec::new();
    while let Some(req) = pages.next_request() {
        let page = req.current_page.unwrap();
        asked.push(page);
        let body = ledger_page(page, 3, 2);
        let answer = parse_response::<GetSpotLedger>(StatusCode::OK, &HeaderMap::new(), &body);
        for item in pages.handle_answer(answer.result.unwrap()) {
            assert_eq!(item.amount, Some(Dec::parse("-0.5").unwrap()));
            ids.push(item.id.unwrap());
        }
        assert!(asked.len() < 10, "paging does not end");
    }
    assert_eq!(asked, [1, 2, 3]);
    assert_eq!(ids, ["1-0", "1-1", "2-0", "2-1", "3-0", "3-1"]);
    assert_eq!(pages.fetched, 3);
}

#[test]
fn an_empty_page_ends_paging_even_when_more_pages_are_announced() {
    let mut pages = Pages::new(GetSpotLedger::new());
    let req = pages.next_request().unwrap();
    assert_eq!(req.current_page, Some(1));
    let body = ledger_page(1, 5, 0);
    let answer = parse_response::<GetSpotLedger>(StatusCode::OK, &HeaderMap::new(), &body);
    assert!(pages.handle_answer(answer.result.unwrap()).is_empty());
    assert!(pages.next_request().is_none());
}

/// A page of HF fills with ids `ids` and `lastId` `last` (JSON text: a number or null).
fn fills_page(ids: &[i64], last: &str) -> Vec<u8> {
    let items: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(r#"{{"id":{id},"symbol":"BTC-USDT","price":"67717.6","size":"0.00001"}}"#)
        })
        .collect();
    format!(
        r#"{{"code":"200000","data":{{"items":[{}],"lastId":{last}}}}}"#,
        items.join(",")
    )
    .into_bytes()
}

fn fills_answer(body: &[u8]) -> <GetTradeHistory as kucoin_proto::rest::Endpoint>::Response {
    parse_response::<GetTradeHistory>(StatusCode::OK, &HeaderMap::new(), body)
        .result
        .unwrap()
}

#[test]
fn cursor_pages_ask_after_the_last_id_of_each_answer_until_an_empty_page() {
    let mut pages = CursorPages::new(GetTradeHistory::new("BTC-USDT").limit(2));
    let store = [905_i64, 904, 903, 902, 901];
    let mut asked = Vec::new();
    let mut ids = Vec::new();
    while let Some(req) = pages.next_request() {
        asked.push(req.last_id);
        let sent = client().request(&req, UnixMillis(0)).unwrap();
        let query = sent.uri().query().unwrap_or_default().to_owned();
        assert_eq!(query.contains("lastId="), req.last_id.is_some(), "{query}");
        let page: Vec<i64> = store
            .iter()
            .copied()
            .filter(|id| req.last_id.is_none_or(|last| *id < last))
            .take(2)
            .collect();
        let last = page.last().map_or("null".to_owned(), i64::to_string);
        for fill in pages.handle_answer(fills_answer(&fills_page(&page, &last))) {
            ids.push(fill.id.unwrap());
        }
        assert!(asked.len() < 10, "paging does not end");
    }
    assert_eq!(asked, [None, Some(904), Some(902), Some(901)]);
    assert_eq!(ids, store);
    assert_eq!(pages.fetched, 4);
    assert!(pages.is_done());
}

#[test]
fn cursor_paging_starts_at_the_callers_last_id() {
    let mut pages = CursorPages::new(GetTradeHistory::new("BTC-USDT").last_id(777));
    assert_eq!(pages.next_request().unwrap().last_id, Some(777));
    let items = pages.handle_answer(fills_answer(&fills_page(&[776, 775], "775")));
    assert_eq!(items.len(), 2);
    assert_eq!(pages.next_request().unwrap().last_id, Some(775));
}

#[test]
fn a_cursor_that_does_not_move_or_is_missing_ends_cursor_paging() {
    // A peer that answers the same lastId again would otherwise be asked forever.
    let mut pages = CursorPages::new(GetTradeHistory::new("BTC-USDT").last_id(500));
    pages.next_request().unwrap();
    assert_eq!(
        pages
            .handle_answer(fills_answer(&fills_page(&[600], "500")))
            .len(),
        1
    );
    assert!(pages.next_request().is_none());
    // An answer with entries but no lastId.
    let mut pages = CursorPages::new(GetTradeHistory::new("BTC-USDT"));
    pages.next_request().unwrap();
    assert_eq!(
        pages
            .handle_answer(fills_answer(&fills_page(&[42], "null")))
            .len(),
        1
    );
    assert!(pages.next_request().is_none());
}

#[test]
fn ledger_cursor_pages_ask_after_the_id_of_the_last_entry() {
    // HF ledgers answer a bare array; the next lastId is the last entry's id (a string).
    let mut pages = CursorPages::new(GetSpotHfLedger::new().limit(2));
    pages.next_request().unwrap();
    let body = br#"{"code":"200000","data":[{"id":"254062248624417","amount":"-1.5"},{"id":"254062248624400","amount":"2"}]}"#;
    let answer = parse_response::<GetSpotHfLedger>(StatusCode::OK, &HeaderMap::new(), body);
    let entries = pages.handle_answer(answer.result.unwrap());
    assert_eq!(entries[0].amount, Some(Dec::parse("-1.5").unwrap()));
    assert_eq!(
        pages.next_request().unwrap().last_id,
        Some(254_062_248_624_400)
    );
    let empty = parse_response::<GetSpotHfLedger>(
        StatusCode::OK,
        &HeaderMap::new(),
        br#"{"code":"200000","data":[]}"#,
    );
    assert!(pages.handle_answer(empty.result.unwrap()).is_empty());
    assert!(pages.next_request().is_none());
}

#[test]
fn generated_answer_readers_skip_unknown_keys_unescape_keys_and_reject_non_objects() {
    // Unknown keys (with nested values) are skipped; an escaped key is still recognised; a
    // later duplicate wins; `""`/null read as absent, as with the lenient readers.
    let body = br#"{"code":"200000","data":{"items":[{"id":7,"new":{"a":[1,{"b":2}]},"pr\u0069ce":"1.5","size":"","side":null,"fee":"0.1","fee":"0.2"}],"lastId":7}}"#;
    let answer = fills_answer(body);
    let fill = &answer.items.as_ref().unwrap()[0];
    assert_eq!(fill.id, Some(7));
    assert_eq!(fill.price, Some(Dec::parse("1.5").unwrap()));
    assert_eq!((fill.size, fill.side.as_ref()), (None, None));
    assert_eq!(fill.fee, Some(Dec::parse("0.2").unwrap()));
    // Printed as JSON and read back, the value is the same.
    let printed = serde_json::to_vec(&answer).unwrap();
    let again: <GetTradeHistory as kucoin_proto::rest::Endpoint>::Response =
        serde_json::from_slice(&printed).unwrap();
    assert_eq!(again, answer);
    // An array or a string where an object belongs is a typed error, not a default value.
    for data in [r#"[1,2]"#, r#""x""#, "7"] {
        let body = format!(r#"{{"code":"200000","data":{{"items":[{data}],"lastId":1}}}}"#);
        let r =
            parse_response::<GetTradeHistory>(StatusCode::OK, &HeaderMap::new(), body.as_bytes());
        let err = r.result.unwrap_err().to_string();
        assert!(err.contains("GetTradeHistoryDataItems"), "{data}: {err}");
    }
}
