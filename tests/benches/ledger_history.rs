//! Taking over an old ledger with its follow-up (历史台账): BENCH_ROWS rows
//! (default 20,000) of a court's old ledger, every one in a follow-up state
//! (已交办 … 已销号), are imported by the registry (ImportLedger, streamed)
//! and their follow-up handed to the assignment service (ImportAssignments,
//! streamed, one transaction); then the same follow-up again (all already
//! assigned). Over real gRPC against a fresh database, as the CLI's
//! `duban ledger import` does it.
//!
//!     cargo bench -p duban-tests --bench ledger_history

use duban::app::{self, ServiceKind};
use duban::cli::Bearer;
use duban::cli::items::{follow_up, import_history, import_rows};
use duban_core::Role;
use duban_core::ledger::Column;
use duban_platform::configuration::Settings;
use duban_platform::test_db::TestDatabase;
use duban_proto::assignment::v1::assignment_service_client::AssignmentServiceClient;
use duban_proto::registry::v1 as reg;
use duban_proto::registry::v1::registry_service_client::RegistryServiceClient;
use duban_tests::issue_token;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

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
    let db = TestDatabase::fresh().await?;
    let mut settings = Settings::default();
    settings.server.registry_port = 0;
    settings.server.assignment_port = 0;
    settings.database.url = Some(SecretString::from(db.url.clone()));
    let pool = duban_platform::db::pool_for_url(&db.url, &settings.database)?;
    let running = app::start(
        &settings,
        pool,
        &[ServiceKind::Registry, ServiceKind::Assignment],
        CancellationToken::new(),
    )
    .await?;
    let token = issue_token(&db, "bench", &[Role::Admin], &[], Some(chrono::Duration::days(1))).await;
    let channel = async |kind| {
        let addr = running.addr(kind).unwrap();
        tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap()
    };
    let mut registry =
        RegistryServiceClient::with_interceptor(channel(ServiceKind::Registry).await, Bearer::new(&token)?)
            .max_decoding_message_size(256 << 20);
    let mut assignments =
        AssignmentServiceClient::with_interceptor(channel(ServiceKind::Assignment).await, Bearer::new(&token)?);
    // Wait for migrations and the calendar seed.
    for _ in 0..100 {
        let years: i64 = sqlx::query_scalar("SELECT count(*) FROM assignment.calendar_years")
            .fetch_one(&db.pool)
            .await
            .unwrap_or(0);
        if years >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    registry
        .import_org_directory(reg::ImportOrgDirectoryRequest {
            request_id: "org".into(),
            content: duban_registry::DEMO_ORG.into(),
            dry_run: false,
        })
        .await?;
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
    let out = import_history(&mut assignments, history.clone(), false).await?;
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
    let again = import_history(&mut assignments, history, false).await?;
    println!(
        "ImportAssignments again (all already assigned: {}): {:.1?}",
        again.unchanged,
        started.elapsed()
    );
    Ok(())
}
