//! The reporting worker (通报, docs/domain.md §7): the weekly progress list, the
//! Friday reminder to each liaison, the monthly, quarterly and annual
//! bulletins with their issue analysis; rendered with tera, e-mailed with
//! lettre, archived with their data.

pub mod analysis;
pub mod compose;
pub mod figures;
pub mod grpc;
pub mod mail;
pub mod model;
pub mod notice_store;
pub mod notices;
pub mod period;
pub mod rankings;
pub mod render;
pub mod rules;
pub mod schedule;
pub mod service;
pub mod store;
pub mod worker;

#[cfg(test)]
mod testing;
