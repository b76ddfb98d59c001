//! `ImportOrgDirectory`: a whole file or nothing, every error named, twice is
//! once.

use duban_core::Role;
use duban_proto::registry::v1 as pb;
use duban_tests::{TestApp, uuid};
use tonic::Code;
use tonic_types::StatusExt;

async fn snapshot(pool: &sqlx::PgPool) -> Vec<i64> {
    let mut out = Vec::new();
    for sql in [
        "SELECT count(*) FROM registry.units",
        "SELECT count(*) FROM registry.people",
        "SELECT count(*) FROM registry.unit_officers",
        "SELECT count(*) FROM registry.role_bindings",
        "SELECT count(*) FROM registry.supervisions",
        "SELECT count(*) FROM platform.events",
        "SELECT count(*) FROM platform.audit_log",
        "SELECT coalesce(sum(version), 0)::bigint FROM registry.units",
    ] {
        out.push(sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await.unwrap());
    }
    out
}

fn import(content: &str, request_id: &str, dry_run: bool) -> pb::ImportOrgDirectoryRequest {
    pb::ImportOrgDirectoryRequest {
        request_id: request_id.into(),
        content: content.into(),
        dry_run,
    }
}

#[tokio::test]
async fn the_demo_court_imports_once() {
    let app = TestApp::spawn().await;
    let first = app.load_demo().await;
    assert_eq!(first.units_created, 16);
    assert_eq!(first.people_created, 37);
    assert_eq!(first.officers_changed, 32);
    assert_eq!(first.supervisions_changed, 6);
    let court = app.unit_by_code("jczy").await;
    assert_eq!(court.name, "江川市中级人民法院");
    let lat = app.unit_by_code("jczy-lat").await;
    assert_eq!(lat.head.unwrap().name, "王建华");
    assert_eq!(lat.liaison.unwrap().name, "李晓婷");
    assert_eq!(lat.supervising_leaders[0].name, "陈立新");

    // The same file again, under another request id: nothing changes.
    let before = snapshot(&app.db.pool).await;
    let again = app
        .admin()
        .await
        .import_org_directory(import(duban_registry::DEMO_ORG, "demo-again", false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, pb::ImportOrgDirectoryResponse::default());
    assert_eq!(snapshot(&app.db.pool).await, before);

    // Default role scopes: a head over their unit, a leader over the court.
    let bindings = app
        .admin()
        .await
        .list_role_bindings(pb::ListRoleBindingsRequest {
            role: pb::Role::Leader as i32,
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .bindings;
    assert_eq!(bindings.len(), 6);
    assert!(bindings.iter().all(|b| b.unit_id == court.id));
    app.stop().await;
}

#[tokio::test]
async fn a_bad_file_changes_nothing_and_names_every_error() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let before = snapshot(&app.db.pool).await;
    let file = r#"
[[units]]
code = "jczy-new"
name = "新设部门"
kind = "department"
parent = "jczy"

[[units]]
code = "jczy-lat"
name = "立案庭(改名)"
kind = "department"
parent = "nowhere"

[[people]]
code = "new.person"
name = "新人"
unit = "jczy-new"
email = "not-an-email"
roles = ["chief"]
"#;
    let err = app
        .admin()
        .await
        .import_org_directory(import(file, "bad-file", false))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let details = err.get_error_details();
    let violations = &details.bad_request().unwrap().field_violations;
    let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, ["units[1].parent", "people[0].email", "people[0].roles[0]"]);
    assert!(
        violations[0].description.starts_with("line 8:"),
        "{}",
        violations[0].description
    );
    assert!(
        violations[1].description.starts_with("line 14:"),
        "{}",
        violations[1].description
    );
    let zh = violations[0].localized_message.as_ref().unwrap();
    assert_eq!(zh.locale, "zh-CN");
    assert!(zh.message.starts_with("第8行"), "{}", zh.message);
    assert_eq!(snapshot(&app.db.pool).await, before);

    // A syntax error names its line too.
    let err = app
        .admin()
        .await
        .import_org_directory(import("[[units]]\ncode = \"x\"\nname = \n", "syntax", false))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("line 3"), "{}", err.message());
    assert_eq!(snapshot(&app.db.pool).await, before);
    app.stop().await;
}

#[tokio::test]
async fn a_file_that_fails_while_applying_changes_nothing() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let jcq = app.unit_by_code("jc-jcq").await;
    let before = snapshot(&app.db.pool).await;
    // Valid, but half of it lies outside the supervisor's court.
    let file = r#"
[[units]]
code = "jcq-xs"
name = "江城法院刑事审判庭"
kind = "department"
parent = "jc-jcq"

[[units]]
code = "jczy-new"
name = "中院新部门"
kind = "department"
parent = "jczy"
"#;
    let supervisor = app.token(&[Role::OfficeSupervisor], &[uuid(&jcq.id)]).await;
    let err = app
        .registry(&supervisor)
        .await
        .import_org_directory(import(file, "scope", false))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(snapshot(&app.db.pool).await, before);
    app.stop().await;
}

#[tokio::test]
async fn a_dry_run_reports_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let before = snapshot(&app.db.pool).await;
    let out = app
        .admin()
        .await
        .import_org_directory(import(duban_registry::DEMO_ORG, "dry", true))
        .await
        .unwrap()
        .into_inner();
    assert!(out.dry_run);
    assert_eq!(out.units_created, 16);
    assert_eq!(snapshot(&app.db.pool).await, before);
    app.stop().await;
}
