//! Contention and outages, over real gRPC on real PostgreSQL: a table held
//! locked by another connection while writes with short deadlines pile up
//! (the rest of the service answers, health stays SERVING, the blocked
//! calls end within their deadline with a retryable code and free their
//! connections); the server's own statement limit for calls without a
//! deadline; a pool with no connection free (busy, not down); and health
//! while the database is down at start-up.

use duban::app::{self, ServiceKind};
use duban_proto::registry::v1 as pb;
use duban_tests::{ServingStatus, TestApp, health_of, own_cluster, rid, start_cluster, stop_cluster};
use sqlx::Connection;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tonic_types::StatusExt;

/// The reason code (`ErrorInfo.reason`) and zh-CN message of an error.
fn reason(status: &tonic::Status) -> (String, String) {
    let details = status.get_error_details();
    (
        details.error_info().map(|i| i.reason.clone()).unwrap_or_default(),
        details
            .localized_message()
            .map(|m| m.message.clone())
            .unwrap_or_default(),
    )
}

/// A draft item of the demo court (led by its 执行局) under `source`.
fn new_item(court: &Court, title: &str) -> pb::CreateItemRequest {
    pb::CreateItemRequest {
        request_id: rid(),
        item: Some(pb::Item {
            title: title.into(),
            source_id: court.source.clone(),
            court_id: court.id.clone(),
            lead_unit_id: court.lead.clone(),
            urgency: pb::UrgencyClass::General as i32,
            urgency_reason: "院长批示".into(),
            ..Default::default()
        }),
    }
}

/// The demo court, the unit that leads its items, and a source document.
#[derive(Clone)]
struct Court {
    id: String,
    lead: String,
    source: String,
}

async fn demo_court(app: &TestApp) -> Court {
    app.load_demo().await;
    let id = app.unit_by_code("jczy").await.id;
    let lead = app.unit_by_code("jczy-zxj").await.id;
    let source = app
        .admin()
        .await
        .create_source(pb::CreateSourceRequest {
            request_id: rid(),
            source: Some(pb::Source {
                kind: pb::SourceKind::PresidentInstruction as i32,
                title: "关于加强执行工作的批示".into(),
                court_id: id.clone(),
                ..Default::default()
            }),
        })
        .await
        .expect("source")
        .into_inner()
        .id;
    Court { id, lead, source }
}

/// Statements of this database waiting for a lock.
async fn lock_waits(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_locked_table_holds_up_only_its_writes_and_they_end_within_their_deadline() {
    let app = TestApp::spawn().await;
    let court = demo_court(&app).await;

    // Another connection (a long migration, a stuck batch job) holds the
    // ledger's table against writers.
    let mut holder = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE registry.items IN EXCLUSIVE MODE")
        .execute(&mut holder)
        .await
        .unwrap();

    // Eight clients write with a 1 s deadline and retry at once, for 6 s:
    // far more calls than the pool has connections.
    let deadline = Duration::from_millis(1000);
    let stop = CancellationToken::new();
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..8 {
        let mut client = app.admin().await;
        let (court, stop) = (court.clone(), stop.clone());
        writers.spawn(async move {
            let mut outcomes = Vec::new();
            while !stop.is_cancelled() {
                let mut request = tonic::Request::new(new_item(&court, &format!("积案清理{w}")));
                request.set_timeout(deadline);
                let started = Instant::now();
                let result = client.create_item(request).await;
                outcomes.push((started.elapsed(), result.map(|_| ())));
            }
            outcomes
        });
    }

    // Meanwhile the rest of the service answers, and health says SERVING.
    let registry = app.addr(ServiceKind::Registry);
    let mut reads = Vec::new();
    let until = Instant::now() + Duration::from_secs(6);
    let mut client = app.admin().await;
    while Instant::now() < until {
        // A stuck pool answers after its acquire timeout, or not at all;
        // the 3 s deadline is slack for a loaded machine.
        let mut request = tonic::Request::new(pb::ListUnitsRequest {
            page_size: 100,
            ..Default::default()
        });
        request.set_timeout(Duration::from_secs(3));
        let started = Instant::now();
        let units = client
            .list_units(request)
            .await
            .expect("ListUnits while items are locked");
        assert!(!units.into_inner().units.is_empty());
        reads.push(started.elapsed());
        for service in ["", ServiceKind::Registry.grpc_name()] {
            assert_eq!(
                health_of(registry, service).await,
                Some(ServingStatus::Serving),
                "health of {service:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Liveness, not a performance goal: typically within a second.
    reads.sort();
    assert!(reads.len() >= 5, "only {} reads", reads.len());
    assert!(reads[reads.len() / 2] < Duration::from_secs(1), "ListUnits: {reads:?}");
    stop.cancel();
    let outcomes: Vec<_> = writers.join_all().await.into_iter().flatten().collect();
    assert!(outcomes.len() >= 16, "only {} writes tried", outcomes.len());

    // Each blocked write ended within its deadline (plus slack), retryable:
    // the database's reason (the lock not granted in time; the statement
    // cut short), or the client's own timer when a loaded machine took
    // long to reach the blocked statement — never INTERNAL.
    let mut by_reason = std::collections::BTreeMap::<String, usize>::new();
    for (took, result) in &outcomes {
        let status = result.as_ref().expect_err("a write went through a locked table");
        let (code, zh) = reason(status);
        match code.as_str() {
            "LOCK_TIMEOUT" => assert_eq!(status.code(), tonic::Code::Unavailable),
            "STATEMENT_TIMEOUT" => assert_eq!(status.code(), tonic::Code::DeadlineExceeded),
            "" => assert!(
                matches!(status.code(), tonic::Code::DeadlineExceeded | tonic::Code::Cancelled),
                "{status:?}"
            ),
            other => panic!("{other}: {status:?}"),
        }
        if !code.is_empty() {
            assert!(zh.contains("请稍后重试"), "{zh}");
        }
        assert!(*took < deadline + Duration::from_secs(1), "a write took {took:?}");
        *by_reason.entry(code).or_default() += 1;
    }
    assert!(by_reason.contains_key("LOCK_TIMEOUT"), "{by_reason:?}");

    // Their statements are gone from the database, though the lock is still
    // held: nothing keeps a connection waiting past its call.
    let mut waiting = lock_waits(&app).await;
    for _ in 0..30 {
        if waiting == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        waiting = lock_waits(&app).await;
    }
    assert_eq!(waiting, 0, "statements still waiting for the lock");

    // Released, the next write goes through on a connection of the pool.
    sqlx::raw_sql("COMMIT").execute(&mut holder).await.unwrap();
    app.admin()
        .await
        .create_item(new_item(&court, "积案清理"))
        .await
        .expect("a write once the lock is released");
    app.stop().await;
}

#[tokio::test]
async fn a_statement_past_the_servers_limit_is_cancelled_with_a_retryable_code() {
    let db = duban_platform::test_db::TestDatabase::fresh().await.unwrap();
    let app = TestApp::spawn_with(db, |s| {
        // No lock limit, so the statement limit is what ends the wait.
        s.database.statement_timeout_ms = 500;
        s.database.lock_timeout_ms = 0;
    })
    .await;
    let court = demo_court(&app).await;
    let mut holder = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE registry.items IN EXCLUSIVE MODE")
        .execute(&mut holder)
        .await
        .unwrap();

    // A call without a deadline, as the CLI makes: the server's limit ends it.
    let started = Instant::now();
    let status = app
        .admin()
        .await
        .create_item(new_item(&court, "积案清理"))
        .await
        .expect_err("a write through a locked table");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    let (code, zh) = reason(&status);
    assert_eq!(code, "STATEMENT_TIMEOUT");
    assert_eq!(zh, "操作超时已取消,本次未作任何修改,请稍后重试");
    assert!(!status.message().contains("internal"), "{}", status.message());

    sqlx::raw_sql("COMMIT").execute(&mut holder).await.unwrap();
    app.admin()
        .await
        .create_item(new_item(&court, "积案清理"))
        .await
        .expect("a write once the lock is released");
    app.stop().await;
}

#[tokio::test]
async fn a_pool_with_no_connection_free_is_busy_and_health_still_serving() {
    let db = duban_platform::test_db::TestDatabase::fresh().await.unwrap();
    let app = TestApp::spawn_with(db, |s| {
        s.database.max_connections = 2;
        s.database.acquire_timeout_secs = 1;
    })
    .await;
    let court = demo_court(&app).await;
    let mut holder = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE registry.items IN EXCLUSIVE MODE")
        .execute(&mut holder)
        .await
        .unwrap();
    // Two writes without a deadline wait for the lock on the pool's two
    // connections (up to the server's lock limit).
    let mut blocked = Vec::new();
    for _ in 0..2 {
        let (mut writer, court) = (app.admin().await, court.clone());
        blocked.push(tokio::spawn(async move {
            writer.create_item(new_item(&court, "积案清理")).await
        }));
    }
    for _ in 0..100 {
        if lock_waits(&app).await == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(lock_waits(&app).await, 2);

    let status = app
        .admin()
        .await
        .list_units(pb::ListUnitsRequest::default())
        .await
        .expect_err("no connection was free");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    let (code, zh) = reason(&status);
    assert_eq!(code, "BUSY");
    assert!(zh.contains("服务繁忙") && !zh.contains("数据库无法连接"), "{zh}");
    let registry = app.addr(ServiceKind::Registry);
    for service in ["", ServiceKind::Registry.grpc_name()] {
        assert_eq!(health_of(registry, service).await, Some(ServingStatus::Serving));
    }

    sqlx::raw_sql("COMMIT").execute(&mut holder).await.unwrap();
    for write in blocked {
        write.await.unwrap().expect("the write, once the lock is released");
    }
    app.admin()
        .await
        .list_units(pb::ListUnitsRequest::default())
        .await
        .expect("ListUnits once the connection is free");
    app.stop().await;
}

#[tokio::test]
async fn health_overall_and_per_service_agree_while_the_database_is_down_at_start_up() {
    let cluster = own_cluster();
    stop_cluster(&cluster).await;
    let settings = TestApp::settings(&cluster.url());
    let pool = duban_platform::db::pool_for_url(&cluster.url(), &settings.database).unwrap();
    let running = app::start(&settings, pool, &ServiceKind::ALL, CancellationToken::new())
        .await
        .expect("the suite starts without its database");
    let ask = async |kind: ServiceKind| {
        let addr = running.addr(kind).unwrap();
        (health_of(addr, "").await, health_of(addr, kind.grpc_name()).await)
    };

    // Down: every port says NOT_SERVING, for the server and for its service,
    // the whole time (the watch and the migrations keep retrying).
    for _ in 0..3 {
        for kind in ServiceKind::ALL {
            let (overall, named) = ask(kind).await;
            assert_eq!(overall, Some(ServingStatus::NotServing), "{kind:?} overall");
            assert_eq!(named, Some(ServingStatus::NotServing), "{kind:?} named");
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }

    // Up: both turn SERVING, together.
    start_cluster(&cluster).await;
    let mut serving = false;
    for _ in 0..300 {
        if ask(ServiceKind::Registry).await == (Some(ServingStatus::Serving), Some(ServingStatus::Serving)) {
            serving = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(serving, "never SERVING once the database came up");
    for kind in ServiceKind::ALL {
        assert_eq!(
            ask(kind).await,
            (Some(ServingStatus::Serving), Some(ServingStatus::Serving)),
            "{kind:?}"
        );
    }
    running.stop().await.unwrap();
}
