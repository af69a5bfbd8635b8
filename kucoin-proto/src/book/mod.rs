//! Level-2 order books kept in step with KuCoin: exact numbers, sequence checks, resync.
