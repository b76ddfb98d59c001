//! The registry service: the organisation directory (`org`), and sources,
//! items and the ledger (`items`). `grpc.rs` adapts both to the wire.

pub mod convert;
pub mod grpc;
pub mod items;
pub mod org;

/// The demo court loaded by `duban dev --demo`: a fictional intermediate
/// court, its departments and three grassroots courts.
pub const DEMO_ORG: &str = include_str!("../demo/org.toml");
