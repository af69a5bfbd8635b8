//! Oracles for the fuzz crate (feature `fuzzing`; not a stable API).

use super::frame::{Frame, parse_frame, parse_frame_serde};

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
