//! The foundation over real gRPC on a real PostgreSQL: health, reflection,
//! authentication, scope, audit, idempotency, etags, validation errors.

use duban::app::ServiceKind;
use duban_core::Role;
use duban_platform::audit::{self, Verdict};
use duban_platform::auth::TokenStore;
use duban_proto::registry::v1 as pb;
use duban_proto::registry::v1::registry_service_client::RegistryServiceClient;
use duban_tests::{TestApp, issue_token, rid, uuid};
use tonic::Code;
use tonic_types::StatusExt;

fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

fn zh(status: &tonic::Status) -> String {
    let details = status.get_error_details();
    let m = details.localized_message().expect("a zh-CN LocalizedMessage");
    assert_eq!(m.locale, "zh-CN");
    m.message.clone()
}

fn new_unit(code: &str, name: &str, kind: pb::UnitKind, parent: &str) -> pb::Unit {
    pb::Unit {
        code: code.into(),
        name: name.into(),
        kind: kind as i32,
        parent_id: parent.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn every_port_serves_health_and_reflection_without_a_token() {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let app = TestApp::spawn().await;
    for kind in ServiceKind::ALL {
        let channel = app.channel(kind).await;
        let status = HealthClient::new(channel.clone())
            .check(HealthCheckRequest {
                service: kind.grpc_name().into(),
            })
            .await
            .expect("health check")
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{kind:?}");

        let mut reflection = ServerReflectionClient::new(channel);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = reflection
            .server_reflection_info(tokio_stream::once(request))
            .await
            .expect("reflection")
            .into_inner();
        let response = stream.message().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
            panic!("unexpected reflection answer");
        };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        assert!(names.contains(&kind.grpc_name().to_owned()), "{kind:?}: {names:?}");
        assert!(names.contains(&"grpc.health.v1.Health".to_owned()), "{names:?}");

        // The registry's contract is fully described by reflection.
        if kind == ServiceKind::Registry {
            let request = ServerReflectionRequest {
                host: String::new(),
                message_request: Some(MessageRequest::FileContainingSymbol(
                    "duban.registry.v1.RegistryService".into(),
                )),
            };
            let mut stream = reflection
                .server_reflection_info(tokio_stream::once(request))
                .await
                .unwrap()
                .into_inner();
            let response = stream.message().await.unwrap().unwrap();
            assert!(matches!(
                response.message_response,
                Some(MessageResponse::FileDescriptorResponse(f)) if !f.file_descriptor_proto.is_empty()
            ));
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn health_is_not_serving_while_the_database_is_unreachable() {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

    let app = TestApp::spawn().await;
    let admin_url = duban_platform::pg_cluster::with_database(&app.db.url, "postgres");
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    let name = app.db.name.clone();
    let check = async |want: ServingStatus| {
        let mut health = HealthClient::new(app.channel(ServiceKind::Assignment).await);
        for _ in 0..150 {
            let status = health
                .check(HealthCheckRequest {
                    service: ServiceKind::Assignment.grpc_name().into(),
                })
                .await
                .unwrap()
                .into_inner()
                .status;
            if status == want as i32 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("health never became {want:?}");
    };
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE {name} ALLOW_CONNECTIONS false; \
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid();"
    )))
    .execute(&admin)
    .await
    .unwrap();
    check(ServingStatus::NotServing).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE {name} ALLOW_CONNECTIONS true"
    )))
    .execute(&admin)
    .await
    .unwrap();
    check(ServingStatus::Serving).await;
    app.stop().await;
}

#[tokio::test]
async fn every_authentication_failure_is_unauthenticated() {
    let app = TestApp::spawn().await;
    let channel = app.channel(ServiceKind::Registry).await;
    let call_with = async |header: Option<&str>| {
        let header = header.map(|h| h.parse::<tonic::metadata::MetadataValue<_>>().unwrap());
        let mut client = RegistryServiceClient::with_interceptor(channel.clone(), move |mut req: tonic::Request<()>| {
            if let Some(h) = &header {
                req.metadata_mut().insert("authorization", h.clone());
            }
            Ok(req)
        });
        client.list_units(pb::ListUnitsRequest::default()).await
    };

    let expired = issue_token(&app.db, "old", &[Role::Admin], &[], Some(chrono::Duration::minutes(-1))).await;
    let revoked = issue_token(&app.db, "gone", &[Role::Admin], &[], None).await;
    let tokens = TokenStore::new(app.db.pool.clone());
    let revoked_id = tokens
        .list(false)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.principal == "gone")
        .unwrap()
        .id;
    assert!(tokens.revoke(revoked_id).await.unwrap());
    assert_eq!(
        tokens
            .list(false)
            .await
            .unwrap()
            .iter()
            .filter(|t| t.id == revoked_id)
            .count(),
        0
    );

    let unknown = format!("Bearer dbn_{}", "0".repeat(64));
    let cases = [
        ("missing", None),
        ("not bearer", Some("Basic dXNlcjpwYXNz".to_owned())),
        ("garbled", Some("Bearer not-a-token".to_owned())),
        ("unknown", Some(unknown)),
        ("expired", Some(format!("Bearer {expired}"))),
        ("revoked", Some(format!("Bearer {revoked}"))),
    ];
    for (case, header) in cases {
        let err = call_with(header.as_deref()).await.expect_err(case);
        assert_eq!(err.code(), Code::Unauthenticated, "{case}: {err:?}");
        assert_eq!(reason(&err), "UNAUTHENTICATED", "{case}");
        assert!(zh(&err).contains("身份认证失败"), "{case}");
    }
    let ok = call_with(Some(&format!("Bearer {}", app.admin_token))).await;
    assert!(ok.is_ok(), "{ok:?}");
    // Tokens are stored only as hashes.
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT secret_hash FROM platform.tokens")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|h| h.len() == 32 && !String::from_utf8_lossy(h).contains("dbn_"))
    );
    app.stop().await;
}

#[tokio::test]
async fn roles_act_only_inside_their_scope() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let lat = app.unit_by_code("jczy-lat").await;
    let xs = app.unit_by_code("jczy-xs").await;
    let jcq = app.unit_by_code("jc-jcq").await;
    let court = app.unit_by_code("jczy").await;

    // A liaison sees their own unit, nothing else, and changes nothing.
    let liaison = app.token(&[Role::UnitLiaison], &[uuid(&lat.id)]).await;
    let mut client = app.registry(&liaison).await;
    let own = client
        .get_unit(pb::GetUnitRequest { id: lat.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.name, "立案庭");
    let err = client
        .get_unit(pb::GetUnitRequest { id: xs.id.clone() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(zh(&err).contains("无权"), "{}", zh(&err));
    let listed = client
        .list_units(pb::ListUnitsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.units.iter().map(|u| u.code.as_str()).collect::<Vec<_>>(),
        ["jczy-lat"]
    );
    let err = client
        .update_unit(pb::UpdateUnitRequest {
            request_id: rid(),
            unit: Some(pb::Unit {
                name: "改名".into(),
                ..own.clone()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["name".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // An office supervisor of a grassroots court manages that court only.
    let supervisor = app.token(&[Role::OfficeSupervisor], &[uuid(&jcq.id)]).await;
    let mut client = app.registry(&supervisor).await;
    let created = client
        .create_unit(pb::CreateUnitRequest {
            request_id: rid(),
            unit: Some(new_unit("jcq-lat", "江城法院立案庭", pb::UnitKind::Department, &jcq.id)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.parent_id, jcq.id);
    let err = client
        .create_unit(pb::CreateUnitRequest {
            request_id: rid(),
            unit: Some(new_unit("jczy-new", "新部门", pb::UnitKind::Department, &court.id)),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert_eq!(reason(&err), "PERMISSION_DENIED");
    // Only an admin adds a root court.
    let err = client
        .create_unit(pb::CreateUnitRequest {
            request_id: rid(),
            unit: Some(new_unit("other-court", "另一法院", pb::UnitKind::Court, "")),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    app.stop().await;
}

#[tokio::test]
async fn bad_input_gets_field_violations_in_english_and_chinese() {
    let app = TestApp::spawn().await;
    let mut client = app.admin().await;
    let err = client
        .create_unit(pb::CreateUnitRequest {
            request_id: rid(),
            unit: Some(pb::Unit {
                code: "立案 庭".into(),
                name: "  ".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(reason(&err), "INVALID_ARGUMENT");
    let details = err.get_error_details();
    let fields: Vec<&str> = details
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, ["unit.kind", "unit.code", "unit.name"]);
    assert!(
        details
            .bad_request()
            .unwrap()
            .field_violations
            .iter()
            .all(|v| v.localized_message.is_some())
    );
    assert!(zh(&err).contains("名称不能为空"), "{}", zh(&err));

    // Missing request id.
    let err = client
        .create_unit(pb::CreateUnitRequest {
            request_id: String::new(),
            unit: Some(new_unit("c", "法院", pb::UnitKind::Court, "")),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(details_fields(&err), ["request_id"]);

    // A department cannot be a root unit.
    let err = client
        .create_unit(pb::CreateUnitRequest {
            request_id: rid(),
            unit: Some(new_unit("d", "部门", pb::UnitKind::Department, "")),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(details_fields(&err), ["unit.parent_id"]);

    // A duplicate code is ALREADY_EXISTS, with no SQL in sight.
    client
        .create_unit(pb::CreateUnitRequest {
            request_id: rid(),
            unit: Some(new_unit("c1", "法院", pb::UnitKind::Court, "")),
        })
        .await
        .unwrap();
    let err = client
        .create_unit(pb::CreateUnitRequest {
            request_id: rid(),
            unit: Some(new_unit("c1", "法院二", pb::UnitKind::Court, "")),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    let text = format!("{} {}", err.message(), zh(&err));
    assert!(
        !text.contains("duplicate key") && !text.contains("violates") && !text.contains("INSERT"),
        "{text}"
    );

    // Unknown ids are NOT_FOUND; malformed ones INVALID_ARGUMENT.
    let err = client
        .get_unit(pb::GetUnitRequest {
            id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(zh(&err).contains("未找到单位"));
    let err = client
        .get_unit(pb::GetUnitRequest { id: "x".into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    app.stop().await;
}

fn details_fields(err: &tonic::Status) -> Vec<String> {
    err.get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

async fn count(pool: &sqlx::PgPool, table: &'static str) -> i64 {
    let sql = match table {
        "units" => "SELECT count(*) FROM registry.units",
        "people" => "SELECT count(*) FROM registry.people",
        "officers" => "SELECT count(*) FROM registry.unit_officers",
        "bindings" => "SELECT count(*) FROM registry.role_bindings",
        "supervisions" => "SELECT count(*) FROM registry.supervisions",
        "events" => "SELECT count(*) FROM platform.events",
        "audit" => "SELECT count(*) FROM platform.audit_log",
        _ => unreachable!(),
    };
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

async fn counts(pool: &sqlx::PgPool) -> Vec<i64> {
    let mut out = Vec::new();
    for t in [
        "units",
        "people",
        "officers",
        "bindings",
        "supervisions",
        "events",
        "audit",
    ] {
        out.push(count(pool, t).await);
    }
    out
}

#[tokio::test]
async fn a_retry_with_the_same_request_id_returns_the_first_result_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let mut client = app.admin().await;
    let request = pb::CreateUnitRequest {
        request_id: "create-court-1".into(),
        unit: Some(new_unit("c1", "示范法院", pb::UnitKind::Court, "")),
    };
    let first = client.create_unit(request.clone()).await.unwrap().into_inner();
    let before = counts(&app.db.pool).await;
    let second = client.create_unit(request.clone()).await.unwrap().into_inner();
    assert_eq!(first, second);
    assert_eq!(counts(&app.db.pool).await, before);

    // Concurrent retries of one new request: one unit, one answer.
    let request = pb::CreateUnitRequest {
        request_id: "create-court-2".into(),
        unit: Some(new_unit("c2", "另一法院", pb::UnitKind::Court, "")),
    };
    let mut calls = Vec::new();
    for _ in 0..8 {
        let mut c = client.clone();
        let r = request.clone();
        calls.push(tokio::spawn(
            async move { c.create_unit(r).await.map(|r| r.into_inner()) },
        ));
    }
    let mut ids = std::collections::HashSet::new();
    for call in calls {
        ids.insert(call.await.unwrap().expect("each retry succeeds").id);
    }
    assert_eq!(ids.len(), 1);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM registry.units WHERE code = 'c2'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);

    // The same id for a different request is refused.
    let err = client
        .create_unit(pb::CreateUnitRequest {
            request_id: "create-court-1".into(),
            unit: Some(new_unit("c3", "第三法院", pb::UnitKind::Court, "")),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");
    app.stop().await;
}

#[tokio::test]
async fn a_stale_etag_is_aborted_and_loses_nothing() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let mut client = app.admin().await;
    let lat = app.unit_by_code("jczy-lat").await;
    let mask = || {
        Some(prost_types::FieldMask {
            paths: vec!["name".into()],
        })
    };
    let updated = client
        .update_unit(pb::UpdateUnitRequest {
            request_id: rid(),
            unit: Some(pb::Unit {
                name: "立案一庭".into(),
                ..lat.clone()
            }),
            update_mask: mask(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.name, "立案一庭");
    assert_ne!(updated.etag, lat.etag);
    let err = client
        .update_unit(pb::UpdateUnitRequest {
            request_id: rid(),
            unit: Some(pb::Unit {
                name: "立案二庭".into(),
                ..lat.clone()
            }),
            update_mask: mask(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    assert_eq!(reason(&err), "STALE_ETAG");
    assert!(zh(&err).contains("已被他人修改"));
    let now = client
        .get_unit(pb::GetUnitRequest { id: lat.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(now.name, "立案一庭");
    // No etag at all is refused rather than overwriting blindly.
    let err = client
        .update_unit(pb::UpdateUnitRequest {
            request_id: rid(),
            unit: Some(pb::Unit {
                name: "x".into(),
                etag: String::new(),
                ..lat.clone()
            }),
            update_mask: mask(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    app.stop().await;
}

#[tokio::test]
async fn audit_verify_passes_then_catches_an_update_done_in_sql() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let Verdict::Intact { records } = audit::verify(&app.db.pool).await.unwrap() else {
        panic!("fresh chain must be intact");
    };
    assert!(records > 100, "{records}");
    // Who did it and on whose token is on every record.
    let (principal, token): (String, Option<uuid::Uuid>) = sqlx::query_as(
        "SELECT principal, token_id FROM platform.audit_log WHERE action = 'unit.created' ORDER BY seq LIMIT 1",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(principal, "admin");
    assert!(token.is_some());
    sqlx::query("UPDATE platform.audit_log SET after = jsonb_set(after, '{name}', '\"篡改\"') WHERE seq = 5")
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(
        audit::verify(&app.db.pool).await.unwrap(),
        Verdict::Broken {
            seq: 5,
            reason: "content does not match its hash (altered)".into()
        }
    );
    app.stop().await;
}

#[tokio::test]
async fn audit_verify_catches_a_deleted_record_and_a_deleted_tail() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let n = match audit::verify(&app.db.pool).await.unwrap() {
        Verdict::Intact { records } => records,
        other => panic!("{other:?}"),
    };
    sqlx::query("DELETE FROM platform.audit_log WHERE seq = $1")
        .bind(n)
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert!(matches!(audit::verify(&app.db.pool).await.unwrap(), Verdict::Broken { seq, .. } if seq == n));
    sqlx::query("DELETE FROM platform.audit_log WHERE seq = 7")
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert!(matches!(
        audit::verify(&app.db.pool).await.unwrap(),
        Verdict::Broken { seq: 7, .. }
    ));
    app.stop().await;
}

#[tokio::test]
async fn officers_change_with_history_and_leaders_supervise_units() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let mut client = app.admin().await;
    let lat = app.unit_by_code("jczy-lat").await;
    let people = client
        .list_people(pb::ListPeopleRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .people;
    let by_code = |c: &str| people.iter().find(|p| p.code == c).unwrap().clone();
    let new_head = by_code("li.xiaoting");
    let unit = client
        .assign_unit_officer(pb::AssignUnitOfficerRequest {
            request_id: rid(),
            unit_id: lat.id.clone(),
            post: pb::OfficerPost::Head as i32,
            person_id: new_head.id.clone(),
            note: "庭长调任".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unit.head.unwrap().name, "李晓婷");
    let terms = client
        .list_unit_officer_terms(pb::ListUnitOfficerTermsRequest {
            unit_id: lat.id.clone(),
            post: pb::OfficerPost::Head as i32,
        })
        .await
        .unwrap()
        .into_inner()
        .terms;
    assert_eq!(terms.len(), 2);
    assert_eq!(terms[0].person.as_ref().unwrap().name, "王建华");
    assert!(terms[0].end_time.is_some());
    assert_eq!(terms[1].person.as_ref().unwrap().name, "李晓婷");
    assert!(terms[1].end_time.is_none());
    assert_eq!(terms[0].end_time, terms[1].start_time);

    // 分管: only leaders, and the set replaces the old one.
    let leader = by_code("sun.lijun");
    let xs = app.unit_by_code("jczy-xs").await;
    let updated = client
        .set_supervised_units(pb::SetSupervisedUnitsRequest {
            request_id: rid(),
            leader_id: leader.id.clone(),
            unit_ids: vec![xs.id.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.supervised_unit_ids, vec![xs.id.clone()]);
    let xs_now = client
        .get_unit(pb::GetUnitRequest { id: xs.id.clone() })
        .await
        .unwrap()
        .into_inner();
    let names: Vec<&str> = xs_now.supervising_leaders.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["刘慧敏", "孙立军"]);
    let err = client
        .set_supervised_units(pb::SetSupervisedUnitsRequest {
            request_id: rid(),
            leader_id: new_head.id.clone(),
            unit_ids: vec![xs.id.clone()],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    app.stop().await;
}

#[tokio::test]
async fn units_page_through_without_duplicates_or_gaps() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let mut client = app.admin().await;
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_units(pb::ListUnitsRequest {
                page_size: 3,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.units.len() <= 3);
        seen.extend(page.units.into_iter().map(|u| u.code));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen.len(), 16);
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 16);
    assert_eq!(seen[0], "jczy");
    let err = client
        .list_units(pb::ListUnitsRequest {
            page_token: "zz".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    app.stop().await;
}
