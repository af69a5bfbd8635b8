#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kucoin_proto::fuzzing::futures_l2(std::time::Instant::now(), data));
