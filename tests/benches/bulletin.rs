//! `cargo bench -p duban-tests --bench bulletin`: the monthly bulletin with
//! its issue analysis and ledger attachment for a province-sized court —
//! BENCH_ITEMS (200,000) items across BENCH_UNITS (5,000) units, each
//! assigned once, with a year of milestones, feedback and urges — composed
//! and rendered exactly as the worker does. Prints wall time and the
//! process's peak resident memory. The data is the same every run (a fixed
//! seed), and BENCH_OUT=DIR keeps the last run's bulletin (HTML, text and
//! ledger) to compare builds. A benchmark, not a test.

use chrono::TimeZone;
use duban_platform::clock::Clock;
use duban_platform::configuration::ReportingSettings;
use duban_platform::test_db::TestDatabase;
use duban_reporting::period::{Period, ReportKind};
use duban_reporting::service::ReportingService;
use std::time::Instant;

fn env(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Peak resident set size of this process, in MiB (Linux).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

const LOAD: &[&str] = &[
    // The court, its units, a head and liaison for each, 20 leaders.
    "INSERT INTO registry.units (id, code, name, short_name, kind, parent_id, ancestry, sort_order, created_at, updated_at)
     VALUES ('00000000-0000-0000-0000-000000000001', 'gy', '省高级人民法院', '高院', 'court', NULL,
             ARRAY['00000000-0000-0000-0000-000000000001'::uuid], 0, now(), now())",
    "INSERT INTO registry.units (id, code, name, short_name, kind, parent_id, ancestry, sort_order, created_at, updated_at)
     SELECT ('00000000-0000-0000-0001-' || lpad(n::text, 12, '0'))::uuid, 'u' || n, '第' || n || '人民法院', '法院' || n,
            'grassroots_court', '00000000-0000-0000-0000-000000000001',
            ARRAY['00000000-0000-0000-0000-000000000001'::uuid, ('00000000-0000-0000-0001-' || lpad(n::text, 12, '0'))::uuid],
            n, now(), now()
     FROM generate_series(1, $1) n",
    "INSERT INTO registry.people (id, code, name, unit_id, title, email, created_at, updated_at)
     SELECT ('00000000-0000-0000-0002-' || lpad(n::text, 12, '0'))::uuid, 'p' || n, '联络员' || n,
            ('00000000-0000-0000-0001-' || lpad(n::text, 12, '0'))::uuid, '联络员', 'p' || n || '@court.example', now(), now()
     FROM generate_series(1, $1) n",
    "INSERT INTO registry.unit_officers (unit_id, post, person_id, start_at)
     SELECT ('00000000-0000-0000-0001-' || lpad(n::text, 12, '0'))::uuid, post,
            ('00000000-0000-0000-0002-' || lpad(n::text, 12, '0'))::uuid, now()
     FROM generate_series(1, $1) n, unnest(ARRAY['head', 'liaison']) post",
    "INSERT INTO registry.people (id, code, name, unit_id, title, email, created_at, updated_at)
     SELECT ('00000000-0000-0000-0003-' || lpad(n::text, 12, '0'))::uuid, 'l' || n, '院领导' || n,
            '00000000-0000-0000-0000-000000000001', '副院长', 'l' || n || '@court.example', now(), now()
     FROM generate_series(1, 20) n",
    "INSERT INTO registry.sources (id, court_id, kind, title, doc_number, created_at)
     SELECT ('00000000-0000-0000-0004-' || lpad(n::text, 12, '0'))::uuid, '00000000-0000-0000-0000-000000000001',
            (ARRAY['party_group_decision','president_instruction','leader_instruction','work_conference','annual_key_task'])[1 + n % 5],
            '关于第' || n || '项工作的批示', '院批〔2026〕' || n || '号', now()
     FROM generate_series(1, 2000) n",
    // Items registered through the year (to 10-31), one unit and leader each.
    "INSERT INTO registry.items (id, court_id, number, title, source_id, urgency, lead_unit_id, supervising_leader_id,
                                 ancestry, state, registered_at, registered_on, created_at, updated_at)
     SELECT ('00000000-0000-0000-0005-' || lpad(n::text, 12, '0'))::uuid, '00000000-0000-0000-0000-000000000001',
            '督〔2026〕' || n || '号', '督办事项第' || n || '号:清理长期未结案件',
            ('00000000-0000-0000-0004-' || lpad((1 + n % 2000)::text, 12, '0'))::uuid,
            (ARRAY['general','general','general','fixed_deadline','major'])[1 + n % 5],
            ('00000000-0000-0000-0001-' || lpad((1 + n % $1)::text, 12, '0'))::uuid,
            ('00000000-0000-0000-0003-' || lpad((1 + n % 20)::text, 12, '0'))::uuid,
            ARRAY[('00000000-0000-0000-0005-' || lpad(n::text, 12, '0'))::uuid], 'registered',
            timestamptz '2026-01-05 09:00+08' + (n % 299) * interval '1 day',
            (timestamptz '2026-01-05 09:00+08' + (n % 299) * interval '1 day')::date, now(), now()
     FROM generate_series(1, $2) n",
    // One assignment each, the next day; 60% finished (three in four on time).
    "INSERT INTO assignment.assignments (id, item_id, unit_id, role, court_id, unit_ancestry, unit_name, head_id, head_name,
                                         liaison_id, liaison_name, urgency, policy, assigned_at, assigned_by, state,
                                         verified_at, verified_by, verification_notes, created_at, updated_at)
     SELECT ('00000000-0000-0000-0006-' || lpad(n::text, 12, '0'))::uuid, ('00000000-0000-0000-0005-' || lpad(n::text, 12, '0'))::uuid,
            ('00000000-0000-0000-0001-' || lpad((1 + n % $1)::text, 12, '0'))::uuid, 'lead', '00000000-0000-0000-0000-000000000001',
            ARRAY['00000000-0000-0000-0000-000000000001'::uuid, ('00000000-0000-0000-0001-' || lpad((1 + n % $1)::text, 12, '0'))::uuid],
            '第' || (1 + n % $1) || '人民法院', gen_random_uuid(), '负责人', gen_random_uuid(), '联络员',
            (ARRAY['general','general','general','fixed_deadline','major'])[1 + n % 5], '13710',
            timestamptz '2026-01-06 10:00+08' + (n % 299) * interval '1 day', 'bench',
            CASE WHEN n % 5 < 3 THEN 'verified' ELSE 'in_progress' END,
            CASE WHEN n % 5 < 3 THEN timestamptz '2026-01-06 10:00+08' + (n % 299) * interval '1 day'
                                     + CASE WHEN n % 4 = 0 THEN interval '20 days' ELSE interval '6 days' END END,
            CASE WHEN n % 5 < 3 THEN 'lin.ke' END,
            CASE WHEN n % 5 < 3 AND n % 97 <> 0 THEN '调阅结案文书' ELSE '' END, now(), now()
     FROM generate_series(1, $2) n",
    "INSERT INTO assignment.milestones (assignment_id, kind, rule, due_date, due_at, calendar_versions, met_at, yellow_at, opened_at)
     SELECT a.id, m.kind, m.kind, (a.assigned_at + m.days * interval '1 day')::date,
            date_trunc('day', a.assigned_at + (m.days + 1) * interval '1 day'), '{}',
            CASE WHEN a.verified_at IS NOT NULL THEN least(a.verified_at - interval '1 day', a.assigned_at + m.days * interval '1 day' - interval '2 hours')
                 WHEN m.kind <> 'resolve' AND random() < 0.7 THEN a.assigned_at + interval '1 hour' END,
            date_trunc('day', a.assigned_at + m.days * interval '1 day'), a.assigned_at
     FROM assignment.assignments a, (VALUES ('deploy', 1), ('initial', 3), ('resolve', 10)) m(kind, days)",
    // A year of feedback: five reports each, some repeating the last, some
    // delay explanations with reasons.
    "INSERT INTO assignment.feedback (id, assignment_id, kind, body, reason, progress, submitted_by, submitted_at)
     SELECT gen_random_uuid(), a.id, CASE WHEN k = 5 AND random() < 0.3 THEN 'delay_explanation' ELSE 'progress' END,
            CASE WHEN random() < 0.1 THEN '按计划推进,下一步将继续加大工作力度。'
                 ELSE '本周完成清理任务' || k || '项,结案' || (k * 7) || '件,正在推进剩余工作。' END,
            (ARRAY['complexity','coordination','resources','external','policy','other'])[1 + (k + ascii(a.id::text)) % 6],
            jsonb_build_array(jsonb_build_object('what', '结案', 'value', CASE WHEN random() < 0.2 THEN 10 ELSE k * 7 END, 'unit', '件')),
            'bench', a.assigned_at + k * interval '5 days'
     FROM assignment.assignments a, generate_series(1, 5) k",
    "INSERT INTO assignment.urges (id, assignment_id, seq, kind, note, issued_by, issued_at, answer_due_at)
     SELECT gen_random_uuid(), a.id, s, 'manual', '', 'bench', a.assigned_at + (10 + s) * interval '1 day',
            a.assigned_at + (12 + s) * interval '1 day'
     FROM assignment.assignments a, generate_series(1, 3) s
     WHERE a.verified_at IS NULL AND (ascii(a.id::text) + s) % 3 = 0",
    "ANALYZE",
];

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let (units, items) = (env("BENCH_UNITS", 5_000), env("BENCH_ITEMS", 200_000));
    let db = TestDatabase::fresh().await?;
    let tz = chrono_tz::Asia::Shanghai;
    let clock = Clock::System;
    duban_assignment::calendar::CalendarService::new(db.pool.clone(), clock.clone(), tz)
        .seed()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let started = Instant::now();
    // One connection with a fixed seed: the same data every run, so two
    // builds' bulletins can be compared figure by figure.
    let mut conn = db.pool.acquire().await?;
    sqlx::query("SELECT setseed(0.5)").execute(&mut *conn).await?;
    for sql in LOAD {
        let sql = sql.replace("$1", &units.to_string()).replace("$2", &items.to_string());
        sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&mut *conn)
            .await
            .map_err(|e| anyhow::anyhow!("{e}\n{sql}"))?;
    }
    drop(conn);
    let counts: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM assignment.assignments), (SELECT count(*) FROM assignment.milestones),
                (SELECT count(*) FROM assignment.feedback), (SELECT count(*) FROM assignment.urges)",
    )
    .fetch_one(&db.pool)
    .await?;
    println!(
        "loaded {items} items, {units} units: {} assignments, {} milestones, {} feedback, {} urges in {:.1} s",
        counts.0,
        counts.1,
        counts.2,
        counts.3,
        started.elapsed().as_secs_f64()
    );
    let service = ReportingService::new(db.pool.clone(), clock, tz, &ReportingSettings::default())?;
    let court = duban_reporting::store::unit(&db.pool, uuid::Uuid::from_u128(1))
        .await?
        .expect("the court");
    let now = tz
        .with_ymd_and_hms(2026, 11, 2, 8, 30, 0)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let before = peak_rss_mib();
    for run in 1..=env("BENCH_RUNS", 2) {
        let t = Instant::now();
        let built = service
            .build(
                ReportKind::Monthly,
                Period::Month { year: 2026, month: 10 },
                &court,
                None,
                now,
                None,
                true,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let b = &built[0];
        println!(
            "run {run}: monthly bulletin 2026-10 in {:.2} s — html {} KB, text {} KB, xlsx {} KB, {} findings, red list {} (+{} in the ledger); peak RSS {:.0} MiB (before rendering {:.0} MiB)",
            t.elapsed().as_secs_f64(),
            b.rendered.html.len() / 1024,
            b.rendered.text.len() / 1024,
            b.attachment.as_ref().map(|a| a.1.len() / 1024).unwrap_or(0),
            b.doc.findings.len(),
            b.doc.red_list.len(),
            b.doc.red_more,
            peak_rss_mib(),
            before
        );
        // BENCH_OUT=DIR keeps the last run's bulletin (HTML, text, xlsx).
        if let Ok(dir) = std::env::var("BENCH_OUT") {
            std::fs::create_dir_all(&dir)?;
            std::fs::write(format!("{dir}/bulletin.html"), &b.rendered.html)?;
            std::fs::write(format!("{dir}/bulletin.txt"), &b.rendered.text)?;
            if let Some((_, bytes)) = &b.attachment {
                std::fs::write(format!("{dir}/ledger.xlsx"), bytes)?;
            }
        }
    }
    Ok(())
}
