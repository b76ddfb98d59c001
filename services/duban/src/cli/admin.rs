//! Commands that work on the database directly: migrations, tokens, the audit
//! chain. They use DATABASE_URL when set, else the dev data dir's cluster.

use anyhow::Context;
use chrono::{Duration, Utc};
use duban_core::Role;
use duban_platform::audit::{self, Verdict};
use duban_platform::auth::{NewToken, TokenStore};
use duban_platform::configuration::Settings;
use duban_platform::db;
use duban_platform::pg_cluster::PrivateCluster;
use sqlx::PgPool;
use std::path::Path;
use uuid::Uuid;

/// The database URL: configured, or the private cluster under `data_dir`
/// (started if it is not running).
pub async fn database_url(settings: &Settings, data_dir: &Path) -> anyhow::Result<String> {
    if let Some(url) = settings.database_url() {
        return Ok(url.to_owned());
    }
    let root = data_dir.join("pg");
    let cluster = tokio::task::spawn_blocking(move || PrivateCluster::start(&root)).await??;
    Ok(cluster.url())
}

pub async fn admin_pool(settings: &Settings, data_dir: &Path) -> anyhow::Result<PgPool> {
    let url = database_url(settings, data_dir).await?;
    let pool = db::pool_for_url(&url, &settings.database)?;
    db::migrate(&pool).await?;
    Ok(pool)
}

async fn person_by_id_or_code(pool: &PgPool, key: &str) -> anyhow::Result<Option<Uuid>> {
    use duban_registry::org::store;
    Ok(match Uuid::parse_str(key) {
        Ok(id) => store::person(pool, id).await?.map(|p| p.id),
        Err(_) => store::person_id_by_code(pool, key).await?,
    })
}

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Issue a token; its secret is printed once.
    Create {
        /// Who holds it: a person's or a system's name (e.g. "oa-system").
        #[arg(long)]
        principal: String,
        /// Role (repeatable): office_supervisor, office_director, leader, president,
        /// unit_head, unit_liaison, appraiser, system, admin.
        #[arg(long = "role", required = true)]
        roles: Vec<Role>,
        /// Unit subtree the token may act on, by id or code (repeatable).
        #[arg(long = "scope")]
        scope: Vec<String>,
        /// The person of the directory the token stands for, by id or code
        /// (a leader deciding requests, say).
        #[arg(long)]
        person: Option<String>,
        /// Days until it expires.
        #[arg(long, default_value_t = 365)]
        days: i64,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List tokens (never their secrets).
    List {
        /// Include revoked tokens.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id; it stops working at once.
    Revoke { id: Uuid },
}

pub async fn token(pool: &PgPool, command: TokenCommand) -> anyhow::Result<()> {
    let tokens = TokenStore::new(pool.clone());
    match command {
        TokenCommand::Create {
            principal,
            roles,
            scope,
            person,
            days,
            description,
        } => {
            anyhow::ensure!(days > 0, "--days must be positive");
            let mut unit_scope = Vec::new();
            for s in &scope {
                let id = match Uuid::parse_str(s) {
                    Ok(id) => id,
                    Err(_) => duban_registry::org::store::unit_id_by_code(pool, s)
                        .await?
                        .with_context(|| format!("no unit with id or code `{s}`"))?,
                };
                unit_scope.push(id);
            }
            // A token for a person who is not in the directory would act for
            // nobody: a leader's 分管 and a unit's officers are looked up by it.
            let person_id = match &person {
                None => None,
                Some(p) => Some(person_by_id_or_code(pool, p).await?.with_context(|| {
                    format!("no person with id or code `{p}` in the directory / 组织机构中没有人员“{p}”")
                })?),
            };
            let (info, secret) = tokens
                .create(&NewToken {
                    principal,
                    person_id,
                    roles,
                    unit_scope,
                    expires_at: Utc::now() + Duration::days(days),
                    description,
                })
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!(
                "token {} for {} (expires {})",
                info.id,
                info.principal,
                info.expires_at.format("%Y-%m-%d")
            );
            println!("{secret}");
        }
        TokenCommand::List { all, json } => {
            let list = tokens.list(all).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "id": t.id, "principal": t.principal, "person_id": t.person_id,
                            "roles": t.roles, "unit_scope": t.unit_scope, "description": t.description,
                            "created_at": t.created_at, "expires_at": t.expires_at, "revoked_at": t.revoked_at,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|t| {
                        vec![
                            t.id.to_string(),
                            t.principal.clone(),
                            t.roles.join(","),
                            t.unit_scope.len().to_string(),
                            t.expires_at.format("%Y-%m-%d").to_string(),
                            t.revoked_at
                                .map(|r| r.format("%Y-%m-%d %H:%M").to_string())
                                .unwrap_or_default(),
                        ]
                    })
                    .collect();
                super::print_table(&["ID", "PRINCIPAL", "ROLES", "SCOPES", "EXPIRES", "REVOKED"], &rows);
            }
        }
        TokenCommand::Revoke { id } => {
            let found = tokens.revoke(id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            anyhow::ensure!(found, "no token with id {id}");
            println!("token {id} revoked");
        }
    }
    Ok(())
}

/// Walks the audit chain; exits non-zero naming the first bad record.
pub async fn audit_verify(pool: &PgPool) -> anyhow::Result<()> {
    match audit::verify(pool).await.map_err(|e| anyhow::anyhow!("{e}"))? {
        Verdict::Intact { records } => {
            println!("audit chain intact: {records} records");
            Ok(())
        }
        Verdict::Broken { seq, reason } => {
            anyhow::bail!("audit chain broken at record {seq}: {reason}")
        }
    }
}
