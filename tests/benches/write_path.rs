//! The assignment write path under load: 16 concurrent gRPC clients each
//! take items through assign → acknowledge → initial feedback → completion
//! report → verify; then pgbench runs a transaction writing the rows one
//! feedback step writes (`write_path.pgbench.sql`), on the same database.
//!
//!     cargo bench -p duban-tests --bench write_path
//!
//! BENCH_CLIENTS (16), BENCH_ITEMS_PER_CLIENT (40), BENCH_PGBENCH_SECS (20).

use duban_proto::assignment::v1 as pb;
use duban_tests::bench::BenchSuite;
use std::time::{Duration, Instant};
use uuid::Uuid;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentiles(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1];
    format!(
        "p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms",
        at(0.50).as_secs_f64() * 1e3,
        at(0.95).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let clients = env_or("BENCH_CLIENTS", 16);
    let per_client = env_or("BENCH_ITEMS_PER_CLIENT", 40);
    let pgbench_secs = env_or("BENCH_PGBENCH_SECS", 20);
    let suite = BenchSuite::start(Some(32)).await?;
    let db = &suite.db;
    // Registered items, bulk-made in SQL: the load is the assignment path.
    let court: Uuid = sqlx::query_scalar("SELECT id FROM registry.units WHERE code = 'jczy'")
        .fetch_one(&db.pool)
        .await?;
    let units: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM registry.units WHERE kind = 'department'")
        .fetch_all(&db.pool)
        .await?;
    let total = clients * per_client;
    sqlx::query(
        "INSERT INTO registry.items (id, court_id, number, title, urgency, urgency_reason, lead_unit_id, ancestry, state, registered_at, registered_on, created_at, updated_at) \
         SELECT id, $1, '督〔2026〕' || g || '号', '基准事项' || g, 'general', '基准', $2[1 + g % array_length($2, 1)], ARRAY[id], 'registered', now(), current_date, now(), now() \
         FROM (SELECT g, gen_random_uuid() AS id FROM generate_series(1, $3) g) x",
    )
    .bind(court)
    .bind(&units)
    .bind(total as i32)
    .execute(&db.pool)
    .await?;
    let items: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM registry.items ORDER BY seq")
        .fetch_all(&db.pool)
        .await?;
    println!(
        "write path: {clients} clients × {per_client} items, 5 RPCs each (assign, acknowledge, feedback, completion, verify)"
    );

    let started = Instant::now();
    let mut tasks = Vec::new();
    for chunk in items.chunks(per_client) {
        let chunk = chunk.to_vec();
        let mut c = suite.assignments().await?;
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let timed = async |f: std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<pb::Assignment, tonic::Status>> + Send + '_>,
            >| {
                let t = Instant::now();
                let out = f.await;
                (t.elapsed(), out)
            };
            for item in chunk {
                let rid = || Uuid::new_v4().to_string();
                let t = Instant::now();
                let a = c
                    .assign_item(pb::AssignItemRequest {
                        request_id: rid(),
                        item_id: item.to_string(),
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .assignments[0]
                    .clone();
                samples.push(t.elapsed());
                let (d, a) = timed(Box::pin(async {
                    c.acknowledge(pb::AcknowledgeRequest {
                        request_id: rid(),
                        id: a.id.clone(),
                        etag: a.etag.clone(),
                        deployment: "已部署".into(),
                    })
                    .await
                    .map(|r| r.into_inner())
                }))
                .await;
                samples.push(d);
                let a = a.unwrap();
                let (d, a) = timed(Box::pin(async {
                    c.submit_feedback(pb::SubmitFeedbackRequest {
                        request_id: rid(),
                        id: a.id.clone(),
                        etag: a.etag.clone(),
                        kind: "initial".into(),
                        text: "初步落实".into(),
                        ..Default::default()
                    })
                    .await
                    .map(|r| r.into_inner())
                }))
                .await;
                samples.push(d);
                let a = a.unwrap();
                let (d, a) = timed(Box::pin(async {
                    c.submit_feedback(pb::SubmitFeedbackRequest {
                        request_id: rid(),
                        id: a.id.clone(),
                        etag: a.etag.clone(),
                        kind: "completion".into(),
                        text: "已办结".into(),
                        ..Default::default()
                    })
                    .await
                    .map(|r| r.into_inner())
                }))
                .await;
                samples.push(d);
                let a = a.unwrap();
                let (d, a) = timed(Box::pin(async {
                    c.verify(pb::VerifyRequest {
                        request_id: rid(),
                        id: a.id.clone(),
                        etag: a.etag.clone(),
                        accept: true,
                        grade: "good".into(),
                        checked: "核查".into(),
                        ..Default::default()
                    })
                    .await
                    .map(|r| r.into_inner())
                }))
                .await;
                samples.push(d);
                a.unwrap();
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await?);
    }
    let elapsed = started.elapsed();
    let rpcs = samples.len();
    println!(
        "  {rpcs} RPCs in {elapsed:.1?}: {:.0} transactions/s; {}",
        rpcs as f64 / elapsed.as_secs_f64(),
        percentiles(samples)
    );

    // pgbench on the same database, writing the rows one feedback step writes.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE bench_targets (client int PRIMARY KEY, assignment_id uuid NOT NULL); \
         INSERT INTO bench_targets SELECT row_number() OVER (ORDER BY id) - 1, id FROM assignment.assignments LIMIT {clients};"
    )))
    .execute(&db.pool)
    .await?;
    let bindir = duban_platform::pg_cluster::find_bindir()?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/write_path.pgbench.sql");
    let out = std::process::Command::new(bindir.join("pgbench"))
        .args([
            "-n",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &pgbench_secs.to_string(),
            "-f",
            script,
            "-d",
            &db.url,
        ])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let tps = text
        .lines()
        .find(|l| l.starts_with("tps"))
        .unwrap_or("tps: (pgbench printed none)");
    let latency = text.lines().find(|l| l.starts_with("latency average")).unwrap_or("");
    println!("  pgbench, same rows, {clients} clients: {tps}; {latency}");
    if !out.status.success() {
        println!("{}", String::from_utf8_lossy(&out.stderr));
    }
    suite.stop().await?;
    Ok(())
}
