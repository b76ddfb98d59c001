//! Pure domain rules of Duban. Nothing here does I/O: no database, no network,
//! no clock. Every rule is a function of its inputs, tested with tables worked
//! out by hand.

pub mod access;
pub mod assignment;
pub mod calendar;
pub mod item;
pub mod ledger;
pub mod org;
pub mod policy;
pub mod role;
pub mod validation;

pub use role::Role;
pub use validation::{FieldViolation, Violations};
