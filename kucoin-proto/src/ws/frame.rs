//! Incoming frames: a fast header scanner for `message` frames and a serde fallback for the rest.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::rest::ApiCode;

/// Why a frame from the server could not be understood. The session lives on after any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame is not a JSON object (peer fault; the frame is dropped).
    #[error(
        "frame is not a JSON object: {detail}; frame starts {snippet:?} (dropped; the session continues)"
    )]
    Malformed {
        /// What the parser found wrong.
        detail: String,
        /// The first characters of the frame, for diagnosis.
        snippet: String,
    },
    /// The frame is JSON but lacks a field its type needs.
    #[error(
        "`{kind}` frame has no `{field}` field; frame starts {snippet:?} (dropped; the session continues)"
    )]
    MissingField {
        /// The frame's `type`.
        kind: String,
        /// The missing field.
        field: &'static str,
        /// The first characters of the frame.
        snippet: String,
    },
    /// The frame is longer than [`SessionConfig::max_frame_len`](super::SessionConfig::max_frame_len);
    /// it was dropped unparsed.
    #[error(
        "frame of {len} bytes exceeds the limit of {limit} (dropped unparsed; the session continues; raise SessionConfig::max_frame_len if KuCoin really sends such frames)"
    )]
    TooLong {
        /// The frame's length in bytes.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The `data` of a message frame is missing or not valid JSON.
    #[error(
        "message `data` is missing or not valid JSON: {detail}; skip this message (the stream may need a resync)"
    )]
    Data {
        /// What the parser found wrong.
        detail: String,
    },
}

const SNIPPET_LEN: usize = 120;

fn snippet(text: &str) -> String {
    let mut end = text.len().min(SNIPPET_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default().to_owned()
}

/// Where a message's `data` is.
#[derive(Debug, Clone, Copy)]
enum DataAt<'a> {
    /// The byte offset where the `data` value starts (found by the scanner).
    Offset(usize),
    /// Already parsed (by the fallback).
    Parsed(&'a RawValue),
    /// The scanner stopped before `data`; parse the whole frame to find it.
    Unknown,
    /// The frame has no `data`.
    Missing,
}

/// A `{"type":"message",…}` frame, borrowing the frame text: nothing is copied.
///
/// `data` is parsed lazily by [`Message::data`]; decode it with the typed-channel or book code.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    topic: Cow<'a, str>,
    subject: Option<Cow<'a, str>>,
    frame: &'a str,
    data: DataAt<'a>,
}

impl<'a> Message<'a> {
    /// The topic, such as `/market/level2:BTC-USDT`.
    #[must_use]
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The subject, such as `trade.l2update`, if the frame has one.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The whole frame text.
    #[must_use]
    pub fn frame(&self) -> &'a str {
        self.frame
    }

    /// The text of the `data` value, borrowed from the frame, found by a structural scan
    /// (strings, escapes and bracket nesting) that never allocates.
    ///
    /// The scan checks the value's extent, not every JSON rule: the decoder that reads the text
    /// (`serde_json::from_str`) validates it. Use [`Message::data`] for a validated value.
    pub fn data_str(&self) -> Result<&'a str, FrameError> {
        match self.data {
            DataAt::Offset(off) => skip_value(self.frame, off)
                .and_then(|end| self.frame.get(off..end))
                .ok_or_else(|| FrameError::Data {
                    detail: "the `data` value is truncated or unbalanced".into(),
                }),
            _ => self.data().map(RawValue::get),
        }
    }

    /// The raw `data` JSON, validated by serde_json and borrowed from the frame.
    ///
    /// Parsed on each call. serde_json may use a small scratch buffer for nested arrays and
    /// objects; [`Message::data_str`] never allocates.
    pub fn data(&self) -> Result<&'a RawValue, FrameError> {
        let bad = |e: serde_json::Error| FrameError::Data {
            detail: e.to_string(),
        };
        match self.data {
            DataAt::Parsed(raw) => Ok(raw),
            DataAt::Missing => Err(FrameError::Data {
                detail: "the frame has no `data` field".into(),
            }),
            DataAt::Offset(off) => {
                let rest = self.frame.get(off..).ok_or_else(|| FrameError::Data {
                    detail: "data offset outside the frame".into(),
                })?;
                let mut de = serde_json::Deserializer::from_str(rest);
                <&RawValue>::deserialize(&mut de).map_err(bad)
            }
            DataAt::Unknown => {
                #[derive(Deserialize)]
                struct OnlyData<'b> {
                    #[serde(borrow, default)]
                    data: Option<&'b RawValue>,
                }
                let d: OnlyData<'a> = serde_json::from_str(self.frame).map_err(bad)?;
                d.data.ok_or_else(|| FrameError::Data {
                    detail: "the frame has no `data` field".into(),
                })
            }
        }
    }
}

/// Returns the index just after the JSON value starting at `start` (no whitespace before it),
/// by a structural scan: strings with escapes, and bracket nesting. `None` if truncated or
/// unbalanced. Never allocates.
fn skip_value(text: &str, start: usize) -> Option<usize> {
    let b = text.as_bytes();
    match *b.get(start)? {
        b'"' => skip_string(b, start),
        b'{' | b'[' => {
            let mut depth: usize = 0;
            let mut i = start;
            loop {
                let skip = b
                    .get(i..)?
                    .iter()
                    .position(|c| matches!(c, b'"' | b'{' | b'[' | b'}' | b']'))?;
                i += skip;
                match *b.get(i)? {
                    b'"' => {
                        i = skip_string(b, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    _ => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                }
                i += 1;
            }
        }
        _ => {
            let mut i = start;
            while let Some(c) = b.get(i) {
                if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                i += 1;
            }
            (i > start).then_some(i)
        }
    }
}

/// Index just after the string whose opening quote is at `i`; `None` if unterminated.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        j += b.get(j..)?.iter().position(|c| *c == b'"' || *c == b'\\')?;
        if b.get(j) == Some(&b'"') {
            return Some(j + 1);
        }
        j += 2;
    }
}

/// What the header scanner found at the start of a frame.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    pub(crate) kind: Option<&'a str>,
    pub(crate) topic: Option<&'a str>,
    pub(crate) subject: Option<&'a str>,
    pub(crate) data_offset: Option<usize>,
    /// The object ended (`}`) while scanning: every field was seen.
    pub(crate) complete: bool,
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(c) = b.get(i) {
        if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        } else {
            break;
        }
    }
    i
}

/// Reads a JSON string without escapes starting at the quote `b[i]`; returns (content, index after the closing quote).
/// `None` on an escape, a control character or the end of input (the caller falls back to serde).
fn plain_string(text: &str, i: usize) -> Option<(&str, usize)> {
    let b = text.as_bytes();
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let start = i + 1;
    let mut j = start;
    loop {
        match b.get(j)? {
            b'"' => return Some((text.get(start..j)?, j + 1)),
            b'\\' => return None,
            c if *c < 0x20 => return None,
            _ => j += 1,
        }
    }
}

/// Scans top-level `"key":"string"` pairs from the start of an object, in any order, stopping at
/// the first value that is not a plain string, at `"data"`, or at anything unexpected.
///
/// Never allocates. `None` means "could not scan": use the serde fallback.
pub(crate) fn scan_header(text: &str) -> Option<Header<'_>> {
    let b = text.as_bytes();
    let mut h = Header::default();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        h.complete = true;
        return Some(h);
    }
    loop {
        let (key, after_key) = plain_string(text, i)?;
        i = skip_ws(b, after_key);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        if key == "data" {
            h.data_offset = Some(i);
            return Some(h);
        }
        if b.get(i) != Some(&b'"') {
            // A number, object, … : stop; the fields seen so far stand.
            return Some(h);
        }
        let (value, after_value) = plain_string(text, i)?;
        let slot = match key {
            "type" => Some(&mut h.kind),
            "topic" => Some(&mut h.topic),
            "subject" => Some(&mut h.subject),
            _ => None,
        };
        if let Some(slot) = slot {
            if slot.is_some() {
                return None; // duplicate key: let serde decide
            }
            *slot = Some(value);
        }
        i = skip_ws(b, after_value);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => {
                h.complete = true;
                return Some(h);
            }
            _ => return None,
        }
    }
}

/// An id sent as a string or as a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum IdValue<'a> {
    #[serde(borrow)]
    Text(Cow<'a, str>),
    Num(u64),
}

impl IdValue<'_> {
    fn into_string(self) -> String {
        match self {
            IdValue::Text(t) => t.into_owned(),
            IdValue::Num(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawFrame<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<IdValue<'a>>,
    #[serde(borrow, default)]
    topic: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    subject: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    code: Option<IdValue<'a>>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// A parsed frame.
#[derive(Debug)]
pub(crate) enum Frame<'a> {
    Message(Message<'a>),
    Welcome,
    Pong {
        id: Option<String>,
    },
    Ack {
        id: Option<String>,
    },
    Error {
        id: Option<String>,
        code: ApiCode,
        msg: String,
    },
    /// `notice` and any other type this library does not know.
    Other {
        kind: String,
    },
}

/// Parses a frame: the allocation-free scanner for message frames, serde for everything else.
pub(crate) fn parse_frame(text: &str) -> Result<Frame<'_>, FrameError> {
    if let Some(h) = scan_header(text)
        && let (Some("message"), Some(topic)) = (h.kind, h.topic)
        // A `subject` may follow `data` (KuCoin's private position frames): unless the scan saw
        // the subject or the whole object, let serde read it.
        && (h.subject.is_some() || h.complete)
    {
        let data = match (h.data_offset, h.complete) {
            (Some(off), _) => DataAt::Offset(off),
            (None, true) => DataAt::Missing,
            (None, false) => DataAt::Unknown,
        };
        return Ok(Frame::Message(Message {
            topic: Cow::Borrowed(topic),
            subject: h.subject.map(Cow::Borrowed),
            frame: text,
            data,
        }));
    }
    parse_frame_serde(text)
}

/// The full serde parse (also the reference the scanner is tested against).
pub(crate) fn parse_frame_serde(text: &str) -> Result<Frame<'_>, FrameError> {
    let raw: RawFrame<'_> = serde_json::from_str(text).map_err(|e| FrameError::Malformed {
        detail: e.to_string(),
        snippet: snippet(text),
    })?;
    let Some(kind) = raw.kind else {
        return Err(FrameError::MissingField {
            kind: String::new(),
            field: "type",
            snippet: snippet(text),
        });
    };
    let id = raw.id.map(IdValue::into_string);
    Ok(match kind.as_ref() {
        "message" => {
            let Some(topic) = raw.topic else {
                return Err(FrameError::MissingField {
                    kind: kind.into_owned(),
                    field: "topic",
                    snippet: snippet(text),
                });
            };
            Frame::Message(Message {
                topic,
                subject: raw.subject,
                frame: text,
                data: raw.data.map_or(DataAt::Missing, DataAt::Parsed),
            })
        }
        "welcome" => Frame::Welcome,
        "pong" => Frame::Pong { id },
        "ack" => Frame::Ack { id },
        "error" => {
            let code = raw
                .code
                .map_or_else(|| ApiCode::new(""), |c| ApiCode::new(c.into_string()));
            let msg = match raw.data {
                Some(d) => match serde_json::from_str::<String>(d.get()) {
                    Ok(s) => s,
                    Err(_) => d.get().to_owned(),
                },
                None => String::new(),
            };
            Frame::Error { id, code, msg }
        }
        other => Frame::Other {
            kind: other.to_owned(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/kucoin-docs/");
        std::fs::read_to_string(format!("{p}{name}")).unwrap()
    }

    /// Compares two parses of the same frame (scanner vs serde).
    fn same(a: &Frame<'_>, b: &Frame<'_>) -> bool {
        match (a, b) {
            (Frame::Message(x), Frame::Message(y)) => {
                x.topic() == y.topic()
                    && x.subject() == y.subject()
                    && x.data().map(RawValue::get).ok() == y.data().map(RawValue::get).ok()
                    && x.data_str().ok() == y.data().map(RawValue::get).ok()
            }
            _ => format!("{a:?}") == format!("{b:?}"),
        }
    }

    #[test]
    fn scanner_reads_message_header_without_serde() {
        let f = r#"{"topic":"/market/level2:BTC-USDT","type":"message","subject":"trade.l2update","data":{"a":1}}"#;
        let h = scan_header(f).unwrap();
        assert_eq!(h.kind, Some("message"));
        assert_eq!(h.topic, Some("/market/level2:BTC-USDT"));
        assert_eq!(h.subject, Some("trade.l2update"));
        let Frame::Message(m) = parse_frame(f).unwrap() else {
            panic!("not a message")
        };
        assert!(matches!(m.topic, Cow::Borrowed(_)));
        assert_eq!(m.data().unwrap().get(), r#"{"a":1}"#);
    }

    #[test]
    fn scanner_and_serde_agree_on_fixtures_and_edge_cases() {
        let mut frames: Vec<String> = [
            "spot-ws-level2-increment.json",
            "spot-ws-level2-increment-multi.json",
            "spot-ws-all-tickers.json",
            "spot-ws-private-account-balance.json",
            "spot-ws-ticker.json",
            "spot-ws-match.json",
            "futures-ws-level2-increment.json",
            "futures-ws-private-wallet.json",
            "ws-welcome.json",
            "ws-pong.json",
            "ws-ack.json",
            "ws-error.json",
        ]
        .iter()
        .map(|n| fixture(n))
        .collect();
        frames.extend(
            [
                r#"{"type":"message","topic":"/t:A","data":[1,2]}"#,
                r#"{"type":"message","topic":"/t:A"}"#,
                r#"{"data":{"x":"y"},"type":"message","topic":"/t:A","subject":"s"}"#,
                r#"{"id":7,"type":"message","topic":"/t:A","data":null}"#,
                r#"{"type":"message","topic":"/t:\u0041","data":1}"#,
                r#"{"type":"mess\"age","topic":"/t:A","data":1}"#,
                r#" { "type" : "message" , "topic" : "/t:A" , "data" : "x" } "#,
                r#"{"type":"message","type":"pong","topic":"/t:A","data":1}"#,
                r#"{"type":"notice","topic":"/t:A"}"#,
                r#"{"type":"message"}"#,
                r#"{}"#,
                r#"{"type":"message","topic":"/t:A","subject":null,"data":1}"#,
                r#"{"type":"message","topic":"/t:A","data":"a\"}]b","x":1}"#,
                r#"{"type":"message","topic":"/t:A","data":[{"k":["}",{"z":[]}]}] }"#,
                r#"{"type":"message","topic":"/t:A","data":-1.5e3}"#,
                r#"{"type":"message","topic":"/t:A","data":true ,"id":"9"}"#,
            ]
            .iter()
            .map(|s| (*s).to_owned()),
        );
        for f in &frames {
            let fast = parse_frame(f);
            let slow = parse_frame_serde(f);
            match (&fast, &slow) {
                (Ok(a), Ok(b)) => assert!(same(a, b), "disagree on {f}: {a:?} vs {b:?}"),
                (Err(a), Err(b)) => assert_eq!(a, b, "errors differ on {f}"),
                _ => panic!("disagree on {f}: {fast:?} vs {slow:?}"),
            }
        }
    }

    #[test]
    fn scanner_accepts_header_and_defers_errors_in_data() {
        // The scanner does not read past the header: a broken `data` shows up in `data()`.
        let f = r#"{"type":"message","topic":"/t:A","subject":"s","data":{"x":"#;
        let Frame::Message(m) = parse_frame(f).unwrap() else {
            panic!("not a message")
        };
        assert!(matches!(m.data(), Err(FrameError::Data { .. })));
        assert!(matches!(m.data_str(), Err(FrameError::Data { .. })));
        assert!(matches!(
            parse_frame_serde(f),
            Err(FrameError::Malformed { .. })
        ));
    }

    #[test]
    fn subject_after_data_is_read() {
        // KuCoin's private position frames put `subject` after `data`.
        let f = r#"{"topic":"/contract/position:XBTUSDTM","type":"message","data":{"a":1},"subject":"position.change"}"#;
        let Frame::Message(m) = parse_frame(f).unwrap() else {
            panic!("not a message")
        };
        assert_eq!(m.subject(), Some("position.change"));
        assert_eq!(m.data().unwrap().get(), r#"{"a":1}"#);
        let text = fixture("futures-ws-private-position-change.json");
        let Frame::Message(m) = parse_frame(&text).unwrap() else {
            panic!("not a message")
        };
        assert_eq!(m.subject(), Some("position.change"));
    }

    #[test]
    fn control_frames_parse_with_ids_as_text_or_numbers() {
        assert!(matches!(
            parse_frame(&fixture("ws-error.json")).unwrap(),
            Frame::Error { id: Some(ref i), ref code, ref msg } if i == "1" && code.as_str() == "415" && msg == "type is not supported"
        ));
        assert!(matches!(
            parse_frame(r#"{"id":123,"type":"ack"}"#).unwrap(),
            Frame::Ack { id: Some(ref i) } if i == "123"
        ));
        assert!(matches!(
            parse_frame(&fixture("ws-welcome.json")).unwrap(),
            Frame::Welcome
        ));
    }

    #[test]
    fn malformed_frames_are_typed_errors() {
        for f in ["", "nope", "[1]", "{\"type\":", "{\"id\":\"1\"}", "\u{0}"] {
            assert!(parse_frame(f).is_err(), "{f:?} should be an error");
        }
    }
}
