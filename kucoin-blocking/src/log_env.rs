//! A small logger for programs and examples: `RUST_LOG` filters, one line per record on stderr.
//!
//! `RUST_LOG` takes a default level and per-target levels, comma-separated:
//! `info`, `kucoin_blocking=debug,warn`, `off`. Unset, it is `warn`, so connection failures and
//! their causes are shown.
//!
//! ```
//! kucoin_blocking::log_env::init(); // once, at the start of main
//! log::warn!("shown unless RUST_LOG=off or error");
//! ```

use std::io::Write;
use std::time::Instant;

use log::{LevelFilter, Log, Metadata, Record};

/// The parsed filter: a default level and per-target-prefix levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    default: LevelFilter,
    rules: Vec<(String, LevelFilter)>,
}

impl Filter {
    /// Parses a `RUST_LOG` value (unknown levels and empty parts are ignored).
    #[must_use]
    pub fn parse(spec: &str) -> Self {
        let mut filter = Filter {
            default: LevelFilter::Warn,
            rules: Vec::new(),
        };
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some((target, level)) => {
                    if let Ok(level) = level.trim().parse() {
                        filter.rules.push((target.trim().replace('-', "_"), level));
                    }
                }
                None => match part.parse() {
                    Ok(level) => filter.default = level,
                    // A bare target means "everything from it".
                    Err(_) => filter
                        .rules
                        .push((part.replace('-', "_"), LevelFilter::Trace)),
                },
            }
        }
        // Longest prefix first.
        filter.rules.sort_by_key(|r| std::cmp::Reverse(r.0.len()));
        filter
    }

    /// The level allowed for `target`.
    #[must_use]
    pub fn level_for(&self, target: &str) -> LevelFilter {
        self.rules
            .iter()
            .find(|(prefix, _)| target.starts_with(prefix.as_str()))
            .map_or(self.default, |(_, l)| *l)
    }

    /// The most verbose level of any rule.
    #[must_use]
    pub fn max(&self) -> LevelFilter {
        self.rules
            .iter()
            .map(|(_, l)| *l)
            .chain([self.default])
            .max()
            .unwrap_or(LevelFilter::Warn)
    }
}

#[derive(Debug)]
struct StderrLogger {
    filter: Filter,
    start: Instant,
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.filter.level_for(metadata.target())
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = format!(
            "[{:>8.3}s {:<5} {}] {}\n",
            self.start.elapsed().as_secs_f64(),
            record.level(),
            record.target(),
            record.args()
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

/// Installs the logger with the filter of `RUST_LOG` (`warn` when unset). Returns `false` when
/// a logger was already installed.
pub fn init() -> bool {
    init_with(&std::env::var("RUST_LOG").unwrap_or_default())
}

/// Installs the logger with the filter `spec` (`RUST_LOG` syntax).
pub fn init_with(spec: &str) -> bool {
    let filter = Filter::parse(spec);
    let max = filter.max();
    let logger = StderrLogger {
        filter,
        start: Instant::now(),
    };
    // Installed once per process: the leak is the logger's lifetime.
    if log::set_logger(Box::leak(Box::new(logger))).is_ok() {
        log::set_max_level(max);
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_by_default_and_longest_target_prefix() {
        let f = Filter::parse("info,kucoin_blocking=debug,kucoin_blocking::transport=error");
        assert_eq!(f.level_for("other"), LevelFilter::Info);
        assert_eq!(f.level_for("kucoin_blocking"), LevelFilter::Debug);
        assert_eq!(
            f.level_for("kucoin_blocking::transport"),
            LevelFilter::Error
        );
        assert_eq!(f.max(), LevelFilter::Debug);
        assert_eq!(Filter::parse("").level_for("x"), LevelFilter::Warn);
        assert_eq!(Filter::parse("off").level_for("x"), LevelFilter::Off);
        assert_eq!(
            Filter::parse("kucoin-proto").level_for("kucoin_proto::feed"),
            LevelFilter::Trace
        );
    }
}
