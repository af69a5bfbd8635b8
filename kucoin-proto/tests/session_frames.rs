//! Messages, unknown frames and malformed frames.

mod common;

use common::{Driver, exact_config, secs};
use kucoin_proto::ws::{FrameError, SessionEvent, SessionState};

fn fixture(name: &str) -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/kucoin-docs/");
    std::fs::read_to_string(format!("{dir}{name}")).unwrap()
}

#[test]
fn message_frames_come_out_with_topic_subject_and_raw_data() {
    let mut d = Driver::new(exact_config());
    d.run_until(secs(1));
    let frame = fixture("spot-ws-level2-increment.json");
    let now = d.now;
    let m = d.session.handle_frame(now, &frame).unwrap().unwrap();
    assert_eq!(m.topic(), "/market/level2:BTC-USDT");
    assert_eq!(m.subject(), Some("trade.l2update"));
    let data: serde_json::Value = serde_json::from_str(m.data().unwrap().get()).unwrap();
    assert_eq!(data["sequenceStart"], 14701689783u64);
    assert!(std::ptr::eq(m.frame(), frame.as_str()), "borrows the frame");
    // The raw data is a slice of the frame, not a copy.
    let raw = m.data().unwrap().get();
    let start = raw.as_ptr() as usize - frame.as_ptr() as usize;
    assert_eq!(&frame[start..start + raw.len()], raw);

    let frame = fixture("spot-ws-private-account-balance.json");
    let m = d.session.handle_frame(now, &frame).unwrap().unwrap();
    assert_eq!(m.topic(), "/account/balance");
    assert_eq!(m.subject(), Some("account.balance"));
    assert!(m.data().unwrap().get().contains("\"currency\":\"USDT\""));
}

#[test]
fn unknown_frame_types_are_reported_not_fatal() {
    let mut d = Driver::new(exact_config());
    d.run_until(secs(1));
    d.server_send(r#"{"type":"notice","data":"maintenance at noon"}"#);
    d.server_send(r#"{"type":"brand-new"}"#);
    assert_eq!(
        d.count(|e| matches!(e, SessionEvent::UnknownFrame { .. })),
        2
    );
    assert!(d.events.iter().any(|(_, e)| *e
        == SessionEvent::UnknownFrame {
            kind: "brand-new".into()
        }));
    assert_eq!(d.session.state(), SessionState::Live);
    d.run_until(secs(40));
    assert_eq!(d.session.state(), SessionState::Live);
    assert_eq!(d.server.connects.len(), 1);
}

#[test]
fn malformed_frames_are_typed_errors_and_the_session_lives_on() {
    let mut d = Driver::new(exact_config());
    d.run_until(secs(1));
    let now = d.now;
    for bad in [
        "",
        "not json",
        "[1,2]",
        "{\"type\":",
        "{\"id\":\"1\"}",
        "{\"type\":\"message\"}",
    ] {
        let err = d.session.handle_frame(now, bad).unwrap_err();
        assert!(
            matches!(
                err,
                FrameError::Malformed { .. } | FrameError::MissingField { .. }
            ),
            "{bad:?} -> {err:?}"
        );
        assert!(!err.to_string().is_empty());
    }
    // A broken `data` after a good header surfaces when the data is read.
    let m = d
        .session
        .handle_frame(
            now,
            r#"{"type":"message","topic":"/t:A","subject":"s","data":{"#,
        )
        .unwrap()
        .unwrap();
    assert!(matches!(m.data(), Err(FrameError::Data { .. })));
    assert_eq!(d.session.state(), SessionState::Live);
    d.run_until(secs(60));
    assert_eq!(d.session.state(), SessionState::Live);
    assert_eq!(d.server.connects.len(), 1);
}

#[test]
fn frames_from_a_connection_the_session_left_are_dropped() {
    let mut d = Driver::new(exact_config());
    d.run_until(secs(1));
    d.server_close();
    let now = d.now;
    let frame = fixture("spot-ws-all-tickers.json");
    assert!(d.session.handle_frame(now, &frame).unwrap().is_none());
    assert!(d.session.handle_frame(now, "garbage").unwrap().is_none());
}
