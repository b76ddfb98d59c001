//! `WatchEvents`: a client that disconnects and resumes from its last cursor
//! misses nothing and sees nothing twice, while writers keep committing.

use duban::app::ServiceKind;
use duban::cli::Bearer;
use duban_core::Role;
use duban_platform::events::{self, NewEvent};
use duban_proto::assignment::v1 as pb;
use duban_proto::assignment::v1::assignment_service_client::AssignmentServiceClient;
use duban_tests::TestApp;
use rand::Rng;
use std::collections::HashSet;
use std::time::Duration;
use uuid::Uuid;

async fn write(pool: &sqlx::PgPool, unit: Uuid, label: &str) {
    let mut tx = pool.begin().await.unwrap();
    let payload = serde_json::json!({ "label": label });
    events::append_all(
        &mut tx,
        &[NewEvent {
            service: "assignment",
            event_type: "assignment.feedback",
            subject_kind: "assignment",
            subject_id: label,
            unit_ids: &[unit],
            payload: &payload,
            principal: "writer",
            request_id: label,
            occurred_at: chrono::Utc::now(),
        }],
    )
    .await
    .unwrap();
    let pause = rand::rng().random_range(0..10);
    tokio::time::sleep(Duration::from_millis(pause)).await;
    tx.commit().await.unwrap();
}

async fn stream(app: &TestApp, token: &str, req: pb::WatchEventsRequest) -> tonic::Streaming<pb::Event> {
    AssignmentServiceClient::with_interceptor(app.channel(ServiceKind::Assignment).await, Bearer::new(token).unwrap())
        .watch_events(req)
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn a_resumed_watch_misses_nothing_and_repeats_nothing() {
    const WRITERS: usize = 4;
    const EACH: usize = 40;
    let app = TestApp::spawn().await;
    let (u1, u2) = (Uuid::new_v4(), Uuid::new_v4());
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let pool = app.db.pool.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..EACH {
                let unit = if i % 4 == 0 { u2 } else { u1 };
                write(&pool, unit, &format!("{w}-{i}")).await;
            }
        }));
    }
    let only_assignment = || pb::WatchEventsRequest {
        services: vec!["assignment".into()],
        ..Default::default()
    };

    // Read some, hang up, resume from the last cursor, read the rest.
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut first = stream(&app, &app.admin_token, only_assignment()).await;
    while seen.len() < 50 {
        let e = first.message().await.unwrap().unwrap();
        seen.push((e.cursor.clone(), e.subject_id.clone()));
    }
    drop(first);
    let resume = pb::WatchEventsRequest {
        after: seen.last().unwrap().0.clone(),
        ..only_assignment()
    };
    let mut second = stream(&app, &app.admin_token, resume).await;
    while seen.len() < WRITERS * EACH {
        let e = tokio::time::timeout(Duration::from_secs(30), second.message())
            .await
            .expect("events keep coming")
            .unwrap()
            .unwrap();
        seen.push((e.cursor.clone(), e.subject_id.clone()));
    }
    for w in writers {
        w.await.unwrap();
    }
    drop(second);
    let labels: HashSet<&String> = seen.iter().map(|(_, l)| l).collect();
    assert_eq!(labels.len(), WRITERS * EACH, "every event exactly once");
    let cursors: Vec<events::Cursor> = seen.iter().map(|(c, _)| c.parse().unwrap()).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "in cursor order");

    // By unit, and by the caller's scope.
    let mut by_unit = stream(
        &app,
        &app.admin_token,
        pb::WatchEventsRequest {
            unit_id: u2.to_string(),
            ..only_assignment()
        },
    )
    .await;
    let mut n = 0;
    while n < WRITERS * EACH / 4 {
        let e = by_unit.message().await.unwrap().unwrap();
        assert_eq!(e.unit_ids, vec![u2.to_string()]);
        n += 1;
    }
    drop(by_unit);
    let liaison = app.token(&[Role::UnitLiaison], &[u1]).await;
    let mut scoped = stream(&app, &liaison, only_assignment()).await;
    for _ in 0..20 {
        let e = scoped.message().await.unwrap().unwrap();
        assert_eq!(e.unit_ids, vec![u1.to_string()]);
    }
    drop(scoped);
    // A cursor this service never made is refused.
    let err = AssignmentServiceClient::with_interceptor(
        app.channel(ServiceKind::Assignment).await,
        Bearer::new(&app.admin_token).unwrap(),
    )
    .watch_events(pb::WatchEventsRequest {
        after: "x".into(),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    app.stop().await;
}

fn ledger_row(cells: &[(&str, &str)]) -> duban_proto::registry::v1::LedgerRow {
    duban_proto::registry::v1::LedgerRow {
        row: 2,
        cells: cells.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
    }
}

/// A province-wide deployment: the high court's office follows a grassroots
/// court's sources and items as it follows its units and assignments.
#[tokio::test]
async fn a_higher_court_watches_the_items_of_the_courts_below() {
    use duban_proto::registry::v1 as reg;
    let app = TestApp::spawn().await;
    let mut admin = app.admin().await;
    let mut unit = async |code: &str, name: &str, kind: reg::UnitKind, parent: &str| -> reg::Unit {
        admin
            .create_unit(reg::CreateUnitRequest {
                request_id: duban_tests::rid(),
                unit: Some(reg::Unit {
                    code: code.into(),
                    name: name.into(),
                    kind: kind as i32,
                    parent_id: parent.into(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap()
            .into_inner()
    };
    let high = unit("gy", "省高级人民法院", reg::UnitKind::Court, "").await;
    let mid = unit("zy", "江川市中级人民法院", reg::UnitKind::Court, &high.id).await;
    let low = unit("jcq", "江城区人民法院", reg::UnitKind::GrassrootsCourt, &mid.id).await;
    let dept = unit("jcq-zxj", "江城法院执行局", reg::UnitKind::Department, &low.id).await;
    let source = admin
        .create_source(reg::CreateSourceRequest {
            request_id: duban_tests::rid(),
            source: Some(reg::Source {
                kind: reg::SourceKind::PresidentInstruction as i32,
                title: "关于执行积案的批示".into(),
                court_id: low.id.clone(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let item = admin
        .create_item(reg::CreateItemRequest {
            request_id: duban_tests::rid(),
            item: Some(reg::Item {
                title: "执行积案化解".into(),
                source_id: source.id.clone(),
                court_id: low.id.clone(),
                urgency: reg::UrgencyClass::General as i32,
                urgency_reason: "院长批示".into(),
                lead_unit_id: dept.id.clone(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();

    // An old Excel ledger of the same court, imported.
    let row = ledger_row(&[
        ("事项名称", "执行案款集中清理"),
        ("来源", "院长批示"),
        ("立项日期", "2026-03-02"),
        ("紧急程度", "一般事项"),
        ("定级理由", "院长批示"),
        ("主办单位", "江城法院执行局"),
    ]);
    let imported = admin
        .import_ledger(tokio_stream::iter([
            reg::ImportLedgerRequest {
                part: Some(reg::import_ledger_request::Part::Options(reg::ImportLedgerOptions {
                    request_id: duban_tests::rid(),
                    court_id: low.id.clone(),
                    ..Default::default()
                })),
            },
            reg::ImportLedgerRequest {
                part: Some(reg::import_ledger_request::Part::Rows(reg::LedgerRows {
                    rows: vec![row],
                })),
            },
        ]))
        .await
        .unwrap()
        .into_inner();
    let imported = imported.items[0].item_id.clone();

    // By the high court's scope, and by a filter on it.
    let office = app
        .token(&[Role::OfficeSupervisor], &[Uuid::parse_str(&high.id).unwrap()])
        .await;
    let by_scope = pb::WatchEventsRequest {
        services: vec!["registry".into()],
        ..Default::default()
    };
    let by_filter = pb::WatchEventsRequest {
        unit_id: high.id.clone(),
        ..by_scope.clone()
    };
    for (token, req) in [(&office, by_scope), (&app.admin_token, by_filter)] {
        let mut events = stream(&app, token, req).await;
        let mut wanted = vec![
            ("source.created", source.id.clone()),
            ("item.created", item.id.clone()),
            ("item.imported", imported.clone()),
        ];
        while !wanted.is_empty() {
            let e = tokio::time::timeout(Duration::from_secs(30), events.message())
                .await
                .expect("the court's source and item events arrive")
                .unwrap()
                .unwrap();
            if let Some(i) = wanted
                .iter()
                .position(|(kind, id)| e.event_type == *kind && e.subject_id == *id)
            {
                wanted.remove(i);
                for u in [&high.id, &mid.id, &low.id] {
                    assert!(e.unit_ids.contains(u), "{} lists {u}: {:?}", e.event_type, e.unit_ids);
                }
            }
        }
    }
    app.stop().await;
}
