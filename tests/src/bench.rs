//! What the write benchmarks start: the registry and the assignment service
//! on port 0 against a fresh database, on the system clock (the dev clock's
//! one-second sweeps would write while the bench measures), the shipped
//! calendars seeded and the demo court loaded.

use crate::{Assignments, Registry, issue_token};
use duban::app::{self, Running, ServiceKind};
use duban::cli::Bearer;
use duban_core::Role;
use duban_platform::configuration::Settings;
use duban_platform::test_db::TestDatabase;
use duban_proto::assignment::v1::assignment_service_client::AssignmentServiceClient;
use duban_proto::registry::v1 as pb;
use duban_proto::registry::v1::registry_service_client::RegistryServiceClient;
use secrecy::SecretString;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

pub struct BenchSuite {
    pub db: TestDatabase,
    /// An admin's bearer token, good for a day.
    pub token: String,
    running: Running,
}

impl BenchSuite {
    /// Starts the suite with a pool of `max_connections` (the default when
    /// `None`) and waits until the calendars are seeded and the demo court
    /// is loaded.
    pub async fn start(max_connections: Option<u32>) -> anyhow::Result<Self> {
        let db = TestDatabase::fresh().await?;
        let mut settings = Settings::default();
        settings.server.registry_port = 0;
        settings.server.assignment_port = 0;
        settings.database.url = Some(SecretString::from(db.url.clone()));
        if let Some(n) = max_connections {
            settings.database.max_connections = n;
        }
        let pool = duban_platform::db::pool_for_url(&db.url, &settings.database)?;
        let running = app::start(
            &settings,
            pool,
            &[ServiceKind::Registry, ServiceKind::Assignment],
            CancellationToken::new(),
        )
        .await?;
        let token = issue_token(&db, "bench", &[Role::Admin], &[], Some(chrono::Duration::days(1))).await;
        let suite = Self { db, token, running };
        for _ in 0..100 {
            let years: i64 = sqlx::query_scalar("SELECT count(*) FROM assignment.calendar_years")
                .fetch_one(&suite.db.pool)
                .await
                .unwrap_or(0);
            if years >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        suite
            .registry()
            .await?
            .import_org_directory(pb::ImportOrgDirectoryRequest {
                request_id: "org".into(),
                content: duban_registry::DEMO_ORG.into(),
                dry_run: false,
            })
            .await?;
        Ok(suite)
    }

    async fn channel(&self, kind: ServiceKind) -> anyhow::Result<Channel> {
        let addr = self
            .running
            .addr(kind)
            .ok_or_else(|| anyhow::anyhow!("{kind:?} is not running"))?;
        Ok(tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
            .connect()
            .await?)
    }

    /// A registry client as the admin (answers up to 256 MB: a large
    /// ledger import names every row's item).
    pub async fn registry(&self) -> anyhow::Result<Registry> {
        Ok(RegistryServiceClient::with_interceptor(
            self.channel(ServiceKind::Registry).await?,
            Bearer::new(&self.token)?,
        )
        .max_decoding_message_size(256 << 20))
    }

    /// An assignment client as the admin, on its own connection.
    pub async fn assignments(&self) -> anyhow::Result<Assignments> {
        Ok(AssignmentServiceClient::with_interceptor(
            self.channel(ServiceKind::Assignment).await?,
            Bearer::new(&self.token)?,
        ))
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.running.stop().await
    }
}
