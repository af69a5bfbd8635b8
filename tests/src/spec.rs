//! Every REST operation of KuCoin's specification, answered with the specification's example
//! answer: routed by method and path template, signatures checked on private ones.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use kucoin_proto::rest::Access;
use kucoin_proto::rest::operation::{Host, OperationInfo, Pool, operations};

/// One routable operation and its example answer.
pub(crate) struct SpecRoute {
    pub info: &'static OperationInfo,
    pub answer: String,
}

/// The committed condensed specification's example answers, by operation id.
///
/// Read from the repository (`kucoin-proto/codegen/spec`), never from outside it.
pub fn example_answers() -> &'static BTreeMap<String, serde_json::Value> {
    static EXAMPLES: OnceLock<BTreeMap<String, serde_json::Value>> = OnceLock::new();
    EXAMPLES.get_or_init(|| load_spec("responseExample"))
}

/// The condensed specification's example requests, by operation id (`null` where none).
pub fn example_requests() -> &'static BTreeMap<String, serde_json::Value> {
    static EXAMPLES: OnceLock<BTreeMap<String, serde_json::Value>> = OnceLock::new();
    EXAMPLES.get_or_init(|| load_spec("requestExample"))
}

fn load_spec(key: &str) -> BTreeMap<String, serde_json::Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../kucoin-proto/codegen/spec");
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.filter_map(Result::ok) {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        for op in doc["operations"].as_array().into_iter().flatten() {
            let s = |k: &str| op[k].as_str().unwrap_or_default().to_ascii_lowercase();
            let id = format!(
                "{}.{}.{}",
                s("service"),
                s("subService"),
                op["name"].as_str().unwrap_or_default()
            );
            out.insert(id, op[key].clone());
        }
    }
    out
}

fn routes() -> &'static [SpecRoute] {
    static ROUTES: OnceLock<Vec<SpecRoute>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let examples = example_answers();
        operations()
            .filter_map(|info| {
                let answer = examples.get(info.id)?;
                Some(SpecRoute {
                    info,
                    answer: answer.to_string(),
                })
            })
            .collect()
    })
}

/// The route for `method` and `path` on a fake of `market` (spot fakes serve the spot and
/// broker hosts).
pub(crate) fn find(market: crate::Market, method: &str, path: &str) -> Option<&'static SpecRoute> {
    let serves = |host: Host| match market {
        crate::Market::Spot => matches!(host, Host::Spot | Host::Broker),
        crate::Market::Futures => host == Host::Futures,
    };
    let candidates = routes()
        .iter()
        .filter(|r| r.info.method == method && serves(r.info.host) && r.info.matches_path(path));
    // A literal path beats a template (`/api/v1/orders/active` over `/api/v1/orders/{id}`).
    candidates.min_by_key(|r| r.info.path.matches('{').count())
}

/// Whether the route needs a signature.
pub(crate) fn is_private(route: &SpecRoute) -> bool {
    route.info.access == Access::Private
}

/// The pool and weight the fake charges for `method path` (the specification's values; an
/// unknown operation costs 2 in the public pool).
pub(crate) fn cost(market: crate::Market, method: &str, path: &str) -> (Pool, u64) {
    find(market, method, path).map_or((Pool::Public, 2), |r| {
        (r.info.pool, u64::from(r.info.weight.unwrap_or(2)))
    })
}
