//! Generated REST operations: building and signing an order, parsing a 100-order answer, each
//! next to `serde_json` parsing the same bytes into a `serde_json::Value`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kucoin_proto::auth::{Credentials, Signer};
use kucoin_proto::http::{HeaderMap, StatusCode};
use kucoin_proto::num::Dec;
use kucoin_proto::rest::api::spot::order::{AddOrder, GetOpenOrders, Side, Type};
use kucoin_proto::rest::{Endpoint, RestClient, parse_response};
use kucoin_proto::{Spot, UnixMillis};

/// One open order as KuCoin's specification shows it, with varied ids and amounts.
fn order(i: usize) -> String {
    format!(
        r#"{{"id":"67120bbef094e2000{i:07}","clientOid":"5c52e11203aa677f33e4{i:04}","symbol":"BTC-USDT","opType":"DEAL","type":"limit","side":"buy","price":"5{i}.{i}","size":"0.0000{i}","funds":"0.5","dealSize":"0","dealFunds":"0","fee":"0","feeCurrency":"USDT","stp":null,"timeInForce":"GTC","postOnly":false,"hidden":false,"iceberg":false,"visibleSize":"0","cancelAfter":0,"channel":"API","remark":null,"tags":"partner:ccxt","cancelExist":false,"tradeType":"TRADE","inOrderBook":true,"cancelledSize":"0","cancelledFunds":"0","remainSize":"0.00001","remainFunds":"0.5","active":true,"createdAt":1729235902748,"lastUpdatedAt":1729235902748{i:03}}}"#
    )
}

fn bench(c: &mut Criterion) {
    let client = RestClient::<Spot>::new().with_signer(
        Signer::new(Credentials::new("key", "f03a5284-5c39-4aaa", "passphrase")).unwrap(),
    );
    let add = AddOrder::new(Side::Buy, "BTC-USDT", Type::Limit)
        .price(Dec::parse("50000.5").unwrap())
        .size(Dec::parse("0.00001").unwrap())
        .client_oid("5c52e11203aa677f33e493fb");
    let body = add.body();
    let mut g = c.benchmark_group("rest_request");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("build_and_sign_add_order", |b| {
        b.iter(|| black_box(client.request(black_box(&add), UnixMillis(1_700_000_000_000))))
    });
    g.bench_function("serde_json_value_same_body", |b| {
        b.iter(|| {
            black_box(serde_json::from_slice::<serde_json::Value>(black_box(
                &body,
            )))
        })
    });
    g.finish();

    let orders: Vec<String> = (0..100).map(order).collect();
    let answer = format!(r#"{{"code":"200000","data":[{}]}}"#, orders.join(",")).into_bytes();
    let parsed = parse_response::<GetOpenOrders>(StatusCode::OK, &HeaderMap::new(), &answer);
    assert_eq!(parsed.result.unwrap().len(), 100);
    let mut g = c.benchmark_group("rest_answer");
    g.throughput(Throughput::Bytes(answer.len() as u64));
    g.bench_function("typed_100_open_orders", |b| {
        b.iter(|| {
            black_box(parse_response::<GetOpenOrders>(
                StatusCode::OK,
                &HeaderMap::new(),
                black_box(&answer),
            ))
        })
    });
    g.bench_function("serde_json_value_same_body", |b| {
        b.iter(|| {
            black_box(serde_json::from_slice::<serde_json::Value>(black_box(
                &answer,
            )))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
