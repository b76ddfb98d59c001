//! The organisation directory: units, people, heads and liaisons, 分管, role
//! bindings, and the org file.

pub mod file;
pub mod model;
pub mod service;
pub mod store;
