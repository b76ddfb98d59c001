//! Sources, items, their registration and decomposition, and the ledger.

pub mod convert;
pub mod ledger;
pub mod model;
pub mod service;
pub mod store;
