//! kucoin-codegen: writes `kucoin-proto/src/rest/api/` from the condensed KuCoin specification.
//!
//! ```text
//! cargo run -p kucoin-codegen                      # regenerate kucoin-proto/src/rest/api/
//! cargo run -p kucoin-codegen -- --check           # exit 1 when the committed code is stale
//! cargo run -p kucoin-codegen -- condense DIR      # refresh spec/ from KuCoin's spec folder
//! ```
//!
//! The condensed specification (`kucoin-proto/codegen/spec/*.json`) holds only facts: paths,
//! methods, hosts, permissions, rate-limit pools and weights, parameter and schema names, types,
//! enums, and the example request and answer of every operation.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod condense;
mod generate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let spec = crate_dir().join("spec");
    let out = crate_dir().join("../src/rest/api");
    let result = match args.first().map(String::as_str) {
        Some("condense") => {
            let Some(dir) = args.get(1) else {
                eprintln!(
                    "usage: cargo run -p kucoin-codegen -- condense /path/to/kucoin-spec (the folder holding rest/openapi-*.json)"
                );
                return ExitCode::from(2);
            };
            condense::run(Path::new(dir), &spec).map(|n| {
                println!("condensed {n} operations into {}", spec.display());
            })
        }
        Some("--check") => match generate::render(&spec) {
            Err(e) => Err(e),
            Ok(files) => {
                let stale = generate::stale(&out, &files);
                if stale.is_empty() {
                    println!("kucoin-proto/src/rest/api is current");
                    Ok(())
                } else {
                    for f in &stale {
                        eprintln!("stale: {f}");
                    }
                    eprintln!(
                        "the generated REST code differs from what the generator gives: run `cargo run -p kucoin-codegen` and commit"
                    );
                    return ExitCode::from(1);
                }
            }
        },
        None => generate::render(&spec).and_then(|files| {
            generate::write(&out, &files)?;
            println!("wrote {} files into {}", files.len(), out.display());
            Ok(())
        }),
        Some(other) => Err(format!(
            "unknown argument {other:?}: use no argument (generate), --check, or condense DIR"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kucoin-codegen: {e}");
            ExitCode::FAILURE
        }
    }
}
