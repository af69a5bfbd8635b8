//! Measures how many level-2 frames per second the fake can push to one raw WebSocket client.
//!
//! `cargo run --release -p kucoin-tests --example fake_throughput [SECONDS] [UPDATES_PER_MS]`

use std::time::{Duration, Instant};

use kucoin_tests::{FakeConfig, FakeKucoin};
use tungstenite::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map_or(Ok(3), |s| s.parse())?;
    let per_ms: u32 = args.next().map_or(Ok(1000), |s| s.parse())?;
    let mut config = FakeConfig::spot().with_rate(Duration::from_millis(1), per_ms);
    config.symbols.truncate(1);
    let fake = FakeKucoin::start(config)?;
    let body = ureq::post(format!("{}/api/v1/bullet-public", fake.rest_url()))
        .send_empty()?
        .body_mut()
        .read_to_string()?;
    let json: serde_json::Value = serde_json::from_str(&body)?;
    let token = json["data"]["token"]
        .as_str()
        .ok_or("no token")?
        .replace('=', "%3D");
    let (mut ws, _) = tungstenite::connect(format!("{}?token={token}", fake.ws_url()))?;
    ws.send(Message::text(
        r#"{"id":"1","type":"subscribe","topic":"/market/level2:BTC-USDT","response":true}"#,
    ))?;
    let started = Instant::now();
    let mut frames = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        if let Message::Text(_) = ws.read()? {
            frames += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stats = fake.stats();
    println!(
        "received {frames} frames in {elapsed:.2} s = {:.0} frames/s (generated {} updates)",
        frames as f64 / elapsed,
        stats.updates_generated
    );
    Ok(())
}
