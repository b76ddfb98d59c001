//! The registry service: the organisation directory now; sources, items and
//! the ledger (立项 · 台账) next.

pub mod convert;
pub mod grpc;
pub mod model;
pub mod org_file;
pub mod service;
pub mod store;

/// The demo court loaded by `duban dev --demo`: a fictional intermediate
/// court, its departments and three grassroots courts.
pub const DEMO_ORG: &str = include_str!("../demo/org.toml");
