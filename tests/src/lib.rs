//! The end-to-end test kit: starts the real suite (exactly what `duban`
//! runs) on port 0 against a fresh database, and hands out real gRPC clients
//! and tokens.

use duban::app::{self, Running, ServiceKind};
use duban::cli::Bearer;
use duban_core::Role;
use duban_platform::auth::{NewToken, TokenStore};
use duban_platform::configuration::Settings;
use duban_platform::test_db::TestDatabase;
use duban_proto::appraisal::v1::appraisal_service_client::AppraisalServiceClient;
use duban_proto::assignment::v1::assignment_service_client::AssignmentServiceClient;
use duban_proto::platform::v1 as clock;
use duban_proto::platform::v1::dev_clock_service_client::DevClockServiceClient;
use duban_proto::registry::v1 as pb;
use duban_proto::registry::v1::registry_service_client::RegistryServiceClient;
use duban_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use uuid::Uuid;

pub mod bench;
pub mod smtp;
pub mod worker;

pub type Registry = RegistryServiceClient<InterceptedService<Channel, Bearer>>;
pub type Assignments = AssignmentServiceClient<InterceptedService<Channel, Bearer>>;
pub type Appraisal = AppraisalServiceClient<InterceptedService<Channel, Bearer>>;
pub type Reporting = ReportingServiceClient<InterceptedService<Channel, Bearer>>;

pub struct TestApp {
    pub db: TestDatabase,
    pub admin_token: String,
    running: Option<Running>,
}

impl TestApp {
    /// The whole suite on port 0, dev clock on, against a fresh database.
    pub async fn spawn() -> TestApp {
        let db = TestDatabase::fresh().await.expect("test database");
        Self::spawn_on(db).await
    }

    pub async fn spawn_on(db: TestDatabase) -> TestApp {
        Self::spawn_configured(db, |_| {}).await
    }

    /// The suite with settings changed by `configure` (smaller caps, say).
    pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
        let db = TestDatabase::fresh().await.expect("test database");
        Self::spawn_configured(db, configure).await
    }

    async fn spawn_configured(db: TestDatabase, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = Settings::default();
        settings.server.registry_port = 0;
        settings.server.assignment_port = 0;
        settings.server.appraisal_port = 0;
        settings.server.reporting_port = 0;
        settings.server.shutdown_grace_secs = 5;
        settings.dev_clock = true;
        settings.sweep_interval_secs = 1;
        settings.database.url = Some(SecretString::from(db.url.clone()));
        configure(&mut settings);
        let running = app::start(&settings, db.pool.clone(), &ServiceKind::ALL, CancellationToken::new())
            .await
            .expect("starting the suite");
        let admin_token = issue_token(&db, "admin", &[Role::Admin], &[], None).await;
        let app = TestApp {
            db,
            admin_token,
            running: Some(running),
        };
        app.wait_until_serving().await;
        app
    }

    pub fn addr(&self, kind: ServiceKind) -> SocketAddr {
        self.running
            .as_ref()
            .and_then(|r| r.addr(kind))
            .expect("service running")
    }

    pub async fn channel(&self, kind: ServiceKind) -> Channel {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.addr(kind)))
            .unwrap()
            .connect()
            .await
            .expect("connecting")
    }

    /// A registry client presenting `token`.
    pub async fn registry(&self, token: &str) -> Registry {
        RegistryServiceClient::with_interceptor(self.channel(ServiceKind::Registry).await, Bearer::new(token).unwrap())
    }

    /// An assignment-service client presenting `token`.
    pub async fn assignments(&self, token: &str) -> Assignments {
        AssignmentServiceClient::with_interceptor(
            self.channel(ServiceKind::Assignment).await,
            Bearer::new(token).unwrap(),
        )
    }

    /// A reporting-service client presenting `token` (answers up to 64 MB:
    /// a preview carries its rendering and ledger).
    pub async fn reporting(&self, token: &str) -> Reporting {
        ReportingServiceClient::with_interceptor(
            self.channel(ServiceKind::Reporting).await,
            Bearer::new(token).unwrap(),
        )
        .max_decoding_message_size(64 * 1024 * 1024)
    }

    /// An appraisal-service client presenting `token`.
    pub async fn appraisal(&self, token: &str) -> Appraisal {
        AppraisalServiceClient::with_interceptor(
            self.channel(ServiceKind::Appraisal).await,
            Bearer::new(token).unwrap(),
        )
    }

    /// Sets the shared dev clock, frozen, to an RFC 3339 instant.
    pub async fn set_clock(&self, rfc3339: &str) {
        let t = chrono::DateTime::parse_from_rfc3339(rfc3339).expect("an RFC 3339 time");
        DevClockServiceClient::with_interceptor(
            self.channel(ServiceKind::Registry).await,
            Bearer::new(&self.admin_token).unwrap(),
        )
        .set_time(clock::SetTimeRequest {
            request_id: rid(),
            time: Some(prost_types::Timestamp {
                seconds: t.timestamp(),
                nanos: 0,
            }),
            frozen: true,
        })
        .await
        .expect("setting the dev clock");
    }

    /// How many events of `event_type` are recorded.
    pub async fn count_events(&self, event_type: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM platform.events WHERE event_type = $1")
            .bind(event_type)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }

    /// Waits until `n` events of `event_type` are recorded (the background
    /// sweep runs every second in tests).
    pub async fn eventually(&self, event_type: &str, n: i64) {
        for _ in 0..150 {
            if self.count_events(event_type).await >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no {n} {event_type} events");
    }

    pub async fn admin(&self) -> Registry {
        self.registry(&self.admin_token).await
    }

    /// A token with `roles` over the subtrees of `scope`.
    pub async fn token(&self, roles: &[Role], scope: &[Uuid]) -> String {
        issue_token(&self.db, "tester", roles, scope, None).await
    }

    /// A token standing for a person of the directory (a leader deciding
    /// requests, say).
    pub async fn token_for(&self, person_id: Uuid, roles: &[Role], scope: &[Uuid]) -> String {
        mint(
            &self.db,
            NewToken {
                principal: format!("person-{person_id}"),
                person_id: Some(person_id),
                roles: roles.to_vec(),
                unit_scope: scope.to_vec(),
                expires_at: chrono::Utc::now() + chrono::Duration::days(1),
                description: String::new(),
            },
        )
        .await
    }

    /// Loads the demo court through the import RPC, as `duban dev --demo` does.
    pub async fn load_demo(&self) -> pb::ImportOrgDirectoryResponse {
        self.admin()
            .await
            .import_org_directory(pb::ImportOrgDirectoryRequest {
                request_id: "demo".into(),
                content: duban_registry::DEMO_ORG.into(),
                dry_run: false,
            })
            .await
            .expect("demo import")
            .into_inner()
    }

    /// The unit with `code`, read as admin.
    pub async fn unit_by_code(&self, code: &str) -> pb::Unit {
        let mut client = self.admin().await;
        let mut token = String::new();
        loop {
            let page = client
                .list_units(pb::ListUnitsRequest {
                    page_size: 100,
                    page_token: token,
                    include_inactive: true,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            if let Some(u) = page.units.into_iter().find(|u| u.code == code) {
                return u;
            }
            assert!(!page.next_page_token.is_empty(), "no unit {code}");
            token = page.next_page_token;
        }
    }

    /// The person with `code`, read as admin.
    pub async fn person_by_code(&self, code: &str) -> pb::Person {
        let people = self
            .admin()
            .await
            .list_people(pb::ListPeopleRequest {
                page_size: 500,
                include_inactive: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .people;
        people
            .into_iter()
            .find(|p| p.code == code)
            .unwrap_or_else(|| panic!("no person {code}"))
    }

    /// `item` drafted in the demo court as admin: a general-class item from
    /// a president's instruction unless it says otherwise.
    pub async fn draft_item(&self, item: pb::Item) -> pb::Item {
        let court = self.unit_by_code("jczy").await;
        let mut registry = self.admin().await;
        let source = registry
            .create_source(pb::CreateSourceRequest {
                request_id: rid(),
                source: Some(pb::Source {
                    kind: pb::SourceKind::PresidentInstruction as i32,
                    title: format!("关于{}的批示", item.title),
                    court_id: court.id.clone(),
                    ..Default::default()
                }),
            })
            .await
            .expect("source")
            .into_inner();
        let general = item.urgency == pb::UrgencyClass::Unspecified as i32;
        registry
            .create_item(pb::CreateItemRequest {
                request_id: rid(),
                item: Some(pb::Item {
                    source_id: source.id,
                    court_id: court.id,
                    urgency: if general {
                        pb::UrgencyClass::General as i32
                    } else {
                        item.urgency
                    },
                    urgency_reason: if item.urgency_reason.is_empty() {
                        "院长批示".into()
                    } else {
                        item.urgency_reason.clone()
                    },
                    ..item
                }),
            })
            .await
            .expect("item")
            .into_inner()
    }

    /// Submits and approves `item` (立项), as admin.
    pub async fn register(&self, item: pb::Item) -> pb::Item {
        let mut registry = self.admin().await;
        let item = registry
            .submit_item(pb::SubmitItemRequest {
                request_id: rid(),
                id: item.id,
                etag: item.etag,
            })
            .await
            .expect("submit")
            .into_inner();
        registry
            .approve_item(pb::ApproveItemRequest {
                request_id: rid(),
                id: item.id,
                etag: item.etag,
                ..Default::default()
            })
            .await
            .expect("approve")
            .into_inner()
    }

    /// A registered item, ready to be assigned.
    pub async fn registered_item(&self, item: pb::Item) -> pb::Item {
        let item = self.draft_item(item).await;
        self.register(item).await
    }

    async fn wait_until_serving(&self) {
        use tonic_health::pb::health_client::HealthClient;
        use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
        let mut health = HealthClient::new(self.channel(ServiceKind::Registry).await);
        for _ in 0..200 {
            let status = health
                .check(HealthCheckRequest {
                    service: ServiceKind::Registry.grpc_name().into(),
                })
                .await
                .map(|r| r.into_inner().status);
            if matches!(status, Ok(s) if s == ServingStatus::Serving as i32) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("suite never became SERVING");
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("clean stop");
        }
    }
}

pub async fn issue_token(
    db: &TestDatabase,
    principal: &str,
    roles: &[Role],
    scope: &[Uuid],
    expires_in: Option<chrono::Duration>,
) -> String {
    mint(
        db,
        NewToken {
            principal: principal.into(),
            person_id: None,
            roles: roles.to_vec(),
            unit_scope: scope.to_vec(),
            expires_at: chrono::Utc::now() + expires_in.unwrap_or(chrono::Duration::days(1)),
            description: String::new(),
        },
    )
    .await
}

async fn mint(db: &TestDatabase, token: NewToken) -> String {
    let (_, secret) = TokenStore::new(db.pool.clone()).create(&token).await.expect("token");
    secret
}

/// A calendar date as the API carries it.
pub fn date(year: i32, month: i32, day: i32) -> pb::Date {
    pb::Date { year, month, day }
}

/// Assigns a registered item by its own rules; the first assignment.
pub async fn assign(client: &mut Assignments, item_id: &str) -> duban_proto::assignment::v1::Assignment {
    client
        .assign_item(duban_proto::assignment::v1::AssignItemRequest {
            request_id: rid(),
            item_id: item_id.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .assignments
        .swap_remove(0)
}

/// An assignment as its service shows it now.
pub async fn get_assignment(client: &mut Assignments, id: &str) -> duban_proto::assignment::v1::Assignment {
    client
        .get_assignment(duban_proto::assignment::v1::GetAssignmentRequest { id: id.into() })
        .await
        .unwrap()
        .into_inner()
}

/// The unit signs for `a` (签收) with its deployment.
pub async fn acknowledge(
    client: &mut Assignments,
    a: &duban_proto::assignment::v1::Assignment,
    deployment: &str,
) -> duban_proto::assignment::v1::Assignment {
    client
        .acknowledge(duban_proto::assignment::v1::AcknowledgeRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            deployment: deployment.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// The unit reports on `a`: feedback of `kind` (initial, progress, completion…).
pub async fn feedback(
    client: &mut Assignments,
    a: &duban_proto::assignment::v1::Assignment,
    kind: &str,
    text: &str,
) -> duban_proto::assignment::v1::Assignment {
    client
        .submit_feedback(duban_proto::assignment::v1::SubmitFeedbackRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            kind: kind.into(),
            text: text.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

/// The office urges `a` by hand (催办) with `note`.
pub async fn urge(
    client: &mut Assignments,
    a: &duban_proto::assignment::v1::Assignment,
    note: &str,
) -> duban_proto::assignment::v1::Assignment {
    client
        .urge(duban_proto::assignment::v1::UrgeRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            note: note.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// A fresh request id.
pub fn rid() -> String {
    Uuid::new_v4().to_string()
}

pub fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}

/// Writes one test event in `tx`; returns its id.
pub async fn write_test_event(tx: &mut sqlx::PgConnection, label: &str) -> i64 {
    let payload = serde_json::json!({ "label": label });
    duban_platform::events::append_all(
        tx,
        &[duban_platform::events::NewEvent {
            service: "test",
            event_type: "test.happened",
            subject_kind: "test",
            subject_id: label,
            unit_ids: &[],
            payload: &payload,
            principal: "tester",
            request_id: label,
            occurred_at: chrono::Utc::now(),
        }],
    )
    .await
    .unwrap();
    sqlx::query_scalar("SELECT currval(pg_get_serial_sequence('platform.events', 'id'))")
        .fetch_one(tx)
        .await
        .unwrap()
}
