//! The Compose deployment, run for real: the image built by
//! deploy/build-image.sh, deploy/compose.yaml brought up with Podman (or
//! Docker), and a court office's day driven over gRPC from outside the
//! containers, its mail counted at an SMTP sink on the Compose network.
//!
//! Needs a container engine and the images, so it is ignored by the plain
//! `cargo test`; deploy/test/containers.sh installs what it needs, makes the
//! images and runs it (`.ci/run` calls that script).

use duban::cli::Bearer;
use duban_proto::assignment::v1 as apb;
use duban_proto::assignment::v1::assignment_service_client::AssignmentServiceClient;
use duban_proto::registry::v1 as pb;
use duban_proto::registry::v1::registry_service_client::RegistryServiceClient;
use duban_proto::reporting::v1 as rpb;
use duban_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use duban_tests::{Assignments, Registry, Reporting, acknowledge, assign, feedback, rid};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use tonic::transport::{Channel, Endpoint};

/// Host ports the stack publishes (on 127.0.0.1), away from a dev suite's.
const PORTS: [(&str, u16); 4] = [
    ("registry", 15051),
    ("assignment", 15052),
    ("appraisal", 15053),
    ("reporting", 15054),
];
const PROJECT: &str = "dubanct";

struct Stack {
    root: PathBuf,
    work: PathBuf,
    env: Vec<(String, String)>,
}

impl Stack {
    fn new() -> Stack {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
        let work = std::env::temp_dir().join(format!("duban-containers-{}", std::process::id()));
        std::fs::create_dir_all(work.join("mail")).unwrap();
        let sink = std::env::var("DUBAN_SMTP_SINK")
            .expect("DUBAN_SMTP_SINK: the smtp-sink binary (deploy/test/containers.sh sets it)");
        std::fs::write(
            work.join("compose.test.yaml"),
            format!(
                "services:\n  mail:\n    image: {base}\n    command: [\"/sink\", \"0.0.0.0:25\", \"/spool\"]\n    volumes: [\"{sink}:/sink:ro\", \"{spool}:/spool\"]\n",
                base = std::env::var("DUBAN_TEST_BASE_IMAGE").unwrap_or_else(|_| "localhost/debian-base:bookworm".into()),
                spool = work.join("mail").display(),
            ),
        )
        .unwrap();
        let mut env = vec![
            (
                "DUBAN_IMAGE".into(),
                std::env::var("DUBAN_IMAGE").unwrap_or_else(|_| "localhost/duban:test".into()),
            ),
            (
                "DUBAN_POSTGRES_IMAGE".into(),
                std::env::var("DUBAN_POSTGRES_IMAGE").unwrap_or_else(|_| "localhost/duban-postgres:15".into()),
            ),
            ("DUBAN_DB_PASSWORD".into(), format!("ct-{}", rid())),
            ("DUBAN_SMTP_HOST".into(), "mail".into()),
            ("DUBAN_SMTP_PORT".into(), "25".into()),
            ("DUBAN_SMTP_TLS".into(), "none".into()),
            ("DUBAN_BIND".into(), "127.0.0.1".into()),
        ];
        for (name, port) in PORTS {
            env.push((format!("DUBAN_{}_PORT", name.to_uppercase()), port.to_string()));
        }
        Stack { root, work, env }
    }

    fn compose(&self, args: &[&str]) -> Output {
        let (program, mut all): (&str, Vec<String>) = match std::env::var("DUBAN_COMPOSE").as_deref() {
            Ok("docker") => ("docker", vec!["compose".into()]),
            _ => ("podman-compose", vec![]),
        };
        all.extend(["-p".into(), PROJECT.into()]);
        all.extend(["-f".into(), self.root.join("deploy/compose.yaml").display().to_string()]);
        all.extend(["-f".into(), self.work.join("compose.test.yaml").display().to_string()]);
        all.extend(args.iter().map(|a| a.to_string()));
        let out = Command::new(program)
            .args(&all)
            .envs(self.env.iter().cloned())
            .output()
            .unwrap_or_else(|e| panic!("running {program}: {e}"));
        if !out.status.success() {
            eprintln!(
                "{program} {all:?}: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        out
    }

    /// `duban ARGS` inside the running registry container (the image's own binary).
    fn duban(&self, args: &[&str]) -> String {
        let engine = std::env::var("CONTAINER_ENGINE").unwrap_or_else(|_| "podman".into());
        let out = Command::new(&engine)
            .args(["exec", &format!("{PROJECT}_registry_1"), "duban"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "duban {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn mail(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.work.join("mail"))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if std::env::var_os("DUBAN_KEEP_STACK").is_none() {
            self.compose(&["down", "-v"]);
            let _ = std::fs::remove_dir_all(&self.work);
        }
    }
}

async fn channel(service: &str) -> Channel {
    let port = PORTS.iter().find(|(n, _)| *n == service).unwrap().1;
    Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn wait_until_serving(deadline: Duration) {
    let start = Instant::now();
    for (name, port) in PORTS {
        let service = format!("duban.{name}.v1.{}Service", capitalised(name));
        loop {
            let status =
                duban::cli::health::check(&format!("http://127.0.0.1:{port}"), &service, Duration::from_secs(3)).await;
            if matches!(status, Ok(s) if s == tonic_health::pb::health_check_response::ServingStatus::Serving) {
                break;
            }
            assert!(
                start.elapsed() < deadline,
                "{service} not SERVING after {deadline:?}: {status:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// "Message-ID → recipients" of every message the sink holds, each recipient as often as it arrived.
fn arrivals(mail: &[String]) -> BTreeMap<(String, String), usize> {
    let mut seen = BTreeMap::new();
    for m in mail {
        let header = |name: &str| {
            m.lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
                .unwrap_or_default()
        };
        let id = header("Message-ID:");
        for to in header("X-Envelope-To:").split(',') {
            *seen.entry((id.clone(), to.to_lowercase())).or_insert(0) += 1;
        }
    }
    seen
}

#[tokio::test]
#[ignore = "runs containers: deploy/test/containers.sh"]
async fn a_court_office_day_on_the_compose_stack() {
    let stack = Stack::new();
    let started = Instant::now();
    let up = stack.compose(&["up", "-d"]);
    assert!(up.status.success(), "compose up failed");
    wait_until_serving(Duration::from_secs(180)).await;
    eprintln!("stack SERVING {:.1} s after `up`", started.elapsed().as_secs_f64());

    // A token for the office, made with the image's own binary, as an administrator would.
    let token = stack
        .duban(&[
            "token",
            "create",
            "--principal",
            "ct-office",
            "--role",
            "admin",
            "--days",
            "1",
        ])
        .trim()
        .to_owned();
    let bearer = Bearer::new(&token).unwrap();
    let mut registry: Registry = RegistryServiceClient::with_interceptor(channel("registry").await, bearer.clone());
    let mut assignments: Assignments =
        AssignmentServiceClient::with_interceptor(channel("assignment").await, bearer.clone());
    let mut reporting: Reporting = ReportingServiceClient::with_interceptor(channel("reporting").await, bearer.clone())
        .max_decoding_message_size(64 << 20);

    // The directory, then an item registered and approved (立项).
    let import = registry
        .import_org_directory(pb::ImportOrgDirectoryRequest {
            request_id: rid(),
            content: duban_registry::DEMO_ORG.into(),
            dry_run: false,
        })
        .await
        .expect("org import")
        .into_inner();
    assert!(import.units_created > 0, "{import:?}");
    let units = registry
        .list_units(pb::ListUnitsRequest {
            page_size: 200,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .units;
    let unit = |code: &str| {
        units
            .iter()
            .find(|u| u.code == code)
            .unwrap_or_else(|| panic!("unit {code}"))
            .id
            .clone()
    };
    let court = unit("jczy");
    let source = registry
        .create_source(pb::CreateSourceRequest {
            request_id: rid(),
            source: Some(pb::Source {
                kind: pb::SourceKind::PresidentInstruction as i32,
                title: "关于加强执行工作的批示".into(),
                court_id: court.clone(),
                ..Default::default()
            }),
        })
        .await
        .expect("source")
        .into_inner();
    let item = registry
        .create_item(pb::CreateItemRequest {
            request_id: rid(),
            item: Some(pb::Item {
                title: "清理长期未结执行案件".into(),
                source_id: source.id,
                court_id: court.clone(),
                urgency: pb::UrgencyClass::General as i32,
                urgency_reason: "院长批示要求".into(),
                lead_unit_id: unit("jczy-zxj"),
                ..Default::default()
            }),
        })
        .await
        .expect("item")
        .into_inner();
    let item = registry
        .submit_item(pb::SubmitItemRequest {
            request_id: rid(),
            id: item.id,
            etag: item.etag,
        })
        .await
        .expect("submit")
        .into_inner();
    let item = registry
        .approve_item(pb::ApproveItemRequest {
            request_id: rid(),
            id: item.id,
            etag: item.etag,
            ..Default::default()
        })
        .await
        .expect("approve")
        .into_inner();
    assert!(item.number.starts_with("督〔"), "{}", item.number);

    // 交办, 签收, 反馈, 办结报告, 核查.
    let a = assign(&mut assignments, &item.id).await;
    let a = acknowledge(&mut assignments, &a, "局党组专题研究部署").await;
    let a = feedback(&mut assignments, &a, "initial", "已梳理案件126件").await;
    let a = feedback(&mut assignments, &a, "completion", "已全部清理完毕").await;
    let a = assignments
        .verify(apb::VerifyRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            accept: true,
            grade: "good".into(),
            checked: "调阅结案文书126份".into(),
            ..Default::default()
        })
        .await
        .expect("verify")
        .into_inner();
    assert_eq!(a.state, "verified");

    // This month's bulletin, issued by hand; the two workers deliver it.
    let period = chrono::Utc::now().format("%Y-%m").to_string();
    let issued = reporting
        .issue_report(rpb::IssueReportRequest {
            request_id: rid(),
            kind: rpb::ReportKind::Monthly as i32,
            period: period.clone(),
            court_id: court.clone(),
            ..Default::default()
        })
        .await
        .expect("issue the monthly bulletin")
        .into_inner()
        .reports;
    assert_eq!(issued.len(), 1);
    let bulletin = &issued[0];
    assert!(!bulletin.deliveries.is_empty(), "a bulletin with no recipients");

    // Every delivery the archive holds — ours and whatever the schedules and
    // notices raised — arrives at the sink exactly once.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut expected = Vec::new();
        let mut pending = 0;
        let listed = reporting
            .list_reports(rpb::ListReportsRequest {
                page_size: 500,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .reports;
        for r in listed {
            let r = reporting
                .get_report(rpb::GetReportRequest { id: r.id })
                .await
                .unwrap()
                .into_inner();
            for d in r.deliveries {
                match rpb::DeliveryState::try_from(d.state) {
                    Ok(rpb::DeliveryState::Sent) => {
                        expected.push((d.message_id.clone(), d.recipient_email.to_lowercase()))
                    }
                    Ok(rpb::DeliveryState::Failed | rpb::DeliveryState::Skipped) => {}
                    _ => pending += 1,
                }
            }
        }
        let seen = arrivals(&stack.mail());
        if pending == 0 {
            for key in &expected {
                assert_eq!(seen.get(key), Some(&1), "{key:?} arrived {:?} times", seen.get(key));
            }
            assert!(seen.values().all(|n| *n == 1), "a message arrived twice: {seen:?}");
            let ours = bulletin
                .deliveries
                .iter()
                .filter(|d| !d.recipient_email.is_empty())
                .count();
            eprintln!(
                "bulletin {} delivered to {ours} recipients; {} messages at the sink in all, each once",
                bulletin.number,
                seen.len()
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} deliveries still pending after 120 s"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // The image's binary checks the audit chain of what the day wrote.
    let verified = stack.duban(&["audit", "verify"]);
    assert!(verified.contains("intact"), "{verified}");
}
