//! The assignment service: the working-day calendar and the deadlines it
//! gives (13710 and the older interim rules), and assignments from 交办 to
//! the weekly 销号.

pub mod assignment_store;
pub mod assignments;
pub mod calendar;
pub mod calendar_file;
pub mod claim_store;
pub mod claims;
pub mod convert;
pub mod grpc;
pub mod history;
pub mod plans;
pub mod recompute;
pub mod reinspection;
pub mod store;
pub mod urging;
pub mod watch;

/// The health entry that turns NOT_SERVING from 1 November while next year's
/// calendar is missing: a warning an orchestrator or a dashboard can see.
pub const CALENDAR_HEALTH: &str = "duban.assignment.v1.AssignmentService.calendar";
