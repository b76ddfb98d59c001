//! The assignment service: the working-day calendar and the deadlines it
//! gives (13710 and the older interim rules); assignments and their
//! follow-up come next.

pub mod calendar;
pub mod calendar_file;
pub mod convert;
pub mod grpc;
pub mod store;

/// The health entry that turns NOT_SERVING from 1 November while next year's
/// calendar is missing: a warning an orchestrator or a dashboard can see.
pub const CALENDAR_HEALTH: &str = "duban.assignment.v1.AssignmentService.calendar";
