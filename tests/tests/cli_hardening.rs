//! The `duban` binary's own hardening: tokens only for people of the
//! directory, the dev admin token private from its first byte, crafted
//! spreadsheets refused with the cell that is wrong instead of a crash.

use duban::cli::admin::{self, TokenCommand};
use duban_core::Role;
use duban_tests::TestApp;

fn create(person: &str) -> TokenCommand {
    TokenCommand::Create {
        principal: "孙立军".into(),
        roles: vec![Role::Leader],
        scope: vec![],
        person: Some(person.into()),
        days: 30,
        description: String::new(),
    }
}

async fn tokens_for(app: &TestApp, person: uuid::Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM platform.tokens WHERE person_id = $1")
        .bind(person)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_token_stands_for_a_person_of_the_directory() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let nobody = uuid::Uuid::new_v4();
    for missing in [nobody.to_string(), "no.such.person".to_owned()] {
        let err = admin::token(&app.db.pool, create(&missing)).await.unwrap_err();
        let told = format!("{err:#}");
        assert!(told.contains(&missing) && told.contains("没有人员"), "{told}");
    }
    assert_eq!(tokens_for(&app, nobody).await, 0);
    let sun = duban_tests::uuid(&app.person_by_code("sun.lijun").await.id);
    admin::token(&app.db.pool, create("sun.lijun")).await.unwrap();
    admin::token(&app.db.pool, create(&sun.to_string())).await.unwrap();
    assert_eq!(tokens_for(&app, sun).await, 2);
}

#[cfg(unix)]
#[tokio::test]
async fn the_dev_admin_token_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn().await;
    let dir = std::env::temp_dir().join(format!("duban-admin-token-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("admin.token");
    // A stale token another version left world-readable is replaced, and the
    // new one does not inherit its mode.
    std::fs::write(&path, "dbn_stale\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (secret, principal) = duban::dev::admin_token(&app.db.pool, &dir).await.unwrap();
    assert!(principal.is_admin());
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), secret);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    // Valid, it is reused.
    let (again, _) = duban::dev::admin_token(&app.db.pool, &dir).await.unwrap();
    assert_eq!(again, secret);
    // Any private file: 0600 whatever it replaces. (That it is opened 0600
    // rather than narrowed after writing is not visible afterwards; the
    // open in `write_private` carries the mode.)
    let fresh = dir.join("other.token");
    duban::dev::write_private(&fresh, "x").unwrap();
    assert_eq!(std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o600);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A ledger sheet with its required columns and one row, to which `craft`
/// adds what an attacker would.
fn crafted(name: &str, craft: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> std::path::PathBuf {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (col, header) in ["事项名称", "来源", "紧急程度", "主办单位", "立项日期"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, col as u16, *header).unwrap();
    }
    for (col, value) in ["执行案款清理", "院长批示", "一般", "执行局"].iter().enumerate() {
        sheet.write_string(1, col as u16, *value).unwrap();
    }
    craft(sheet);
    let path = std::env::temp_dir().join(format!("duban-{name}-{}.xlsx", uuid::Uuid::new_v4()));
    workbook.save(&path).unwrap();
    path
}

fn refused(path: &std::path::Path) -> String {
    let err = duban::ledger_xlsx::read(path).unwrap_err();
    std::fs::remove_file(path).unwrap();
    format!("{err:#}")
}

#[test]
fn a_cell_at_the_sheets_far_corner_is_refused_by_name() {
    let path = crafted("far-corner", |sheet| {
        sheet.write_string(1_048_575, 16_383, "x").unwrap();
    });
    assert!(std::fs::metadata(&path).unwrap().len() < 10_000);
    let told = refused(&path);
    assert!(told.contains("XFD1048576") && told.contains("超出台账的范围"), "{told}");
}

#[test]
fn a_date_beyond_the_calendar_is_refused_by_cell() {
    // A bare serial number in a date column, and one formatted as a date.
    let bare = crafted("date-bare", |sheet| {
        sheet.write_number(1, 4, 1e15).unwrap();
    });
    let told = refused(&bare);
    assert!(
        told.contains("E2") && told.contains("第2行第E列") && told.contains("立项日期"),
        "{told}"
    );
    assert!(
        told.contains("超出Excel日期范围") && told.contains("not a date Excel can show"),
        "{told}"
    );
    let formatted = crafted("date-formatted", |sheet| {
        let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        sheet.write_number_with_format(1, 4, -1e15, &date).unwrap();
    });
    let told = refused(&formatted);
    assert!(told.contains("E2") && told.contains("超出Excel日期范围"), "{told}");
    // A real date still reads.
    let fine = crafted("date-fine", |sheet| {
        sheet.write_number(1, 4, 46086.0).unwrap();
    });
    let rows = duban::ledger_xlsx::read(&fine).unwrap();
    std::fs::remove_file(&fine).unwrap();
    assert_eq!(rows[0].cells["立项日期"], "2026-03-05");
    assert_eq!(rows[0].row, 2);
}
