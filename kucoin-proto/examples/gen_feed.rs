//! Writes the benchmark corpus (the same bytes as the shared generator other KuCoin clients are
//! measured on): `<market>_snapshot.json`, `<market>_frames.jsonl`, `<market>_expected.json`.
//!
//! ```text
//! cargo run --release -p kucoin-proto --example gen_feed -- --out-dir DIR [--futures] [-n N] [--seed S] [--levels L] [--if-missing]
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/corpus/mod.rs"]
mod corpus;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut params = corpus::Params::default_for(false);
    let mut out_dir: Option<PathBuf> = None;
    let mut if_missing = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| usage(&format!("{name} needs a value")))
        };
        match arg.as_str() {
            "--futures" => params.futures = true,
            "--if-missing" => if_missing = true,
            "--out-dir" => out_dir = Some(PathBuf::from(value("--out-dir"))),
            "-n" | "--n" => params.n = number(&value("-n")),
            "--seed" => params.seed = number(&value("--seed")) as u64,
            "--levels" => params.levels = number(&value("--levels")),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    let Some(dir) = out_dir else {
        usage("--out-dir is required")
    };
    let market = params.market();
    let path = |kind: &str, ext: &str| dir.join(format!("{market}_{kind}.{ext}"));
    if if_missing && let Ok(text) = std::fs::read_to_string(path("expected", "json")) {
        let want = format!(
            "\"seed\": {},\n  \"n\": {},\n  \"levels\": {}",
            params.seed, params.n, params.levels
        );
        if text.contains(&want)
            && path("frames", "jsonl").exists()
            && path("snapshot", "json").exists()
        {
            eprintln!("{market}: data present ({}), skipping", dir.display());
            return ExitCode::SUCCESS;
        }
    }
    let generated = corpus::generate(&params);
    if let Err(e) = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(path("snapshot", "json"), &generated.snapshot))
        .and_then(|()| std::fs::write(path("frames", "jsonl"), &generated.frames))
        .and_then(|()| std::fs::write(path("expected", "json"), &generated.expected))
    {
        eprintln!("cannot write the corpus to {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    eprintln!("{market}: {} frames -> {}", params.n, dir.display());
    ExitCode::SUCCESS
}

fn number(text: &str) -> usize {
    text.replace('_', "")
        .parse()
        .unwrap_or_else(|_| usage(&format!("{text:?} is not a number")))
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("gen_feed: {problem}");
    }
    eprintln!(
        "usage: gen_feed --out-dir DIR [--futures] [-n N] [--seed S] [--levels L] [--if-missing]"
    );
    std::process::exit(2)
}
