//! Oracles for the fuzz crate (feature `fuzzing`; not a stable API).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::frame::{Frame, parse_frame, parse_frame_serde};
use super::{DisconnectCause, Session, SessionConfig, SessionState, Topic, Transmit};

/// Drives a [`Session`] with inputs decoded from `data` (one byte picks the input, the next
/// ones its parameters) and checks after every step that:
/// - nothing panics;
/// - after `handle_timeout(now)` the next deadline is later than `now` (no busy loop);
/// - no token is handed out twice;
/// - a closed session wants nothing (no deadline, fetch or connect).
///
/// `t0` is any base instant (the fuzz target reads its clock once).
#[allow(clippy::panic)] // a fuzz oracle reports a broken invariant by panicking
pub fn session_script(t0: Instant, data: &[u8]) {
    let mut bytes = data.iter().copied();
    let mut next = move || bytes.next();
    let seed = u64::from(next().unwrap_or(0));
    let private = next().unwrap_or(0) % 2 == 1;
    let config = SessionConfig {
        private,
        max_attempts: if seed % 3 == 0 { Some(4) } else { None },
        ..SessionConfig::default()
    }
    .with_seed(seed);
    let mut now = t0;
    let mut s = Session::new(config, now);
    let mut bullets = 0u32;
    let mut tokens = BTreeSet::new();
    let mut ids: Vec<String> = Vec::new();
    while let Some(op) = next() {
        let arg = next().unwrap_or(0);
        match op % 15 {
            0 | 1 => {
                now += Duration::from_millis(u64::from(arg) * 200);
                s.handle_timeout(now);
                if let Some((at, why)) = s.poll_timeout() {
                    assert!(
                        at > now,
                        "{why:?} due at or before now after handle_timeout"
                    );
                }
            }
            2 | 3 => {
                bullets += 1;
                let (interval, timeout) = match arg % 4 {
                    0 => (18_000, 10_000),
                    1 => (1, 1),
                    2 => (0, 5),
                    _ => (50_000, 100_000),
                };
                let body = format!(
                    r#"{{"code":"200000","data":{{"token":"tok-{bullets}","expiresIn":{},"instanceServers":[{{"endpoint":"wss://a.example/","pingInterval":{interval},"pingTimeout":{timeout}}},{{"endpoint":"not a url","pingInterval":1000,"pingTimeout":1000}}]}}}}"#,
                    u64::from(arg) * 1_000
                );
                let _ = s.handle_bullet_response(now, 200, body.as_bytes());
                if op % 15 == 3 {
                    s.handle_connected(now);
                    let _ = s.handle_frame(now, r#"{"id":"x","type":"welcome"}"#);
                }
            }
            4 => s.handle_bullet_failed(now, "dns".into()),
            5 => s.handle_connected(now),
            6 => s.handle_connect_failed(now, "refused".into()),
            7 => s.handle_disconnected(now, DisconnectCause::Transport("reset".into())),
            8 | 9 => {
                let id = ids
                    .get(usize::from(arg) % ids.len().max(1))
                    .cloned()
                    .unwrap_or_default();
                let code = [401, 404, 509, 500][usize::from(arg % 4)];
                let frame = match arg % 8 {
                    0 => r#"{"id":"x","type":"welcome"}"#.to_owned(),
                    1 => format!(r#"{{"id":"{id}","type":"pong"}}"#),
                    2 | 3 => format!(r#"{{"id":"{id}","type":"ack"}}"#),
                    4 => format!(r#"{{"id":"{id}","type":"error","code":{code},"data":"e"}}"#),
                    5 => r#"{"type":"message","topic":"/market/level2:S1-USDT","data":{"a":[1]}}"#
                        .to_owned(),
                    6 => r#"{"type":"notice"}"#.to_owned(),
                    _ => String::from_utf8_lossy(data).into_owned(),
                };
                if let Ok(Some(m)) = s.handle_frame(now, &frame) {
                    let _ = m.data();
                    let _ = m.data_str();
                }
            }
            10 => {
                let topic = match arg % 6 {
                    0 => Topic::whole("/market/ticker:all"),
                    5 => Topic::whole("/account/balance").map(Topic::private),
                    n => Topic::new("/market/level2", format!("S{n}-USDT")),
                };
                if let Ok(t) = topic {
                    if arg % 2 == 0 {
                        let _ = s.subscribe(t);
                    } else {
                        let _ = s.unsubscribe(&t);
                    }
                }
            }
            11 => s.close(now),
            13 => {
                let _ = if arg % 2 == 0 {
                    s.handle_suspend(now)
                } else {
                    s.handle_resume(now)
                };
            }
            14 => {
                let _ = s.handle_network_change(now);
            }
            _ => {
                // Stale time must be harmless.
                s.handle_timeout(t0);
            }
        }
        while let Some(t) = s.poll_transmit() {
            if let Transmit::Text(text) = t
                && let Some(rest) = text.strip_prefix(r#"{"id":""#)
                && let Some((id, _)) = rest.split_once('"')
            {
                ids.push(id.to_owned());
                if ids.len() > 8 {
                    ids.remove(0);
                }
            }
        }
        let _ = s.poll_fetch();
        if let Some(url) = s.poll_connect() {
            let token = url
                .query_pairs()
                .find(|p| p.0 == "token")
                .map(|p| p.1.into_owned())
                .unwrap_or_default();
            assert!(tokens.insert(token), "a token was handed out twice");
        }
        while s.poll_event().is_some() {}
        if matches!(s.state(), SessionState::Closed | SessionState::Suspended) {
            assert_eq!(
                s.poll_timeout(),
                None,
                "a closed or suspended session has a deadline"
            );
            assert!(s.poll_fetch().is_none() && s.poll_connect().is_none());
        }
    }
}

/// Parses `text` with the header scanner and with serde and panics if they disagree on a
/// frame serde accepts (topic, subject, data, or the control frame).
///
/// Frames serde rejects may still be accepted by the scanner when the header is sound and
/// the damage is after it; then `Message::data` must report the error.
#[allow(clippy::panic)] // a fuzz oracle reports a disagreement by panicking
pub fn frame_differential(text: &str) {
    let fast = parse_frame(text);
    match parse_frame_serde(text) {
        Ok(Frame::Message(slow)) => {
            let Ok(Frame::Message(fast)) = fast else {
                panic!("serde sees a message, the scanner does not: {text:?}");
            };
            let slow_data = slow.data().map(|d| d.get()).ok();
            assert_eq!(fast.topic(), slow.topic(), "topic differs: {text:?}");
            assert_eq!(fast.subject(), slow.subject(), "subject differs: {text:?}");
            assert_eq!(
                fast.data().map(|d| d.get()).ok(),
                slow_data,
                "data: {text:?}"
            );
            assert_eq!(fast.data_str().ok(), slow_data, "data_str: {text:?}");
        }
        Ok(slow) => match fast {
            Ok(fast) => assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{text:?}"),
            Err(e) => panic!("scanner failed where serde parsed: {e} in {text:?}"),
        },
        Err(_) => {
            if let Ok(Frame::Message(m)) = fast {
                // Accepted on the header alone: reading the data must not panic.
                let _ = m.data();
                let _ = m.data_str();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEYS: &[&str] = &[
        "type",
        "topic",
        "subject",
        "id",
        "data",
        "code",
        "x",
        "ty\\u0070e",
    ];
    const VALUES: &[&str] = &[
        r#""message""#,
        r#""/market/level2:BTC-USDT""#,
        r#""trade.l2update""#,
        r#""pong""#,
        r#""ack""#,
        r#""error""#,
        "1",
        r#"{"a":[1,"}\"]"],"b":{}}"#,
        "null",
        r#""a\"b""#,
        "[]",
        r#""mess\u0061ge""#,
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn session_script_holds_its_invariants(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            #[allow(clippy::disallowed_methods)] // a base instant; only offsets matter
            let t0 = Instant::now();
            session_script(t0, &data);
        }

        #[test]
        fn scanner_and_serde_agree_on_generated_frames(
            pairs in proptest::collection::vec((0..KEYS.len(), 0..VALUES.len()), 0..7),
            ws in 0usize..3,
        ) {
            let sep = [",", " , ", ",\n"][ws];
            let body: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("\"{}\":{}", KEYS[*k], VALUES[*v]))
                .collect();
            let frame = format!("{{{}}}", body.join(sep));
            frame_differential(&frame);
        }
    }

    #[test]
    fn differential_oracle_accepts_agreeing_parses() {
        for f in [
            r#"{"type":"message","topic":"/t:A","subject":"s","data":{"x":[1,"]"]}}"#,
            r#"{"id":"1","type":"pong"}"#,
            r#"{"type":"message","topic":"/t:A","data":{"#,
            "garbage",
        ] {
            frame_differential(f);
        }
    }
}
