//! `duban dev` as a user runs it: the real binary, its own PostgreSQL, a
//! restart that keeps the data, and a clear message without PostgreSQL.

use duban_proto::registry::v1 as pb;
use duban_proto::registry::v1::registry_service_client::RegistryServiceClient;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

struct Dev {
    child: Child,
    registry: String,
    assignment: String,
    token: String,
}

fn duban(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_duban"));
    cmd.arg("dev")
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("DUBAN_DATABASE__URL")
        .env_remove("DUBAN_CONFIG")
        .env("DUBAN_SERVER__REGISTRY_PORT", "0")
        .env("DUBAN_SERVER__ASSIGNMENT_PORT", "0")
        .env("DUBAN_SERVER__APPRAISAL_PORT", "0")
        .env("DUBAN_SERVER__REPORTING_PORT", "0")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    cmd
}

async fn start(data_dir: &Path, demo: bool) -> Dev {
    let mut cmd = duban(data_dir);
    if demo {
        cmd.arg("--demo");
    }
    let mut child = cmd.spawn().expect("running duban dev");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut registry, mut assignment, mut token) = (None, None, None);
    let mut expect_token = false;
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.first() {
                Some(&"registry") => registry = Some(words[1].to_owned()),
                Some(&"assignment") => assignment = Some(words[1].to_owned()),
                _ => {}
            }
            if expect_token {
                token = Some(line.trim().to_owned());
                expect_token = false;
            }
            if line.starts_with("Admin token") {
                expect_token = true;
            }
            if line.starts_with("Try:") {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(120), read)
        .await
        .expect("duban dev came up");
    Dev {
        child,
        registry: registry.expect("registry endpoint printed"),
        assignment: assignment.expect("assignment endpoint printed"),
        token: token.expect("admin token printed"),
    }
}

async fn stop(mut dev: Dev) {
    let pid = dev.child.id().unwrap().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(60), dev.child.wait())
        .await
        .expect("duban dev stops on SIGTERM")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

async fn channel(addr: &str) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn units(dev: &Dev) -> Vec<pb::Unit> {
    let bearer = duban::cli::Bearer::new(&dev.token).unwrap();
    let mut client = RegistryServiceClient::with_interceptor(channel(&dev.registry).await, bearer);
    client
        .list_units(pb::ListUnitsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .units
}

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("duban-devtest-{}", uuid::Uuid::new_v4().simple()))
}

#[tokio::test]
async fn dev_mode_keeps_its_data_across_a_restart() {
    let dir = temp_dir();
    let dev = start(&dir, true).await;
    let first = units(&dev).await;
    assert_eq!(first.len(), 16);
    assert!(first.iter().any(|u| u.name == "江川市中级人民法院"));
    assert_eq!(
        std::fs::read_to_string(dir.join("admin.token")).unwrap().trim(),
        dev.token
    );
    let token = dev.token.clone();

    // Something made by hand, to find again after the restart.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", dev.registry))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = RegistryServiceClient::with_interceptor(channel, duban::cli::Bearer::new(&token).unwrap());
    let court = first.iter().find(|u| u.code == "jczy").unwrap();
    client
        .create_unit(pb::CreateUnitRequest {
            request_id: "restart-test".into(),
            unit: Some(pb::Unit {
                code: "jczy-new".into(),
                name: "新设部门".into(),
                kind: pb::UnitKind::Department as i32,
                parent_id: court.id.clone(),
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    stop(dev).await;

    let dev = start(&dir, false).await;
    assert_eq!(dev.token, token, "the admin token is reused");
    let again = units(&dev).await;
    assert_eq!(again.len(), 17);
    assert!(again.iter().any(|u| u.code == "jczy-new" && u.name == "新设部门"));
    stop(dev).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The demo's ledger as an office would have kept it: 立项 before 交办,
/// numbered in the order registered, each item followed by a leader who
/// supervises (分管) its lead unit.
#[tokio::test]
async fn the_demo_ledger_reads_like_a_courts() {
    use duban_proto::assignment::v1 as apb;
    use duban_proto::assignment::v1::assignment_service_client::AssignmentServiceClient;
    let dir = temp_dir();
    let dev = start(&dir, true).await;
    let bearer = duban::cli::Bearer::new(&dev.token).unwrap();
    let mut registry = RegistryServiceClient::with_interceptor(channel(&dev.registry).await, bearer.clone());
    let mut items = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = registry
            .list_items(pb::ListItemsRequest {
                page_size: 100,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        items.extend(page.items);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let assignments = AssignmentServiceClient::with_interceptor(channel(&dev.assignment).await, bearer)
        .list_assignments(apb::ListAssignmentsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(assignments.next_page_token.is_empty());
    let assignments = assignments.assignments;
    assert!(
        items.len() >= 25 && assignments.len() >= 10,
        "the demo ledger loaded: {} items, {} assignments",
        items.len(),
        assignments.len()
    );
    let seconds = |t: &Option<prost_types::Timestamp>| t.as_ref().map(|t| t.seconds);

    for a in &assignments {
        let item = items.iter().find(|i| i.id == a.item_id).unwrap();
        assert!(
            seconds(&item.registered_time).unwrap() <= seconds(&a.assigned_time).unwrap(),
            "{} 立项 {:?} after 交办 {:?}",
            item.number,
            item.registered_time,
            a.assigned_time
        );
    }

    let mut numbered: Vec<(i64, &pb::Item)> = items
        .iter()
        .filter(|i| i.parent_id.is_empty() && !i.number.is_empty())
        .map(|i| {
            let seq = i.number.strip_prefix("督〔2026〕").and_then(|n| n.strip_suffix('号'));
            (
                seq.unwrap_or_else(|| panic!("{} is not numbered in 2026", i.number))
                    .parse()
                    .unwrap(),
                i,
            )
        })
        .collect();
    numbered.sort_by_key(|(seq, _)| *seq);
    assert!(
        numbered
            .windows(2)
            .all(|w| seconds(&w[0].1.registered_time) <= seconds(&w[1].1.registered_time)),
        "numbered in registration order: {:?}",
        numbered
            .iter()
            .map(|(_, i)| (&i.number, seconds(&i.registered_time)))
            .collect::<Vec<_>>()
    );

    let units = units(&dev).await;
    for item in &items {
        let lead = units.iter().find(|u| u.id == item.lead_unit_id).unwrap();
        assert!(
            lead.supervising_leaders
                .iter()
                .any(|l| l.id == item.supervising_leader_id),
            "{} {}: {:?} does not supervise {}",
            item.number,
            item.title,
            item.supervising_leader_name,
            lead.name
        );
    }
    stop(dev).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn without_postgresql_binaries_dev_mode_says_how_to_install_them() {
    let dir = temp_dir();
    let empty = temp_dir();
    std::fs::create_dir_all(&empty).unwrap();
    let out = duban(&dir)
        .env("DUBAN_PG_BINDIR", &empty)
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("apt-get install postgresql"), "{stderr}");
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&empty);
}
