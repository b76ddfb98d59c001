//! The machinery every Duban service shares (README, Layout and Design notes): configuration,
//! tracing, the Postgres pool and migrations, the clock, authentication, the
//! audit chain, domain events, idempotent mutations, the error → Status
//! mapping, server bootstrap, and private PostgreSQL clusters for dev and tests.

pub mod audit;
pub mod auth;
pub mod calendar;
pub mod clock;
pub mod configuration;
pub mod db;
pub mod deadline;
pub mod error;
pub mod events;
pub mod limits;
pub mod mutation;
pub mod page;
pub mod pg_cluster;
pub mod server;
pub mod telemetry;
pub mod test_db;
pub mod upload;

pub use error::{Error, Result};
