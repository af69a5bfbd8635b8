//! `kucoin call`: any REST operation of the table, its parameters checked against its type.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::time::Duration;

use kucoin_proto::auth::{Credentials, Signer};
use kucoin_proto::feed::FailureCause;
use kucoin_proto::rest::api::visit_all;
use kucoin_proto::rest::operation::{
    Host, Operation, OperationInfo, OperationVisitor, operation, operations,
};
use kucoin_proto::rest::{Access, RestClient};
use kucoin_tests::{FakeConfig, FakeKucoin};
use serde::de::{self, Deserializer, Visitor};
use serde_json::{Map, Value};

use super::{EXIT_FAILED, EXIT_KUCOIN_ERROR, EXIT_OK, EXIT_REFUSED, EXIT_USAGE, Opts};
use crate::transport;

pub(super) fn run(
    o: &Opts,
    env: &BTreeMap<String, String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    if o.list {
        for op in operations() {
            let access = match op.access {
                Access::Public => "public",
                _ => "private",
            };
            let _ = writeln!(
                out,
                "{:<58} {:<6} {:<58} {:<11} {:>3} {access}",
                op.id,
                op.method,
                op.path,
                format!("{:?}", op.pool),
                op.weight.map_or_else(|| "-".to_owned(), |w| w.to_string()),
            );
        }
        return EXIT_OK;
    }
    let Some(id) = o.positional.first() else {
        let _ = writeln!(
            err,
            "error: call needs an OPERATION (see `kucoin call --list`)"
        );
        return EXIT_USAGE;
    };
    let Some(info) = operation(id) else {
        let last = id.rsplit('.').next().unwrap_or(id).to_ascii_lowercase();
        let similar: Vec<&str> = operations()
            .filter(|op| op.id.to_ascii_lowercase().contains(&last))
            .map(|op| op.id)
            .take(8)
            .collect();
        let _ = writeln!(err, "error: no REST operation {id:?}");
        if !similar.is_empty() {
            let _ = writeln!(err, "did you mean: {}", similar.join(", "));
        }
        return EXIT_USAGE;
    };
    let mut params = BTreeMap::new();
    for p in &o.positional[1..] {
        let Some((name, value)) = p.split_once('=') else {
            let _ = writeln!(err, "error: parameters are name=value, not {p:?}");
            return EXIT_USAGE;
        };
        params.insert(name.to_owned(), value.to_owned());
    }
    let fake = if o.fake {
        let config = match info.host {
            Host::Futures => FakeConfig::futures(),
            _ => FakeConfig::spot(),
        };
        match FakeKucoin::start(config) {
            Ok(f) => Some(f),
            Err(e) => {
                let _ = writeln!(err, "error: the embedded fake did not start: {e}");
                return EXIT_FAILED;
            }
        }
    } else {
        None
    };
    let base = fake
        .as_ref()
        .map(|f| f.rest_url())
        .or_else(|| o.rest_url.clone());
    let mut visitor = CallVisitor {
        info,
        params,
        base,
        credentials: super::credentials(env, o.fake),
        verbose: o.verbose,
        out,
        err,
        code: None,
    };
    visit_all(&mut visitor);
    visitor.code.unwrap_or(EXIT_FAILED)
}

struct CallVisitor<'a> {
    info: &'static OperationInfo,
    params: BTreeMap<String, String>,
    base: Option<String>,
    credentials: Option<Credentials>,
    verbose: bool,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    code: Option<u8>,
}

impl OperationVisitor for CallVisitor<'_> {
    fn visit<E: Operation + 'static>(&mut self)
    where
        E::Response: serde::Serialize + fmt::Debug + 'static,
    {
        if self.code.is_none() && E::INFO.id == self.info.id {
            self.code = Some(self.call::<E>());
        }
    }
}

impl CallVisitor<'_> {
    fn call<E: Operation>(&mut self) -> u8 {
        let id = E::INFO.id;
        let fields = fields_of::<E>();
        if let Some(unknown) = self.params.keys().find(|k| !fields.contains(&k.as_str())) {
            let takes = if fields.is_empty() {
                "no parameters".to_owned()
            } else {
                format!("its parameters are {}", fields.join(", "))
            };
            let _ = writeln!(
                self.err,
                "error: {id} has no parameter {unknown:?}; {takes}"
            );
            return EXIT_USAGE;
        }
        let request: E = match build(&self.params, fields.is_empty()) {
            Ok(r) => r,
            Err(msg) => {
                let _ = writeln!(self.err, "error: bad parameters for {id}: {msg}");
                return EXIT_USAGE;
            }
        };
        let mut rest = RestClient::<E::Market>::new();
        if let Some(url) = &self.base {
            rest = match rest.with_base_url(url) {
                Ok(r) => r,
                Err(e) => {
                    let _ = writeln!(self.err, "error: --rest-url: {e}");
                    return EXIT_USAGE;
                }
            };
        }
        if let Some(creds) = self.credentials.clone() {
            match Signer::new(creds) {
                Ok(s) => rest = rest.with_signer(s),
                Err(e) => {
                    let _ = writeln!(self.err, "error: credentials: {e}");
                    return EXIT_USAGE;
                }
            }
        }
        let http_request = match rest.request(&request, crate::unix_now()) {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(self.err, "error: {id}: {e}");
                if E::ACCESS != Access::Public && !rest.has_signer() {
                    let _ = writeln!(
                        self.err,
                        "set KUCOIN_API_KEY, KUCOIN_API_SECRET and KUCOIN_API_PASSPHRASE"
                    );
                }
                return EXIT_USAGE;
            }
        };
        log::info!("{} {}", http_request.method(), http_request.uri());
        let agent = transport::http_agent(Duration::from_secs(15));
        let response = match transport::execute(&agent, http_request) {
            Ok(r) => r,
            Err(e) => {
                let cause = e.cause();
                let _ = writeln!(
                    self.err,
                    "error: could not reach {}: {cause}",
                    rest.base_url()
                );
                return super::exit_code_for(&cause);
            }
        };
        let status =
            http::StatusCode::from_u16(response.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
        let parsed = (E::INFO.parse)(status, &response.headers, &response.body);
        if self.verbose {
            match parsed.rate_limit {
                Some(rl) => {
                    let _ = writeln!(
                        self.err,
                        "rate limit: pool {:?}, this call weighs {}, {} of {} left, reset in {} ms",
                        E::INFO.pool,
                        E::INFO.weight.map_or_else(|| "?".into(), |w| w.to_string()),
                        rl.remaining,
                        rl.limit,
                        rl.reset_ms
                    );
                }
                None => {
                    let _ = writeln!(
                        self.err,
                        "rate limit: the answer carried no gw-ratelimit headers"
                    );
                }
            }
        }
        match parsed.result {
            Ok(answer) => match answer.to_json() {
                Ok(json) => {
                    let text = serde_json::to_string_pretty(&json).unwrap_or_default();
                    let _ = writeln!(self.out, "{text}");
                    EXIT_OK
                }
                Err(e) => {
                    let _ = writeln!(self.err, "error: the answer cannot be printed: {e}");
                    EXIT_FAILED
                }
            },
            Err(e) => {
                let cause = FailureCause::from_response(&e);
                match e.api() {
                    Some(api) => {
                        let _ = writeln!(
                            self.err,
                            "KuCoin error {}: {} (HTTP {})",
                            api.code, api.msg, api.http_status
                        );
                    }
                    None => {
                        let _ = writeln!(self.err, "error: {e}");
                    }
                }
                if cause.is_refusal() {
                    EXIT_REFUSED
                } else if matches!(cause, FailureCause::KuCoin { .. }) {
                    EXIT_KUCOIN_ERROR
                } else {
                    super::exit_code_for(&cause)
                }
            }
        }
    }
}

/// Builds the request from `name=value` parameters: every value as text first (the generated
/// types read numbers, booleans and enums from text, as KuCoin sends them), then as JSON
/// literals (`5`, `true`, `[..]`), so both `size=0.1` and `items=[{..}]` work.
fn build<E: Operation>(params: &BTreeMap<String, String>, no_fields: bool) -> Result<E, String> {
    let as_text = object(params, false);
    let first = match de_json::<E>(&Value::Object(as_text.clone())) {
        Ok(e) => return Ok(e),
        Err(e) => e,
    };
    if let Ok(e) = de_json::<E>(&Value::Object(object(params, true))) {
        return Ok(e);
    }
    if no_fields && let Ok(e) = de_json::<E>(&Value::Null) {
        return Ok(e);
    }
    // Name the parameter at fault: the one whose removal changes the error.
    let msg = without_position(&first);
    for (name, value) in params {
        let mut without = as_text.clone();
        without.remove(name);
        let changed = match de_json::<E>(&Value::Object(without)) {
            Ok(_) => true,
            Err(e) => without_position(&e) != msg,
        };
        if changed {
            return Err(format!("{name}={value:?}: {msg}"));
        }
    }
    Err(msg)
}

/// serde_json's message without its ` at line 1 column 9` (the JSON is ours, not the user's).
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// From text: the generated types read raw JSON values, which only a text reader provides.
fn de_json<E: Operation>(v: &Value) -> Result<E, serde_json::Error> {
    serde_json::from_str(&v.to_string())
}

fn object(params: &BTreeMap<String, String>, literals: bool) -> Map<String, Value> {
    params
        .iter()
        .map(|(k, v)| {
            let structured = v.starts_with('[') || v.starts_with('{');
            let value = if literals || structured {
                serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.clone()))
            } else {
                Value::String(v.clone())
            };
            (k.clone(), value)
        })
        .collect()
}

/// The field names of `E` (its parameters), read from its `Deserialize` implementation.
fn fields_of<E: Operation>() -> Vec<&'static str> {
    let mut fields = Vec::new();
    let _ = E::deserialize(FieldProbe(&mut fields));
    fields
}

/// A deserializer that only records the field list a struct asks for, then fails.
struct FieldProbe<'a>(&'a mut Vec<&'static str>);

impl<'de> Deserializer<'de> for FieldProbe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("probe"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.extend_from_slice(fields);
        Err(de::Error::custom("probe"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kucoin_proto::rest::api::spot::market::GetTicker;

    #[test]
    fn fields_are_read_from_the_type() {
        assert_eq!(fields_of::<GetTicker>(), vec!["symbol"]);
    }
}
