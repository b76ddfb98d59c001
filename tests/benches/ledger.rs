//! Ledger benchmark: 1,000,000 items across 5,000 units; ListItems latency
//! (first and deep pages, two filters and a Chinese text search) over real
//! gRPC; then a 100,000-row Excel export and import.
//!
//!     cargo bench -p duban-tests --bench ledger
//!
//! DATABASE_URL picks the PostgreSQL server; otherwise a throwaway cluster is
//! started. BENCH_DATABASE_URL reuses a database an earlier run loaded. BENCH_ITEMS, BENCH_UNITS, BENCH_EXCEL_ROWS and BENCH_RUNS scale it.
//! The data is bulk-loaded with SQL (the measured path is reading); items
//! look like a court's: Chinese titles and requirements, classes, states,
//! leads and co-units spread over the units.

use duban::app::{self, ServiceKind};
use duban::cli::items::{ExportOptions, export, import};
use duban_core::Role;
use duban_platform::configuration::Settings;
use duban_platform::test_db::TestDatabase;
use duban_proto::registry::v1 as pb;
use duban_tests::{Registry, issue_token};
use secrecy::SecretString;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const WORDS: &str = "执行 立案 审判 案件 质效 清理 专项 督办 落实 整改 信访 调解 诉讼 服务 改革 规范 队伍 建设 \
    考评 绩效 台账 长期 未结 积案 涉企 保全 送达 庭审 直播 智慧 法院 信息化 公开 评查 发改 审限 监督 廉政 \
    党建 宣传 调研 司法 建议 代表 委员 联络 多元 解纷 速裁 繁简 分流 执行款 物管理 终本 恢复 破产 重整 \
    行政 争议 实质 化解 刑事 民事 商事 家事 少年 环境 资源 知识 产权 金融 劳动 争议 物业 婚姻 继承";

async fn load(db: &TestDatabase, items: usize, units: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let courts = (units / 50).max(1);
    let per_court = units / courts - 1;
    // One intermediate court; `courts` grassroots courts; departments under each.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO registry.units (id, code, name, kind, parent_id, ancestry, sort_order, created_at, updated_at)
         VALUES ('00000000-0000-0000-0000-000000000001', 'root', '基准市中级人民法院', 'court', NULL,
                 ARRAY['00000000-0000-0000-0000-000000000001'::uuid], 0, now(), now());
         INSERT INTO registry.units (id, code, name, kind, parent_id, ancestry, sort_order, created_at, updated_at)
         SELECT ('00000000-0000-0000-0001-' || lpad(to_hex(c), 12, '0'))::uuid, 'c' || c, '第' || c || '基层法院',
                'grassroots_court', '00000000-0000-0000-0000-000000000001',
                ARRAY['00000000-0000-0000-0000-000000000001'::uuid, ('00000000-0000-0000-0001-' || lpad(to_hex(c), 12, '0'))::uuid],
                c, now(), now()
         FROM generate_series(1, {courts}) c;
         INSERT INTO registry.units (id, code, name, kind, parent_id, ancestry, sort_order, created_at, updated_at)
         SELECT ('00000000-0000-0000-0002-' || lpad(to_hex(c * 1000 + d), 12, '0'))::uuid, 'c' || c || 'd' || d,
                '第' || c || '基层法院第' || d || '业务庭', 'department',
                ('00000000-0000-0000-0001-' || lpad(to_hex(c), 12, '0'))::uuid,
                ARRAY['00000000-0000-0000-0000-000000000001'::uuid, ('00000000-0000-0000-0001-' || lpad(to_hex(c), 12, '0'))::uuid,
                      ('00000000-0000-0000-0002-' || lpad(to_hex(c * 1000 + d), 12, '0'))::uuid],
                d, now(), now()
         FROM generate_series(1, {courts}) c, generate_series(1, {per_court}) d;
         INSERT INTO registry.sources (id, court_id, kind, title, doc_number, created_at)
         SELECT ('00000000-0000-0000-0003-' || lpad(to_hex(k), 12, '0'))::uuid, '00000000-0000-0000-0000-000000000001',
                (ARRAY['party_group_decision','president_instruction','leader_instruction','work_conference',
                       'annual_key_task','president_office_meeting','superior_deployment','other'])[k],
                '基准来源' || k, '基〔2026〕' || k || '号', now()
         FROM generate_series(1, 8) k;"
    )))
    .execute(&db.pool)
    .await?;
    let unit_ids: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM registry.units WHERE kind <> 'court' ORDER BY id")
            .fetch_all(&db.pool)
            .await?;
    println!("  {} units in {:.1?}", unit_ids.len() + 1, started.elapsed());
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let batch = 50_000;
    let mut done = 0;
    while done < items {
        let n = batch.min(items - done);
        sqlx::query(
            "WITH w AS (SELECT $1::text[] AS words), u AS (SELECT $2::uuid[] AS ids)
             INSERT INTO registry.items (id, court_id, number, title, requirements, source_id, urgency, urgency_reason,
                 deadline, lead_unit_id, co_unit_ids, tags, ancestry, state, registered_at, registered_on, created_at, updated_at)
             SELECT id, '00000000-0000-0000-0000-000000000001',
                    CASE WHEN s = 'registered' THEN '督〔2026〕' || g || '号' END,
                    t, r, ('00000000-0000-0000-0003-' || lpad(to_hex(1 + g % 8), 12, '0'))::uuid,
                    c, '基准数据', CASE WHEN c = 'fixed_deadline' THEN date '2026-01-01' + (g % 365)::int END,
                    u.ids[1 + (g * 7919) % array_length(u.ids, 1)],
                    CASE WHEN g % 3 = 0 THEN ARRAY[u.ids[1 + (g * 104729) % array_length(u.ids, 1)]] ELSE '{}' END,
                    CASE WHEN g % 10 = 0 THEN ARRAY['重点'] ELSE '{}' END,
                    ARRAY[id], s,
                    CASE WHEN s = 'registered' THEN timestamptz '2026-01-01 09:00+08' + (g % 330) * interval '1 day' END,
                    CASE WHEN s = 'registered' THEN date '2026-01-01' + (g % 330)::int END,
                    now(), now()
             FROM (
               SELECT g, gen_random_uuid() AS id,
                      w.words[1 + (g * 31) % cardinality(w.words)] || w.words[1 + (g * 17) % cardinality(w.words)]
                        || w.words[1 + (g * 13) % cardinality(w.words)] || '工作' || w.words[1 + (g * 7) % cardinality(w.words)] AS t,
                      '按照要求' || w.words[1 + (g * 3) % cardinality(w.words)] || w.words[1 + (g * 11) % cardinality(w.words)]
                        || ',做好' || w.words[1 + (g * 5) % cardinality(w.words)] || w.words[1 + (g * 19) % cardinality(w.words)]
                        || '和' || w.words[1 + (g * 23) % cardinality(w.words)] || w.words[1 + (g * 29) % cardinality(w.words)]
                        || '各项工作,按期反馈办理情况。' AS r,
                      (ARRAY['urgent','fixed_deadline','general','general','general','major'])[1 + g % 6] AS c,
                      (ARRAY['registered','registered','registered','registered','draft','pending_approval'])[1 + (g / 7) % 6] AS s
               FROM generate_series($3::bigint, $4::bigint) g, w
             ) x, u",
        )
        .bind(&words)
        .bind(&unit_ids)
        .bind(done as i64 + 1)
        .bind((done + n) as i64)
        .execute(&db.pool)
        .await?;
        done += n;
        println!("  {done} items ({:.1?})", started.elapsed());
    }
    sqlx::raw_sql("ANALYZE").execute(&db.pool).await?;
    println!("  loaded in {:.1?}", started.elapsed());
    Ok(())
}

fn percentiles(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1];
    format!(
        "p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  (n={})",
        at(0.50).as_secs_f64() * 1e3,
        at(0.95).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        samples.len()
    )
}

async fn measure(client: &mut Registry, label: &str, req: pb::ListItemsRequest, runs: usize) -> anyhow::Result<()> {
    let first = client.list_items(req.clone()).await?.into_inner();
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let page = client.list_items(req.clone()).await?.into_inner();
        samples.push(t.elapsed());
        assert_eq!(page.items.len(), first.items.len());
    }
    println!("  {label:<52} {}  [{} rows]", percentiles(samples), first.items.len());
    Ok(())
}

/// The request for page `n` (0-based) of `req`, walking the keyset; stops
/// at the last page if there are fewer. Returns the request and its page
/// number.
async fn page(
    client: &mut Registry,
    req: &pb::ListItemsRequest,
    n: usize,
) -> anyhow::Result<(pb::ListItemsRequest, usize)> {
    let mut req = req.clone();
    for i in 0..n {
        let page = client.list_items(req.clone()).await?.into_inner();
        if page.next_page_token.is_empty() {
            return Ok((req, i));
        }
        req.page_token = page.next_page_token;
    }
    Ok((req, n))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let items = env_or("BENCH_ITEMS", 1_000_000);
    let units = env_or("BENCH_UNITS", 5_000);
    let excel_rows = env_or("BENCH_EXCEL_ROWS", 100_000).min(items);
    let runs = env_or("BENCH_RUNS", 200);
    println!("ledger benchmark: {items} items, {units} units, {runs} runs per query");
    let db = match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) => {
            let pool = sqlx::PgPool::connect(&url).await?;
            duban_platform::db::migrate(&pool).await?;
            println!("  reusing {}", url.rsplit('/').next().unwrap_or_default());
            TestDatabase {
                name: String::new(),
                url,
                pool,
            }
        }
        Err(_) => {
            let db = TestDatabase::fresh().await?;
            load(&db, items, units).await?;
            db
        }
    };

    let mut settings = Settings::default();
    settings.server.registry_port = 0;
    settings.database.url = Some(SecretString::from(db.url.clone()));
    let running = app::start(
        &settings,
        db.pool.clone(),
        &[ServiceKind::Registry],
        CancellationToken::new(),
    )
    .await?;
    let addr = running.addr(ServiceKind::Registry).unwrap();
    let token = issue_token(&db, "bench", &[Role::Admin], &[], None).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    let mut client = duban_proto::registry::v1::registry_service_client::RegistryServiceClient::with_interceptor(
        channel,
        duban::cli::Bearer::new(&token)?,
    )
    .max_decoding_message_size(64 << 20);

    // A busy unit (lead or co) and a common class; a two-character search.
    let unit: uuid::Uuid =
        sqlx::query_scalar("SELECT lead_unit_id FROM registry.items GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
            .fetch_one(&db.pool)
            .await?;
    let base = pb::ListItemsRequest {
        page_size: 50,
        ..Default::default()
    };
    let filtered = pb::ListItemsRequest {
        unit_id: unit.to_string(),
        urgency: pb::UrgencyClass::General as i32,
        text: "执行".into(),
        ..base.clone()
    };
    let filtered_newest = pb::ListItemsRequest {
        order: pb::SortOrder::NewestFirst as i32,
        ..filtered.clone()
    };
    // A four-character phrase from a real title, as someone would search it.
    let phrase: String = sqlx::query_scalar("SELECT substr(title, 3, 4) FROM registry.items WHERE seq = $1")
        .bind((items / 2) as i64)
        .fetch_one(&db.pool)
        .await?;
    let text_only = pb::ListItemsRequest {
        text: phrase.clone(),
        ..base.clone()
    };
    let two_filters = pb::ListItemsRequest {
        state: pb::RegistrationState::Registered as i32,
        urgency: pb::UrgencyClass::Major as i32,
        ..base.clone()
    };
    println!("ListItems, page size 50:");
    measure(&mut client, "first page, no filter", base.clone(), runs).await?;
    let (deep, n) = page(&mut client, &base, 2_000).await?;
    measure(&mut client, &format!("page {}, no filter", n + 1), deep, runs).await?;
    measure(&mut client, "first page, state + class", two_filters.clone(), runs).await?;
    let (deep_two, n) = page(&mut client, &two_filters, 500).await?;
    measure(&mut client, &format!("page {}, state + class", n + 1), deep_two, runs).await?;
    measure(
        &mut client,
        &format!("first page, text {phrase}"),
        text_only.clone(),
        runs,
    )
    .await?;
    let (deep_text, n) = page(&mut client, &text_only, 50).await?;
    measure(&mut client, &format!("page {}, text {phrase}", n + 1), deep_text, runs).await?;
    measure(
        &mut client,
        "first page, unit + class + text 执行",
        filtered.clone(),
        runs,
    )
    .await?;
    measure(
        &mut client,
        "first page newest, unit + class + text 执行",
        filtered_newest,
        runs,
    )
    .await?;
    let count: i64 = {
        let mut n = 0;
        let mut req = filtered.clone();
        req.page_size = 500;
        loop {
            let p = client.list_items(req.clone()).await?.into_inner();
            n += p.items.len() as i64;
            if p.next_page_token.is_empty() {
                break n;
            }
            req.page_token = p.next_page_token;
        }
    };
    let (last, _) = page(&mut client, &filtered, (count as usize).saturating_sub(1) / 50).await?;
    measure(
        &mut client,
        &format!("last page ({} matches), unit + class + text", count),
        last,
        runs,
    )
    .await?;

    // Excel: export the first rows of the ledger, import them into a copy of
    // the directory with no items.
    let dir = std::env::temp_dir().join(format!("duban-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("ledger.xlsx");
    let started = Instant::now();
    let options = ExportOptions {
        title: "督查督办事项台账",
        tz: chrono_tz::Asia::Shanghai,
        limit: Some(excel_rows),
        progress: false,
    };
    let exported = export(&mut client, pb::ListItemsRequest::default(), &file, &options).await?;
    println!(
        "Excel export of {exported} rows: {:.1?} ({} bytes)",
        started.elapsed(),
        std::fs::metadata(&file)?.len()
    );

    let target = TestDatabase::fresh().await?;
    copy_units(&db, &target).await?;
    let mut settings_b = settings.clone();
    settings_b.database.url = Some(SecretString::from(target.url.clone()));
    let running_b = app::start(
        &settings_b,
        target.pool.clone(),
        &[ServiceKind::Registry],
        CancellationToken::new(),
    )
    .await?;
    let addr_b = running_b.addr(ServiceKind::Registry).unwrap();
    let token_b = issue_token(&target, "bench", &[Role::Admin], &[], None).await;
    let channel_b = tonic::transport::Endpoint::from_shared(format!("http://{addr_b}"))?
        .connect()
        .await?;
    let mut client_b = duban_proto::registry::v1::registry_service_client::RegistryServiceClient::with_interceptor(
        channel_b,
        duban::cli::Bearer::new(&token_b)?,
    )
    .max_decoding_message_size(64 << 20)
    .max_encoding_message_size(256 << 20);
    let started = Instant::now();
    let out = import(&mut client_b, &file, String::new(), false, false).await?;
    println!(
        "Excel import of {} rows: {:.1?} ({} created, {} sources)",
        out.rows,
        started.elapsed(),
        out.created,
        out.sources_created
    );
    let started = Instant::now();
    let again = import(&mut client_b, &file, String::new(), false, false).await?;
    println!(
        "Excel import again (all unchanged: {}): {:.1?}",
        again.unchanged,
        started.elapsed()
    );
    running_b.stop().await?;
    running.stop().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Copies the directory's units into an empty database, parents first.
async fn copy_units(from: &TestDatabase, to: &TestDatabase) -> anyhow::Result<()> {
    type Row = (
        uuid::Uuid,
        String,
        String,
        String,
        Option<uuid::Uuid>,
        Vec<uuid::Uuid>,
        i32,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, code, name, kind, parent_id, ancestry, sort_order FROM registry.units ORDER BY array_length(ancestry, 1), id",
    )
    .fetch_all(&from.pool)
    .await?;
    let mut tx = to.pool.begin().await?;
    for (id, code, name, kind, parent, ancestry, sort) in rows {
        sqlx::query(
            "INSERT INTO registry.units (id, code, name, kind, parent_id, ancestry, sort_order, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, now(), now())",
        )
        .bind(id)
        .bind(code)
        .bind(name)
        .bind(kind)
        .bind(parent)
        .bind(ancestry)
        .bind(sort)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
