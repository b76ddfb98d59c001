//! Taking over an old ledger with its follow-up (历史台账): BENCH_ROWS rows
//! (default 20,000) of a court's old ledger, every one in a follow-up state
//! (已交办 … 已销号), are imported by the registry (ImportLedger, streamed)
//! and their follow-up handed to the assignment service (ImportAssignments,
//! streamed, one transaction); then the same follow-up again (all already
//! assigned). Over real gRPC against a fresh database, as the CLI's
//! `duban ledger import` does it.
//!
//!     cargo bench -p duban-tests --bench ledger_history

use duban::cli::items::{follow_up, import_history, import_rows};
use duban_core::ledger::Column;
use duban_proto::registry::v1 as reg;
use duban_tests::bench::BenchSuite;
use std::collections::BTreeMap;
use std::time::Instant;

const STATES: [&str; 6] = ["已交办", "已签收", "办理中", "已报办结", "已办结", "已销号"];

/// An old ledger's row `i`: assigned some day of 2026 to a department (every
/// fifth with a co-unit), every third with a deadline, a line of progress.
fn row(i: usize, departments: &[String]) -> reg::LedgerRow {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap() + chrono::Duration::days((i % 300) as i64);
    let mut cells = BTreeMap::new();
    let mut put = |c: Column, v: String| {
        cells.insert(c.header().to_owned(), v);
    };
    put(Column::Title, format!("历史督办事项第{i}项:清理长期未结案件"));
    put(Column::Source, "院长批示".into());
    put(Column::RegisteredOn, (day - chrono::Duration::days(2)).to_string());
    put(Column::AssignedOn, day.to_string());
    put(Column::Urgency, "一般事项".into());
    put(Column::LeadUnit, departments[i % departments.len()].clone());
    if i.is_multiple_of(5) {
        put(Column::CoUnits, departments[(i + 1) % departments.len()].clone());
    }
    if i.is_multiple_of(3) {
        put(Column::Deadline, (day + chrono::Duration::days(30)).to_string());
    }
    put(
        Column::Progress,
        format!(
            "已召开专题会议研究部署,逐案明确承办人和办结时限,已办结{}件,其余正在推进。",
            i % 40
        ),
    );
    put(Column::State, STATES[i % STATES.len()].into());
    reg::LedgerRow {
        row: i as i32 + 2,
        cells: cells.into_iter().collect(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let suite = BenchSuite::start(None).await?;
    let db = &suite.db;
    let mut registry = suite.registry().await?;
    let mut assignments = suite.assignments().await?;
    let departments: Vec<String> = sqlx::query_scalar(
        "SELECT u.name FROM registry.units u WHERE u.kind = 'department' ORDER BY u.sort_order, u.name",
    )
    .fetch_all(&db.pool)
    .await?;
    let rows: Vec<reg::LedgerRow> = (0..n).map(|i| row(i, &departments)).collect();
    let file = std::path::Path::new("old-ledger.xlsx");

    let started = Instant::now();
    let imported = import_rows(&mut registry, &rows, file, String::new(), false, false).await?;
    let ledger_time = started.elapsed();
    println!(
        "ImportLedger of {n} rows: {:.1?} ({} created)",
        ledger_time, imported.created
    );
    let history = follow_up(&rows, &imported);
    let started = Instant::now();
    let out = import_history(&mut assignments, history.clone(), false, false).await?;
    let took = started.elapsed();
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM assignment.assignments")
        .fetch_one(&db.pool)
        .await?;
    println!(
        "ImportAssignments of {} rows: {:.1?} ({:.0} rows/s; {} items, {made} assignments with their milestones, feedback and events)",
        history.len(),
        took,
        history.len() as f64 / took.as_secs_f64(),
        out.created
    );
    let started = Instant::now();
    let again = import_history(&mut assignments, history, false, false).await?;
    println!(
        "ImportAssignments again (all already assigned: {}): {:.1?}",
        again.unchanged,
        started.elapsed()
    );
    Ok(())
}
