//! Databases for tests: each test gets a fresh, migrated database on the
//! server named by `DATABASE_URL`, or else on a throwaway private cluster
//! started once per test process.

use crate::pg_cluster::{PrivateCluster, with_database};
use anyhow::Context;
use sqlx::{Connection, PgConnection, PgPool};
use std::sync::OnceLock;

static SERVER_URL: OnceLock<Result<String, String>> = OnceLock::new();

/// The URL of a database on the test server to connect to for CREATE DATABASE.
fn admin_url() -> anyhow::Result<String> {
    SERVER_URL
        .get_or_init(|| match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => Ok(url),
            _ => PrivateCluster::throwaway()
                .map(|c| c.url_for("postgres"))
                .map_err(|e| format!("{e:#}")),
        })
        .clone()
        .map_err(|e| anyhow::anyhow!("no test PostgreSQL: {e}"))
}

pub struct TestDatabase {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl TestDatabase {
    /// A new empty database with every migration applied.
    pub async fn fresh() -> anyhow::Result<Self> {
        Self::fresh_on(&admin_url()?).await
    }

    /// A new migrated database on the server of `admin` (a URL to connect to
    /// for CREATE DATABASE): a test's own cluster, say, to stop and start.
    pub async fn fresh_on(admin: &str) -> anyhow::Result<Self> {
        let admin = admin.to_owned();
        let name = format!("duban_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin)
            .await
            .with_context(|| "connecting to the test PostgreSQL server")?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let url = with_database(&admin, &name);
        // The suite's own limits (statement, lock and idle timeouts), so the
        // tests run the database as production does.
        let settings = crate::configuration::DatabaseSettings::default();
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(20)
            .connect_with(crate::db::connect_options(&url, &settings)?)
            .await?;
        crate::db::migrate(&pool).await?;
        Ok(Self { name, url, pool })
    }
}
