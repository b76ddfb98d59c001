//! The appraisal service (考评, docs/domain.md §8): the assignment events folded
//! into facts, priced by a versioned rule set into scorecards and rankings
//! for grassroots courts, departments and people; periods published frozen,
//! corrected only by explicit adjustments.

pub mod consumer;
pub mod grpc;
pub mod service;
pub mod store;
