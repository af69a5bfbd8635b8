//! `condense`: reads KuCoin's OpenAPI files and keeps only the facts the generator needs.
//!
//! Kept per operation: service, sub-service, SDK method name, method, path, host, access,
//! permission, rate-limit pool and weight, deprecation, parameters (name, place, required,
//! type, enum), request and response schemas (property names, types, required lists, enums)
//! and the example request and answer. Dropped: every description, summary, title, link and
//! other prose.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

/// Keeps the structural keys of a schema, recursively.
fn strip_schema(s: &Value) -> Value {
    let Some(obj) = s.as_object() else {
        return Value::Null;
    };
    let mut out = Map::new();
    for key in ["type", "format", "required", "enum"] {
        if let Some(v) = obj.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    if let Some(items) = obj.get("items") {
        out.insert("items".into(), strip_schema(items));
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        let props: Map<String, Value> = props
            .iter()
            .map(|(k, v)| (k.clone(), strip_schema(v)))
            .collect();
        out.insert("properties".into(), Value::Object(props));
    }
    Value::Object(out)
}

/// Undoes the spec's second layer of escaping (`\n`, `\"`, `\uXXXX`, `\xHH`) in an example.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('/') => out.push('/'),
            Some(h @ ('u' | 'x')) => {
                let n = if h == 'u' { 4 } else { 2 };
                let hex: String = (0..n).filter_map(|_| chars.next()).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push('\\');
                        out.push(h);
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Parses an example: JSON after unescaping (with `//` comment lines removed), else the text.
fn example(raw: Option<&Value>) -> Value {
    let Some(text) = raw.and_then(Value::as_str) else {
        return Value::Null;
    };
    let text = unescape(text);
    let cleaned: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    if cleaned.trim().is_empty() {
        return Value::Null;
    }
    serde_json::from_str(&cleaned).unwrap_or(Value::String(text))
}

fn condense_operation(path: &str, method: &str, op: &Value) -> Value {
    let method = op
        .get("x-original-method")
        .and_then(Value::as_str)
        .unwrap_or(method);
    let params: Vec<Value> = op
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    json!({
                        "name": p["name"],
                        "in": p["in"],
                        "required": p.get("required").and_then(Value::as_bool).unwrap_or(false),
                        "schema": strip_schema(&p["schema"]),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let body = op
        .pointer("/requestBody/content/application~1json/schema")
        .map_or(Value::Null, strip_schema);
    let answer = op.pointer("/responses/200/content/application~1json/schema");
    let data = answer
        .and_then(|a| a.pointer("/properties/data"))
        .map_or(Value::Null, strip_schema);
    let s = |k: &str| op.get(k).cloned().unwrap_or(Value::Null);
    json!({
        "service": s("x-sdk-service"),
        "subService": s("x-sdk-sub-service"),
        "name": s("x-sdk-method-name"),
        "operationId": s("operationId"),
        "method": method.to_ascii_uppercase(),
        "path": path,
        "domain": s("x-domain"),
        "channel": s("x-api-channel"),
        "permission": s("x-api-permission"),
        "pool": s("x-api-rate-limit-pool"),
        "weight": s("x-api-rate-limit-weight"),
        "abandon": s("x-abandon"),
        "forceJson": op.get("x-request-force-json").and_then(Value::as_bool).unwrap_or(false),
        "params": params,
        "body": body,
        "data": data,
        "requestExample": example(op.get("x-request-example")),
        "responseExample": example(op.get("x-response-example")),
    })
}

/// Condenses every `rest/openapi-*.json` of `spec_dir` into `out_dir/<service>-<sub>.json`.
pub fn run(spec_dir: &Path, out_dir: &Path) -> Result<usize, String> {
    let rest = spec_dir.join("rest");
    let mut files: Vec<_> = std::fs::read_dir(&rest)
        .map_err(|e| format!("{}: {e}", rest.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let mut count = 0;
    for file in files {
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let doc: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut ops = Vec::new();
        let paths = doc["paths"].as_object().cloned().unwrap_or_default();
        for (path, methods) in &paths {
            let methods: BTreeMap<_, _> = methods
                .as_object()
                .map(|m| m.iter().collect())
                .unwrap_or_default();
            for (method, op) in methods {
                ops.push(condense_operation(path, method, op));
                count += 1;
            }
        }
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .trim_start_matches("openapi-")
            .to_owned();
        let out = out_dir.join(format!("{stem}.json"));
        let mut body = serde_json::to_string_pretty(&json!({ "operations": ops }))
            .map_err(|e| e.to_string())?;
        body.push('\n');
        std::fs::write(&out, body).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    Ok(count)
}
