//! `kucoin`: KuCoin from the command line (see `kucoin --help` and the README).
//!
//! Install with `cargo install --path kucoin-blocking --features cli`.

use std::collections::BTreeMap;
use std::process::ExitCode;

fn main() -> ExitCode {
    kucoin_blocking::log_env::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let code =
        kucoin_blocking::cli::run(&args, &env, &mut std::io::stdout(), &mut std::io::stderr());
    ExitCode::from(code)
}
