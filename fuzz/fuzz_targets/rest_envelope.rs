#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kucoin_proto::rest::parse_envelope::<serde_json::Value>(200, data);
});
