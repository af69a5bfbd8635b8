//! Every generated REST operation against KuCoin's own examples (from the committed condensed
//! specification): each example answer parses into the operation's answer type, and each JSON
//! example request builds the typed request, which sends the same keys and values.

use std::collections::BTreeMap;
use std::fmt;

use kucoin_proto::http::{HeaderMap, StatusCode};
use kucoin_proto::rest::operation::{Operation, OperationVisitor, operations, parse_answer};
use kucoin_proto::rest::path_and_query;
use serde::Serialize;
use serde_json::Value;

/// The condensed spec's operations by id (`<service>.<sub>.<name>`).
fn spec() -> BTreeMap<String, Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/codegen/spec");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("codegen/spec") {
        let path = entry.expect("entry").path();
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        for op in doc["operations"].as_array().expect("operations") {
            let service = op["service"].as_str().unwrap().to_ascii_lowercase();
            let service = if service == "viplending" {
                "viplending".into()
            } else {
                service
            };
            let id = format!(
                "{service}.{}.{}",
                op["subService"].as_str().unwrap().to_ascii_lowercase(),
                op["name"].as_str().unwrap()
            );
            out.insert(id, op.clone());
        }
    }
    out
}

#[test]
fn every_current_operation_is_generated_and_deprecated_ones_are_not() {
    let spec = spec();
    let ids: Vec<&str> = operations().map(|o| o.id).collect();
    for id in &ids {
        let op = spec
            .get(*id)
            .unwrap_or_else(|| panic!("{id} not in the spec"));
        assert_eq!(op["abandon"], "normal", "{id} is deprecated");
    }
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len(), "ids are unique");
    if cfg!(feature = "all") {
        let current = spec.values().filter(|o| o["abandon"] == "normal").count();
        assert_eq!(current, 208);
        assert_eq!(ids.len(), current);
    }
}

#[test]
fn every_example_answer_parses_into_its_type() {
    let spec = spec();
    let mut failures = Vec::new();
    let mut parsed = 0;
    for info in operations() {
        let example = &spec[info.id]["responseExample"];
        assert!(
            example.is_object(),
            "{}: example answer is not JSON",
            info.id
        );
        let body = serde_json::to_vec(example).unwrap();
        let answer = parse_answer(info.id, StatusCode::OK, &HeaderMap::new(), &body).unwrap();
        match answer.result {
            Ok(value) => {
                value.to_json().expect("serialisable");
                parsed += 1;
            }
            Err(e) => failures.push(format!("{}: {e}", info.id)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(parsed > 0);
}

/// Scalars compare by text, decimals by value (`"0.1"` == `0.1` == `"1e-1"`).
fn equivalent(a: &Value, b: &Value) -> bool {
    fn text(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| equivalent(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| equivalent(v, w))
        }
        (Value::Null, Value::Null) => true,
        _ => match (text(a), text(b)) {
            (Some(x), Some(y)) => {
                x == y
                    || matches!(
                        (kucoin_proto::num::Dec::parse(&x), kucoin_proto::num::Dec::parse(&y)),
                        (Ok(p), Ok(q)) if p == q
                    )
            }
            _ => false,
        },
    }
}

/// What a request sends, as one JSON object: path parameters, query pairs, body keys.
fn sent<E: Operation>(req: &E) -> Value {
    let mut out = serde_json::Map::new();
    let path = req.path();
    for (tmpl, got) in E::INFO.path.split('/').zip(path.split('/')) {
        if let Some((pre, rest)) = tmpl.split_once('{') {
            let (name, post) = rest.split_once('}').unwrap();
            let value = &got[pre.len()..got.len() - post.len()];
            out.insert(name.to_owned(), Value::String(value.to_owned()));
        }
    }
    for (k, v) in req.query().pairs() {
        out.insert(k.to_owned(), Value::String(v.to_owned()));
    }
    let body = req.body();
    if !body.is_empty() {
        match serde_json::from_slice::<Value>(&body).expect("body is JSON") {
            Value::Object(m) => out.extend(m),
            other => return other,
        }
    }
    Value::Object(out)
}

struct RequestExamples {
    spec: BTreeMap<String, Value>,
    built: usize,
    failures: Vec<String>,
}

impl OperationVisitor for RequestExamples {
    fn visit<E: Operation + 'static>(&mut self)
    where
        E::Response: Serialize + fmt::Debug + 'static,
    {
        let id = E::INFO.id;
        let example = self.spec[id]["requestExample"].clone();
        if !(example.is_object() || example.is_array()) {
            return;
        }
        // Lenient readers need JSON text (raw values), not a serde_json::Value.
        let req: E = match serde_json::from_str(&example.to_string()) {
            Ok(r) => r,
            Err(e) => {
                self.failures.push(format!("{id}: does not build: {e}"));
                return;
            }
        };
        let got = sent(&req);
        // Lists in the query are sent comma-joined.
        let want = match &example {
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::Array(items) if !E::INFO.body => Value::String(
                                items
                                    .iter()
                                    .map(|i| i.as_str().map_or(i.to_string(), str::to_owned))
                                    .collect::<Vec<_>>()
                                    .join(","),
                            ),
                            other => other.clone(),
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            other => other.clone(),
        };
        if !equivalent(&want, &got) {
            self.failures
                .push(format!("{id}: example {want}\n      sends {got}"));
            return;
        }
        if let Err(e) = path_and_query(&req) {
            self.failures.push(format!("{id}: {e}"));
            return;
        }
        self.built += 1;
    }
}

#[test]
fn every_json_example_request_builds_and_sends_the_same_keys_and_values() {
    let mut v = RequestExamples {
        spec: spec(),
        built: 0,
        failures: Vec::new(),
    };
    kucoin_proto::rest::api::visit_all(&mut v);
    assert!(
        v.failures.is_empty(),
        "{} failed:\n{}",
        v.failures.len(),
        v.failures.join("\n")
    );
    if cfg!(feature = "all") {
        assert!(v.built > 150, "{}", v.built);
    }
}
