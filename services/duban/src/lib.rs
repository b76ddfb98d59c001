//! The `duban` binary's library half: wiring of the services (`app`), dev
//! mode, and the client commands, so that tests start exactly what ships.

pub mod app;
pub mod cli;
pub mod demo;
pub mod demo_reports;
pub mod dev;
pub mod dev_clock_grpc;
pub mod ledger_xlsx;
pub mod rankings;
