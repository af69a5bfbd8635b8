//! REST: signed request building and typed response parsing.
//!
//! (Owned by the REST-core work; `bullet` and `envelope` are the contracts the session uses.)

pub mod bullet;
pub mod envelope;
pub mod orderbook;

pub use bullet::{Bullet, InstanceServer};
pub use envelope::{ApiCode, ApiError, ErrorClass, ResponseError, parse_envelope};
pub use orderbook::{L2Snapshot, SnapshotLevel};
