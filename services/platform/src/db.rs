//! The process's one Postgres pool and the one migration set.

use crate::configuration::DatabaseSettings;
use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;

/// Every schema of every service, applied in order by `duban migrate` and at
/// start-up. sqlx holds a Postgres advisory lock while migrating, so replicas
/// starting together apply each migration once.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Opens the pool lazily: a service starts (and reports NOT_SERVING) even while
/// its database is down.
pub fn pool(settings: &DatabaseSettings) -> anyhow::Result<PgPool> {
    let url = settings
        .url
        .as_ref()
        .context("no database configured: set DATABASE_URL or DUBAN_DATABASE__URL")?;
    pool_for_url(url.expose_secret(), settings)
}

pub fn pool_for_url(url: &str, settings: &DatabaseSettings) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs))
        .connect_lazy(url)
        .context("invalid database URL")
}

pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await.context("running database migrations")?;
    Ok(())
}

/// Whether the database answers right now.
pub async fn is_reachable(pool: &PgPool) -> bool {
    let probe = sqlx::query("SELECT 1").execute(pool);
    matches!(tokio::time::timeout(Duration::from_secs(3), probe).await, Ok(Ok(_)))
}
