//! Differential test: wherever the fast decoder answers, it agrees with the serde_json decoder.
//! Inputs: the documented fixtures, the generated corpus, and deterministic mutations of it.

mod book_common;

use book_common::{fixture, generate};
use kucoin_proto::book::{BookError, DecodePath, FrameSpec, Update};

/// splitmix64: a tiny seeded generator, so every run tests the same frames.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Default)]
struct Tally {
    fast_ok: usize,
    fast_err: usize,
    fallback_ok: usize,
    fallback_err: usize,
}

fn check(spec: &FrameSpec, frame: &str, tally: &mut Tally) {
    let mut a = Update::default();
    let got = spec.decode_frame(frame, &mut a);
    let mut b = Update::default();
    let want = spec.decode_frame_serde(frame, &mut b);
    let got: Result<(DecodePath, &Update), BookError> = got.map(|p| (p, &a));
    match (&got, &want) {
        (Ok((_, u)), Ok(())) => assert_eq!(*u, &b, "frame {frame}"),
        (Err(e1), Err(e2)) => assert_eq!(e1, e2, "frame {frame}"),
        _ => panic!("paths disagree on {frame}: {got:?} vs {want:?}"),
    }
    let mut raw = Update::default();
    let fast = spec.decode_frame_fast(frame, &mut raw);
    match (fast, want.is_ok()) {
        (true, true) => tally.fast_ok += 1,
        (true, false) => tally.fast_err += 1,
        (false, true) => tally.fallback_ok += 1,
        (false, false) => tally.fallback_err += 1,
    }
}

fn mutate(rng: &mut Rng, frame: &str) -> String {
    let mut b = frame.as_bytes().to_vec();
    if b.is_empty() {
        return String::new();
    }
    let at = rng.below(b.len());
    const BYTES: &[u8] = b" ,:{}[]\"0123456789.-eE+\\abnuy\n";
    match rng.below(7) {
        0 => b[at] = BYTES[rng.below(BYTES.len())],
        1 => {
            b.remove(at);
        }
        2 => b.insert(at, BYTES[rng.below(BYTES.len())]),
        3 => b.truncate(at),
        4 => {
            // whitespace after a structural character
            if let Some(p) = b
                .iter()
                .skip(at)
                .position(|c| matches!(c, b',' | b':' | b'['))
            {
                b.insert(at + p + 1, b' ');
            }
        }
        5 => {
            // a digit changed (numbers, sequences)
            if let Some(p) = b.iter().skip(at).position(u8::is_ascii_digit) {
                b[at + p] = b'0' + rng.below(10) as u8;
            }
        }
        _ => {
            // other key order: re-serialise (serde_json sorts object keys)
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(frame) {
                return serde_json::to_string(&v).unwrap();
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn run(futures: bool) -> Tally {
    let c = generate(futures, 3_000);
    let spec = if futures {
        FrameSpec::futures("XBTUSDTM")
    } else {
        FrameSpec::spot("BTC-USDT")
    };
    let mut tally = Tally::default();
    for f in &c.frames {
        check(&spec, f, &mut tally);
    }
    assert_eq!(
        tally.fast_ok,
        c.frames.len(),
        "every corpus frame takes the fast path"
    );
    let mut rng = Rng(if futures { 7 } else { 11 });
    for _ in 0..30_000 {
        let f = &c.frames[rng.below(c.frames.len())];
        let mut m = mutate(&mut rng, f);
        if rng.below(4) == 0 {
            m = mutate(&mut rng, &m);
        }
        check(&spec, &m, &mut tally);
    }
    tally
}

#[test]
fn fast_and_serde_decoders_agree_on_spot_frames_and_mutations() {
    let t = run(false);
    assert!(t.fast_ok > 3_000 && t.fast_err > 0 && t.fallback_ok > 0 && t.fallback_err > 1_000);
}

#[test]
fn fast_and_serde_decoders_agree_on_futures_frames_and_mutations() {
    let t = run(true);
    // A futures message that decodes cannot fail validation, so there is no `fast_err` here.
    assert!(t.fast_ok > 3_000 && t.fallback_ok > 0 && t.fallback_err > 1_000);
}

#[test]
fn fast_and_serde_decoders_agree_on_documented_frames() {
    let mut tally = Tally::default();
    let spot = FrameSpec::spot("BTC-USDT");
    for name in [
        "spot-ws-level2-increment.json",
        "spot-ws-level2-increment-multi.json",
    ] {
        check(&spot, &fixture(name), &mut tally);
    }
    let futures = FrameSpec::futures("XBTUSDTM");
    check(
        &futures,
        &fixture("futures-ws-level2-increment.json"),
        &mut tally,
    );
    // Frames of other kinds are errors on both paths.
    for name in ["ws-ack.json", "ws-pong.json", "spot-ws-ticker.json"] {
        check(&spot, &fixture(name), &mut tally);
    }
    assert_eq!(
        (tally.fast_ok, tally.fallback_ok, tally.fallback_err),
        (2, 1, 3)
    );
}
