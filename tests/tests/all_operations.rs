//! Every REST operation of KuCoin's specification, called end to end through both adapters
//! against the fake exchange (which answers each with the specification's example answer and
//! checks the signature of private ones over the bytes it received).

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;

use kucoin_blocking::proto::auth::Credentials;
use kucoin_blocking::proto::rest::operation::{Operation, OperationVisitor, operations};
use kucoin_blocking::proto::{Broker, Futures, Market, Spot};
use kucoin_tests::{
    FakeConfig, FakeKucoin, SymbolSpec, TEST_API_KEY, TEST_API_PASSPHRASE, TEST_API_SECRET,
    example_requests,
};
use serde::Serialize;

fn keys() -> Credentials {
    Credentials::new(TEST_API_KEY, TEST_API_SECRET, TEST_API_PASSPHRASE)
}

fn blocking<M: Market>(url: &str) -> kucoin_blocking::Rest<M> {
    let config = kucoin_blocking::Config::<M>::new()
        .rest_url(url)
        .unwrap()
        .credentials(keys())
        .unwrap();
    kucoin_blocking::Rest::new(&config)
}

fn async_std<M: Market>(url: &str) -> kucoin_async_std::Rest<M> {
    let config = kucoin_async_std::Config::<M>::new()
        .rest_url(url)
        .unwrap()
        .credentials(keys())
        .unwrap();
    kucoin_async_std::Rest::new(&config)
}

/// The typed request of `E` built from the specification's example request (`{}` without one).
fn example_request<E: Operation>() -> Result<E, String> {
    let example = &example_requests()[E::INFO.id];
    let text = if example.is_object() || example.is_array() {
        example.to_string()
    } else {
        "{}".to_owned()
    };
    serde_json::from_str(&text).map_err(|e| format!("{}: request does not build: {e}", E::INFO.id))
}

struct CallAll {
    blocking: Vec<Box<dyn Any>>,
    async_std: Vec<Box<dyn Any>>,
    called: BTreeMap<&'static str, Vec<u8>>,
    failures: Vec<String>,
}

impl CallAll {
    fn clients<M: Market>(&self) -> (&kucoin_blocking::Rest<M>, &kucoin_async_std::Rest<M>) {
        let b = self
            .blocking
            .iter()
            .find_map(|c| c.downcast_ref())
            .expect("a blocking client");
        let a = self
            .async_std
            .iter()
            .find_map(|c| c.downcast_ref())
            .expect("an async client");
        (b, a)
    }
}

impl OperationVisitor for CallAll {
    fn visit<E: Operation + 'static>(&mut self)
    where
        E::Response: Serialize + fmt::Debug + 'static,
    {
        let id = E::INFO.id;
        let req = match example_request::<E>() {
            Ok(r) => r,
            Err(e) => return self.failures.push(e),
        };
        let (b, a) = self.clients::<E::Market>();
        let mut failures = Vec::new();
        if let Err(e) = b.call(&req) {
            failures.push(format!("{id} (blocking): {e}"));
        }
        if let Err(e) = smol::block_on(a.call(&req)) {
            failures.push(format!("{id} (async): {e}"));
        }
        self.failures.extend(failures);
        self.called
            .insert(id, kucoin_blocking::proto::rest::Endpoint::body(&req));
    }
}

#[test]
fn every_operation_is_called_through_both_adapters_with_signed_bytes_as_sent() {
    // Every operation gets the specification's example answer (the exchange's own answers
    // to orders and accounts are tested against its state in e2e_trade).
    let spot = FakeKucoin::start(FakeConfig::spot().spec_answers_only()).unwrap();
    // The examples ask for the book of XBTUSDM (coin-margined): list it too.
    let mut futures_config = FakeConfig::futures().spec_answers_only();
    futures_config.symbols.push(SymbolSpec::futures("XBTUSDM"));
    let futures = FakeKucoin::start(futures_config).unwrap();
    let mut v = CallAll {
        blocking: vec![
            Box::new(blocking::<Spot>(&spot.rest_url())),
            Box::new(blocking::<Futures>(&futures.rest_url())),
            Box::new(blocking::<Broker>(&spot.rest_url())),
        ],
        async_std: vec![
            Box::new(async_std::<Spot>(&spot.rest_url())),
            Box::new(async_std::<Futures>(&futures.rest_url())),
            Box::new(async_std::<Broker>(&spot.rest_url())),
        ],
        called: BTreeMap::new(),
        failures: Vec::new(),
    };
    kucoin_blocking::proto::rest::api::visit_all(&mut v);
    assert!(
        v.failures.is_empty(),
        "{} failed:\n{}",
        v.failures.len(),
        v.failures.join("\n")
    );
    assert_eq!(v.called.len(), operations().count());
    assert_eq!(v.called.len(), 208);

    // The fakes saw every operation twice (once per adapter), private ones with a valid
    // signature over the bytes received, and those bytes are what the request sends.
    assert_eq!(
        spot.stats().auth_failures + futures.stats().auth_failures,
        0
    );
    let mut seen = spot.spec_calls();
    seen.extend(futures.spec_calls());
    for (id, body) in &v.called {
        let Some(bodies) = seen.get(id) else {
            // Served by the fake's own routes (server time, bullets, snapshots).
            continue;
        };
        assert_eq!(bodies.len(), 2, "{id}");
        for got in bodies {
            assert_eq!(got.as_bytes(), body.as_slice(), "{id}");
        }
    }
    assert!(seen.len() > 190, "{}", seen.len());
}

#[test]
fn paged_operations_are_read_to_the_last_page_through_both_adapters() {
    use kucoin_blocking::proto::rest::api::account::account::GetSpotLedger;
    let spot = FakeKucoin::start(FakeConfig::spot()).unwrap();
    let items: Vec<_> = blocking::<Spot>(&spot.rest_url())
        .pages(GetSpotLedger::new().currency("BTC"))
        .collect::<Result<_, _>>()
        .unwrap();
    // The example answer is page 1 of 1 with one entry.
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].currency.as_deref(), Some("USDT"));
    let rest = async_std::<Spot>(&spot.rest_url());
    let again = smol::block_on(rest.all_pages(GetSpotLedger::new())).unwrap();
    assert_eq!(again, items);
    let calls = spot.spec_calls();
    assert_eq!(calls["account.account.getSpotLedger"].len(), 2);
}

#[test]
fn cursor_paged_fills_are_read_page_by_page_through_both_adapters() {
    use kucoin_blocking::proto::rest::api::spot::order::GetTradeHistory;
    use kucoin_tests::cursor::{FILLS, FIRST_FILL_ID};
    // The scripted fills (the exchange's own fills are tested in e2e_trade).
    let spot = FakeKucoin::start(FakeConfig::spot().spec_answers_only()).unwrap();
    let request = GetTradeHistory::new("BTC-USDT").limit(3);
    let fills: Vec<_> = blocking::<Spot>(&spot.rest_url())
        .cursor_pages(request.clone())
        .collect::<Result<_, _>>()
        .unwrap();
    // Every fill once, newest first, across pages of 3, 3 and 1 (and the empty page that ends).
    let ids: Vec<i64> = fills.iter().map(|f| f.id.unwrap()).collect();
    let want: Vec<i64> = (FIRST_FILL_ID..FIRST_FILL_ID + FILLS).rev().collect();
    assert_eq!(ids, want);
    let rest = async_std::<Spot>(&spot.rest_url());
    let again = smol::block_on(rest.all_cursor_pages(request)).unwrap();
    assert_eq!(again, fills);
    let calls = spot.spec_calls();
    assert_eq!(calls["spot.order.getTradeHistory"].len(), 2 * 4);
}
