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
    let (mut registry, mut token) = (None, None);
    let mut expect_token = false;
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.first() == Some(&"registry") {
                registry = Some(words[1].to_owned());
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

async fn units(dev: &Dev) -> Vec<pb::Unit> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", dev.registry))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let bearer = duban::cli::Bearer::new(&dev.token).unwrap();
    let mut client = RegistryServiceClient::with_interceptor(channel, bearer);
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
