//! Decoding level-2 frames: a single-pass decoder for the exact frames KuCoin sends, and a
//! `serde_json` fallback for everything else.
//!
//! The fast decoder walks the bytes once, in any key order, and parses prices and sizes straight into
//! [`Decimal`]s while scanning. It never reports an error: on anything it was not built for (whitespace,
//! escapes, nested unknown values, a bad number, a wrong topic) it gives up and the `serde_json` path
//! decodes the frame and gives the definitive answer or error. So both paths agree by construction
//! wherever the fast one answers; a differential test checks it on fixtures, the corpus and mutations.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::BookError;
use super::decimal::{
    Decimal, DecimalError, decimal_until, digit_run, digit_run16, parse_prefix, skip_digits,
    u64_until,
};
use super::order_book::Side;

/// One change of a level-2 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// The change's own sequence number (futures: the message sequence).
    pub sequence: u64,
    /// Side of the book.
    pub side: Side,
    /// Price; zero means "sequence only, no book change".
    pub price: Decimal,
    /// New total size at the price; zero deletes the level.
    pub size: Decimal,
}

/// A decoded incremental message: its sequence range and changes. Reused between frames.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Update {
    /// First sequence in the message (spot `sequenceStart`, futures `sequence`).
    pub start: u64,
    /// Last sequence in the message (spot `sequenceEnd`, futures `sequence`).
    pub end: u64,
    /// Changes, in ascending sequence within each side.
    pub changes: Vec<Change>,
}

/// Which decoder produced an answer (for tests and benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodePath {
    /// The single-pass decoder.
    Fast,
    /// The `serde_json` fallback.
    Serde,
}

/// The market-specific bits of a level-2 frame, prepared once per book.
#[derive(Debug, Clone)]
pub struct FrameSpec {
    futures: bool,
    topic: String,
    symbol: String,
    quoted_symbol: Vec<u8>,
    /// `{"type":"message","topic":"…","subject":"…","data":` — the usual start of a frame.
    prefix: Vec<u8>,
    /// `,"symbol":"…","time":` — spot data's usual middle.
    symbol_time: Vec<u8>,
}

impl FrameSpec {
    /// Spot `/market/level2:{symbol}`, subject `trade.l2update`.
    #[must_use]
    pub fn spot(symbol: &str) -> Self {
        Self::new(false, format!("/market/level2:{symbol}"), symbol)
    }

    /// Futures `/contractMarket/level2:{symbol}`, subject `level2`.
    #[must_use]
    pub fn futures(symbol: &str) -> Self {
        Self::new(true, format!("/contractMarket/level2:{symbol}"), symbol)
    }

    fn new(futures: bool, topic: String, symbol: &str) -> Self {
        let prefix = format!(
            r#"{{"type":"message","topic":"{topic}","subject":"{}","data":"#,
            subject(futures)
        )
        .into_bytes();
        FrameSpec {
            futures,
            topic,
            symbol: symbol.to_owned(),
            quoted_symbol: format!("\"{symbol}\"").into_bytes(),
            prefix,
            symbol_time: format!(r#","symbol":"{symbol}","time":"#).into_bytes(),
        }
    }

    /// The topic this spec accepts.
    #[must_use]
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Decodes a whole WebSocket text frame into `out`: fast path first, `serde_json` if needed.
    pub fn decode_frame(&self, frame: &str, out: &mut Update) -> Result<DecodePath, BookError> {
        if self.decode_frame_fast(frame, out) {
            self.finish_fast(out)?;
            return Ok(DecodePath::Fast);
        }
        self.decode_frame_serde(frame, out)?;
        Ok(DecodePath::Serde)
    }

    /// The usual start of a frame of this topic, `{"type":"message","topic":"…","subject":"…","data":`.
    #[must_use]
    pub fn frame_prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// Like [`decode_frame`](Self::decode_frame), for a frame that the caller has compared with
    /// [`frame_prefix`](Self::frame_prefix) and found to start with it (the feed's router): the
    /// prefix is not compared again. Same answers as `decode_frame` for such frames.
    pub(crate) fn decode_prefixed_frame(
        &self,
        frame: &str,
        out: &mut Update,
    ) -> Result<DecodePath, BookError> {
        debug_assert!(frame.as_bytes().starts_with(&self.prefix));
        out.changes.clear();
        if self.after_prefix_fast(frame.as_bytes(), out).is_some() {
            self.finish_fast(out)?;
            return Ok(DecodePath::Fast);
        }
        // Unusual after the prefix (trailing whitespace, more keys, …): the general path decides.
        self.decode_frame(frame, out)
    }

    /// Decodes only the `data` object of a frame (fast path first).
    pub fn decode_data(&self, data: &str, out: &mut Update) -> Result<DecodePath, BookError> {
        let mut c = Cursor {
            b: data.as_bytes(),
            i: 0,
        };
        out.changes.clear();
        if self.data_fast(&mut c, out).is_some() && c.i == c.b.len() {
            finish(out)?;
            return Ok(DecodePath::Fast);
        }
        self.decode_data_serde(data, out)?;
        Ok(DecodePath::Serde)
    }

    /// The fast decoder alone: true if it understood the frame (then `out` holds the raw decode,
    /// before validation), false if the fallback must decide. Public for the differential tests.
    #[doc(hidden)]
    pub fn decode_frame_fast(&self, frame: &str, out: &mut Update) -> bool {
        out.changes.clear();
        // Trailing whitespace (a newline) is common and harmless; anything else unusual falls back.
        let mut b = frame.as_bytes();
        while let [rest @ .., b' ' | b'\n' | b'\r' | b'\t'] = b {
            b = rest;
        }
        self.frame_fast(b, out).is_some()
    }

    /// The `serde_json` decoder alone, with validation. Public for the differential tests.
    #[doc(hidden)]
    pub fn decode_frame_serde(&self, frame: &str, out: &mut Update) -> Result<(), BookError> {
        #[derive(Deserialize)]
        struct Frame<'a> {
            #[serde(rename = "type", borrow)]
            kind: Cow<'a, str>,
            #[serde(borrow)]
            topic: Cow<'a, str>,
            #[serde(borrow)]
            subject: Cow<'a, str>,
            #[serde(borrow)]
            data: &'a RawValue,
        }
        let f: Frame<'_> = serde_json::from_str(frame).map_err(json_err)?;
        if f.kind != "message" {
            return Err(BookError::NotAMessage);
        }
        if f.topic != self.topic {
            return Err(BookError::WrongTopic {
                expected: self.topic.clone(),
                got: f.topic.into_owned(),
            });
        }
        if f.subject != subject(self.futures) {
            return Err(BookError::WrongSubject {
                got: f.subject.into_owned(),
            });
        }
        self.decode_data_serde(f.data.get(), out)
    }

    fn decode_data_serde(&self, data: &str, out: &mut Update) -> Result<(), BookError> {
        out.changes.clear();
        if self.futures {
            #[derive(Deserialize)]
            struct Data<'a> {
                #[serde(borrow)]
                sequence: &'a RawValue,
                #[serde(borrow)]
                change: Cow<'a, str>,
            }
            let d: Data<'_> = serde_json::from_str(data).map_err(json_err)?;
            let seq = raw_u64(d.sequence, "sequence")?;
            let mut parts = d.change.split(',');
            let (Some(p), Some(side), Some(s), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(BookError::BadChange);
            };
            let side = match side {
                "buy" => Side::Bid,
                "sell" => Side::Ask,
                _ => return Err(BookError::BadChange),
            };
            out.start = seq;
            out.end = seq;
            out.changes.push(Change {
                sequence: seq,
                side,
                price: num(Decimal::parse(p), "price")?,
                size: num(Decimal::parse(s), "size")?,
            });
        } else {
            #[derive(Deserialize)]
            struct Changes<'a> {
                #[serde(borrow, default)]
                asks: Vec<Vec<&'a RawValue>>,
                #[serde(borrow, default)]
                bids: Vec<Vec<&'a RawValue>>,
            }
            #[derive(Deserialize)]
            struct Data<'a> {
                #[serde(borrow)]
                changes: Changes<'a>,
                #[serde(rename = "sequenceStart", borrow)]
                start: &'a RawValue,
                #[serde(rename = "sequenceEnd", borrow)]
                end: &'a RawValue,
                #[serde(borrow, default)]
                symbol: Option<Cow<'a, str>>,
            }
            let d: Data<'_> = serde_json::from_str(data).map_err(json_err)?;
            if let Some(sym) = &d.symbol
                && *sym != self.symbol
            {
                return Err(BookError::WrongSymbol {
                    expected: self.symbol.clone(),
                    got: sym.clone().into_owned(),
                });
            }
            out.start = raw_u64(d.start, "sequenceStart")?;
            out.end = raw_u64(d.end, "sequenceEnd")?;
            for (side, list) in [(Side::Ask, &d.changes.asks), (Side::Bid, &d.changes.bids)] {
                for entry in list {
                    let [p, s, q, ..] = entry.as_slice() else {
                        return Err(BookError::BadChange);
                    };
                    out.changes.push(Change {
                        sequence: raw_u64(q, "change sequence")?,
                        side,
                        price: num(Decimal::parse(&raw_text(p)?), "price")?,
                        size: num(Decimal::parse(&raw_text(s)?), "size")?,
                    });
                }
            }
        }
        finish(out)
    }

    /// A frame known to start with the prefix: `data`, then `}` (the usual end) or more keys.
    #[inline(always)]
    fn after_prefix_fast(&self, b: &[u8], out: &mut Update) -> Option<()> {
        let mut c = Cursor {
            b,
            i: self.prefix.len(),
        };
        self.data_fast(&mut c, out)?;
        // The usual end, `}` and nothing after it.
        if c.i + 1 == b.len() && b.last() == Some(&b'}') {
            return Some(());
        }
        match c.next()? {
            b',' => self.keys_fast(c, out, [true; 4]),
            _ => None,
        }
    }

    #[inline]
    fn frame_fast(&self, b: &[u8], out: &mut Update) -> Option<()> {
        if b.starts_with(&self.prefix) {
            return self.after_prefix_fast(b, out);
        }
        let mut c = Cursor { b, i: 0 };
        c.eat(b'{')?;
        self.keys_fast(c, out, [false; 4])
    }

    /// The frame's keys from the cursor on, up to and including the closing `}` (the end).
    /// `seen`: type, topic, subject, data already read.
    #[inline]
    fn keys_fast(&self, mut c: Cursor<'_>, out: &mut Update, seen: [bool; 4]) -> Option<()> {
        let b = c.b;
        let [mut ty, mut topic, mut subj, mut data] = seen;
        loop {
            let key = c.key()?;
            match key {
                b"type" => {
                    if ty || c.string()? != b"message" {
                        return None;
                    }
                    ty = true;
                }
                b"topic" => {
                    if topic || c.string()? != self.topic.as_bytes() {
                        return None;
                    }
                    topic = true;
                }
                b"subject" => {
                    if subj || c.string()? != subject(self.futures).as_bytes() {
                        return None;
                    }
                    subj = true;
                }
                b"data" => {
                    if data {
                        return None;
                    }
                    self.data_fast(&mut c, out)?;
                    data = true;
                }
                _ => c.skip_scalar()?,
            }
            match c.next()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
        (ty && topic && subj && data && c.i == b.len()).then_some(())
    }

    /// The `data` object. Tried first in the order KuCoin writes its keys (one literal per key,
    /// no key dispatch); on anything else, from the start again in any order. Both accept the
    /// same values: the first only covers fewer layouts.
    #[inline]
    fn data_fast(&self, c: &mut Cursor<'_>, out: &mut Update) -> Option<()> {
        let start = c.i;
        let usual = if self.futures {
            c.futures_data_usual(out)
        } else {
            c.spot_data_usual(out, &self.symbol_time)
        };
        if usual.is_some() {
            return Some(());
        }
        c.i = start;
        out.changes.clear();
        self.data_any_order(c, out)
    }

    #[inline(never)]
    fn data_any_order(&self, c: &mut Cursor<'_>, out: &mut Update) -> Option<()> {
        c.eat(b'{')?;
        if self.futures {
            let (mut seq, mut change) = (None, None);
            loop {
                if c.lit(b"\"sequence\":") {
                    if seq.is_some() {
                        return None;
                    }
                    seq = Some(c.u64()?);
                } else if c.lit(b"\"change\":") {
                    if change.is_some() {
                        return None;
                    }
                    change = Some(c.futures_change()?);
                } else if c.lit(b"\"timestamp\":") {
                    c.skip_scalar()?;
                } else {
                    match c.key()? {
                        b"sequence" | b"change" => return None,
                        _ => c.skip_scalar()?,
                    }
                }
                match c.next()? {
                    b',' => {}
                    b'}' => break,
                    _ => return None,
                }
            }
            let seq = seq?;
            let (side, price, size) = change?;
            out.start = seq;
            out.end = seq;
            out.changes.push(Change {
                sequence: seq,
                side,
                price,
                size,
            });
        } else {
            let (mut start, mut end, mut changes, mut symbol) = (None, None, false, false);
            loop {
                // KuCoin's keys, matched as literals (cheap); anything else through `key()`.
                if c.lit(b"\"changes\":") {
                    if changes {
                        return None;
                    }
                    c.spot_changes(out)?;
                    changes = true;
                } else if c.lit(b"\"sequenceEnd\":") {
                    if end.is_some() {
                        return None;
                    }
                    end = Some(c.u64()?);
                } else if c.lit(b"\"sequenceStart\":") {
                    if start.is_some() {
                        return None;
                    }
                    start = Some(c.u64()?);
                } else if c.lit(b"\"time\":") {
                    c.skip_scalar()?;
                } else if c.lit(b"\"symbol\":") {
                    if symbol || !c.lit(&self.quoted_symbol) {
                        return None;
                    }
                    symbol = true;
                } else {
                    match c.key()? {
                        b"changes" | b"sequenceEnd" | b"sequenceStart" | b"symbol" => return None,
                        _ => c.skip_scalar()?,
                    }
                }
                match c.next()? {
                    b',' => {}
                    b'}' => break,
                    _ => return None,
                }
            }
            if !changes {
                return None;
            }
            out.start = start?;
            out.end = end?;
        }
        Some(())
    }
}

impl FrameSpec {
    /// [`finish`] for what the fast decoder produced: a futures message is one change at its
    /// own sequence (nothing to check or order), a spot one is checked and ordered.
    #[inline(always)]
    fn finish_fast(&self, out: &mut Update) -> Result<(), BookError> {
        if self.futures {
            debug_assert!(
                out.start == out.end
                    && out.changes.len() == 1
                    && out.changes.iter().all(|c| c.sequence == out.start)
            );
            return Ok(());
        }
        finish(out)
    }
}

fn subject(futures: bool) -> &'static str {
    if futures { "level2" } else { "trade.l2update" }
}

/// Validates a decoded message and puts each side's changes in sequence order.
fn finish(out: &mut Update) -> Result<(), BookError> {
    if out.start > out.end {
        return Err(BookError::BadRange {
            start: out.start,
            end: out.end,
        });
    }
    let (mut last_bid, mut last_ask, mut sorted) = (0u64, 0u64, true);
    for ch in &out.changes {
        if ch.sequence < out.start || ch.sequence > out.end {
            return Err(BookError::ChangeOutsideRange {
                sequence: ch.sequence,
                start: out.start,
                end: out.end,
            });
        }
        let last = match ch.side {
            Side::Bid => &mut last_bid,
            Side::Ask => &mut last_ask,
        };
        sorted &= ch.sequence > *last;
        *last = ch.sequence;
    }
    if !sorted {
        out.changes.sort_unstable_by_key(|c| (c.sequence, c.side));
    }
    Ok(())
}

fn json_err(e: serde_json::Error) -> BookError {
    BookError::Json(e.to_string())
}

fn num(r: Result<Decimal, DecimalError>, field: &'static str) -> Result<Decimal, BookError> {
    r.map_err(|source| BookError::BadNumber { field, source })
}

/// Decimal text of a JSON string or number.
fn raw_text(raw: &RawValue) -> Result<Cow<'_, str>, BookError> {
    let s = raw.get();
    if s.starts_with('"') {
        serde_json::from_str::<Cow<'_, str>>(s).map_err(json_err)
    } else {
        Ok(Cow::Borrowed(s))
    }
}

fn raw_u64(raw: &RawValue, field: &'static str) -> Result<u64, BookError> {
    let text = raw_text(raw)?;
    let t = text.as_bytes();
    if t.is_empty() || t.len() > 20 || !t.iter().all(u8::is_ascii_digit) {
        return Err(BookError::BadSequence { field });
    }
    text.parse().map_err(|_| BookError::BadSequence { field })
}

/// A cursor over compact JSON. Every method returns `None` on anything unexpected.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    fn next(&mut self) -> Option<u8> {
        let c = *self.b.get(self.i)?;
        self.i += 1;
        Some(c)
    }

    #[inline(always)]
    fn eat(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    /// A string without escapes; the cursor ends after the closing quote.
    #[inline(always)]
    fn string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            match self.next()? {
                b'"' => return self.b.get(start..self.i - 1),
                b'\\' | 0..0x20 => return None,
                _ => {}
            }
        }
    }

    /// `"key":`
    #[inline(always)]
    fn key(&mut self) -> Option<&'a [u8]> {
        let k = self.string()?;
        self.eat(b':')?;
        Some(k)
    }

    /// A plain unsigned integer (at most 20 digits, no overflow, no leading zero).
    #[inline(always)]
    fn u64(&mut self) -> Option<u64> {
        let start = self.i;
        if let Some((v, i)) = digit_run16(self.b, start) {
            // At most 16 digits, and the byte after them is not a digit.
            let n = i - start;
            let leading_zero = n > 1 && self.b.get(start) == Some(&b'0');
            if n == 0 || leading_zero || matches!(self.b.get(i), Some(b'.' | b'e' | b'E')) {
                return None;
            }
            self.i = i;
            return Some(v);
        }
        let (mut v, mut i) = digit_run(self.b, start, 19);
        if let Some(&c) = self.b.get(i)
            && c.is_ascii_digit()
        {
            v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
            i += 1;
        }
        let n = i - start;
        let leading_zero = n > 1 && self.b.get(start) == Some(&b'0');
        if n == 0 || leading_zero || matches!(self.b.get(i), Some(b'0'..=b'9' | b'.' | b'e' | b'E'))
        {
            return None;
        }
        self.i = i;
        Some(v)
    }

    /// If the input continues with `lit`, consumes it.
    #[inline(always)]
    fn lit(&mut self, lit: &[u8]) -> bool {
        let hit = self.b.get(self.i..).is_some_and(|r| r.starts_with(lit));
        if hit {
            self.i += lit.len();
        }
        hit
    }

    #[inline(always)]
    fn decimal(&mut self) -> Option<Decimal> {
        let (d, end) = parse_prefix(self.b, self.i).ok()?;
        self.i = end;
        Some(d)
    }

    /// A decimal followed by `end` (not consumed): the common short form in one pass, anything
    /// else through the general parser (then the caller checks `end` itself).
    #[inline(always)]
    fn decimal_before(&mut self, end: u8) -> Option<Decimal> {
        if let Some((d, i)) = decimal_until(self.b, self.i, end) {
            self.i = i;
            return Some(d);
        }
        self.decimal_general()
    }

    /// [`Cursor::decimal`] out of line: the hot loops keep only the short form.
    #[cold]
    #[inline(never)]
    fn decimal_general(&mut self) -> Option<Decimal> {
        self.decimal()
    }

    /// An unsigned integer followed by `end` (not consumed); see [`Cursor::decimal_before`].
    #[inline(always)]
    fn u64_before(&mut self, end: u8) -> Option<u64> {
        if let Some((v, i)) = u64_until(self.b, self.i, end) {
            self.i = i;
            return Some(v);
        }
        self.u64_general()
    }

    /// [`Cursor::u64`] out of line.
    #[cold]
    #[inline(never)]
    fn u64_general(&mut self) -> Option<u64> {
        self.u64()
    }

    /// Skips a number, a string without escapes, `true`, `false` or `null`.
    fn skip_scalar(&mut self) -> Option<()> {
        match *self.b.get(self.i)? {
            b'"' => self.string().map(|_| ()),
            b'-' | b'0'..=b'9' => self.skip_number(),
            _ => {
                for lit in [&b"true"[..], b"false", b"null"] {
                    if self.b.get(self.i..)?.starts_with(lit) {
                        self.i += lit.len();
                        return Some(());
                    }
                }
                None
            }
        }
    }

    /// A JSON number; a plain integer (a timestamp) without leaving the caller.
    #[inline(always)]
    fn skip_number_fast(&mut self) -> Option<()> {
        let start = self.i;
        let end = skip_digits(self.b, start);
        let n = end - start;
        let leading_zero = n > 1 && self.b.get(start) == Some(&b'0');
        if n > 0 && !leading_zero && !matches!(self.b.get(end), Some(b'.' | b'e' | b'E')) {
            self.i = end;
            return Some(());
        }
        self.skip_number()
    }

    /// A JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn skip_number(&mut self) -> Option<()> {
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let int = self.digits();
        if int == 0 || (int > 1 && self.b.get(self.i - int) == Some(&b'0')) {
            return None;
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        self.i = skip_digits(self.b, start);
        self.i - start
    }

    /// `{"sequence":…,"change":"…","timestamp":…}`, exactly in this order.
    #[inline(always)]
    fn futures_data_usual(&mut self, out: &mut Update) -> Option<()> {
        if !self.lit(b"{\"sequence\":") {
            return None;
        }
        let seq = self.u64_before(b',')?;
        if !self.lit(b",\"change\":") {
            return None;
        }
        let (side, price, size) = self.futures_change()?;
        if !self.lit(b",\"timestamp\":") {
            return None;
        }
        self.skip_number_fast()?;
        self.eat(b'}')?;
        out.start = seq;
        out.end = seq;
        out.changes.push(Change {
            sequence: seq,
            side,
            price,
            size,
        });
        Some(())
    }

    /// `{"changes":{…},"sequenceEnd":…,"sequenceStart":…,"symbol":"…","time":…}`, exactly in
    /// this order (`symbol_time` is `,"symbol":"…","time":` with the book's symbol).
    #[inline(always)]
    fn spot_data_usual(&mut self, out: &mut Update, symbol_time: &[u8]) -> Option<()> {
        if !self.lit(b"{\"changes\":") {
            return None;
        }
        self.spot_changes(out)?;
        if !self.lit(b",\"sequenceEnd\":") {
            return None;
        }
        let end = self.u64_before(b',')?;
        if !self.lit(b",\"sequenceStart\":") {
            return None;
        }
        let start = self.u64_before(b',')?;
        if !self.lit(symbol_time) {
            return None;
        }
        self.skip_number_fast()?;
        self.eat(b'}')?;
        out.start = start;
        out.end = end;
        Some(())
    }

    /// `{"asks":[…],"bids":[…]}` (either order, both required).
    #[inline]
    fn spot_changes(&mut self, out: &mut Update) -> Option<()> {
        self.eat(b'{')?;
        let (mut asks, mut bids) = (false, false);
        loop {
            let side = if !asks && self.lit(b"\"asks\":[") {
                asks = true;
                Side::Ask
            } else if !bids && self.lit(b"\"bids\":[") {
                bids = true;
                Side::Bid
            } else {
                return None;
            };
            if self.b.get(self.i) == Some(&b']') {
                self.i += 1;
            } else {
                loop {
                    // ["price","size","sequence"]
                    if !self.lit(b"[\"") {
                        return None;
                    }
                    let price = self.decimal_before(b'"')?;
                    if !self.lit(b"\",\"") {
                        return None;
                    }
                    let size = self.decimal_before(b'"')?;
                    if !self.lit(b"\",\"") {
                        return None;
                    }
                    let sequence = self.u64_before(b'"')?;
                    if !self.lit(b"\"]") {
                        return None;
                    }
                    out.changes.push(Change {
                        sequence,
                        side,
                        price,
                        size,
                    });
                    match self.next()? {
                        b',' => {}
                        b']' => break,
                        _ => return None,
                    }
                }
            }
            match self.next()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
        (asks && bids).then_some(())
    }

    /// `"price,buy|sell,size"`
    #[inline]
    fn futures_change(&mut self) -> Option<(Side, Decimal, Decimal)> {
        self.eat(b'"')?;
        let price = self.decimal_before(b',')?;
        self.eat(b',')?;
        let rest = self.b.get(self.i..)?;
        let side = if rest.starts_with(b"buy,") {
            self.i += 4;
            Side::Bid
        } else if rest.starts_with(b"sell,") {
            self.i += 5;
            Side::Ask
        } else {
            return None;
        };
        let size = self.decimal_before(b'"')?;
        self.eat(b'"')?;
        Some((side, price, size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPOT: &str = r#"{"type":"message","topic":"/market/level2:BTC-USDT","subject":"trade.l2update","data":{"changes":{"asks":[["65000.7","0.65077154","11"]],"bids":[["64999.2","0","12"]]},"sequenceEnd":12,"sequenceStart":11,"symbol":"BTC-USDT","time":1}}"#;

    #[test]
    fn fast_path_decodes_a_compact_spot_frame() {
        let spec = FrameSpec::spot("BTC-USDT");
        let mut u = Update::default();
        assert_eq!(spec.decode_frame(SPOT, &mut u).unwrap(), DecodePath::Fast);
        assert_eq!((u.start, u.end, u.changes.len()), (11, 12, 2));
        assert_eq!(u.changes[0].price.to_string(), "65000.7");
        assert_eq!(u.changes[1].size, Decimal::ZERO);
    }

    #[test]
    fn whitespace_goes_to_the_fallback_with_the_same_answer() {
        let spec = FrameSpec::spot("BTC-USDT");
        let mut fast = Update::default();
        spec.decode_frame(SPOT, &mut fast).unwrap();
        let spaced = SPOT.replace(',', ", ");
        let mut slow = Update::default();
        assert_eq!(
            spec.decode_frame(&spaced, &mut slow).unwrap(),
            DecodePath::Serde
        );
        assert_eq!(fast, slow);
    }

    #[test]
    fn wrong_topic_is_an_error() {
        let spec = FrameSpec::spot("ETH-USDT");
        let mut u = Update::default();
        assert!(matches!(
            spec.decode_frame(SPOT, &mut u),
            Err(BookError::WrongTopic { .. })
        ));
    }

    #[test]
    fn futures_change_text_is_split_exactly() {
        let spec = FrameSpec::futures("XBTUSDTM");
        let f = r#"{"topic":"/contractMarket/level2:XBTUSDTM","type":"message","subject":"level2","sn":5,"data":{"sequence":5,"change":"90631.2,sell,2","timestamp":1}}"#;
        let mut u = Update::default();
        assert_eq!(spec.decode_frame(f, &mut u).unwrap(), DecodePath::Fast);
        assert_eq!(u.changes[0].side, Side::Ask);
        assert_eq!(u.changes[0].price.to_string(), "90631.2");
        let bad = f.replace("sell", "short");
        assert!(matches!(
            spec.decode_frame(&bad, &mut u),
            Err(BookError::BadChange)
        ));
    }
}
