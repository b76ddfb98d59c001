//! The process's one Postgres pool and the one migration set.

use crate::configuration::DatabaseSettings;
use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Postgres, Transaction};
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
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs))
        .connect_lazy_with(connect_options(url, settings)?))
}

/// The URL's options plus the server-side limits for calls without a
/// deadline, sent in the start-up packet (no extra round trip): a statement
/// stuck behind a lock must end, and free its connection, even when no
/// client deadline bounds it.
pub fn connect_options(url: &str, settings: &DatabaseSettings) -> anyhow::Result<PgConnectOptions> {
    let options: PgConnectOptions = url.parse().context("invalid database URL")?;
    Ok(options.options([
        ("statement_timeout", settings.statement_timeout_ms.to_string()),
        ("lock_timeout", settings.lock_timeout_ms.to_string()),
        (
            "idle_in_transaction_session_timeout",
            settings.idle_in_transaction_session_timeout_ms.to_string(),
        ),
    ]))
}

/// Migrations run on a connection of their own without the call limits: a
/// migration may rebuild a large table, and waits for the locks it needs.
/// The connection is closed afterwards so that no request inherits that.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await.context("connecting to run migrations")?;
    sqlx::raw_sql("SET statement_timeout = 0; SET lock_timeout = 0")
        .execute(&mut *conn)
        .await
        .context("lifting the statement limits for migrations")?;
    let result = MIGRATOR
        .run_direct(None, &mut *conn, false)
        .await
        .context("running database migrations");
    conn.close_on_drop();
    result?;
    Ok(())
}

/// Begins a transaction for the current call: its statements and lock waits
/// end a little before the call's deadline (see `deadline`), with a
/// retryable error, instead of holding the connection past it. Without a
/// deadline the connection's defaults apply.
pub async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    begin_with(pool, "BEGIN").await
}

/// [`begin`] with a given BEGIN statement (isolation level, read only…).
pub async fn begin_with(pool: &PgPool, begin: &'static str) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    match crate::deadline::remaining() {
        // SET LOCAL ends with the transaction, so the connection goes back
        // to the pool with its defaults; sent with BEGIN, it costs no round trip.
        // A lock wait starts after its statement does: a shorter lock limit
        // lets a wait for a lock end as such (LOCK_TIMEOUT, not a timeout).
        Some(left) => {
            let ms = crate::deadline::database_limit_ms(left);
            let lock_ms = (ms * 9 / 10).max(1);
            pool.begin_with(sqlx::AssertSqlSafe(format!(
                "{begin}; SET LOCAL statement_timeout = {ms}; SET LOCAL lock_timeout = {lock_ms}"
            )))
            .await
        }
        None => pool.begin_with(begin).await,
    }
}

/// The health probe's own connection: whether the database can be reached
/// must not depend on a free slot in a pool that requests may have filled.
pub struct Probe {
    options: PgConnectOptions,
    conn: Option<PgConnection>,
}

impl Probe {
    /// A probe to the database `pool` connects to.
    pub fn for_pool(pool: &PgPool) -> Self {
        Self {
            options: (*pool.connect_options()).clone(),
            conn: None,
        }
    }

    /// Whether the database answers right now. A connection broken by a
    /// restart is replaced at once rather than reported as an outage.
    pub async fn is_reachable(&mut self) -> bool {
        for _ in 0..2 {
            let had_connection = self.conn.is_some();
            let attempt = tokio::time::timeout(Duration::from_secs(3), self.ping()).await;
            if matches!(attempt, Ok(Ok(()))) {
                return true;
            }
            self.conn = None;
            if !had_connection {
                return false;
            }
        }
        false
    }

    async fn ping(&mut self) -> Result<(), sqlx::Error> {
        if self.conn.is_none() {
            self.conn = Some(PgConnection::connect_with(&self.options).await?);
        }
        match &mut self.conn {
            Some(conn) => conn.ping().await,
            None => Ok(()),
        }
    }
}
