//! `duban dev`: the whole suite in one process, on its own PostgreSQL unless
//! DATABASE_URL says otherwise, with an admin token and, on request, the demo
//! court.

use crate::app::{self, ServiceKind};
use crate::cli::org::content_request_id;
use anyhow::Context;
use duban_platform::auth::{NewToken, Principal, TokenStore};
use duban_platform::clock::Clock;
use duban_platform::configuration::Settings;
use duban_platform::db;
use duban_platform::pg_cluster::PrivateCluster;
use duban_platform::server::cancel_on_signal;
use duban_proto::registry::v1 as pb;
use duban_registry::items::service::ItemService;
use duban_registry::org::service::OrgService;
use sqlx::PgPool;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

pub struct DevOptions {
    pub demo: bool,
    pub data_dir: PathBuf,
    /// Use the system clock instead of the shared dev clock.
    pub system_clock: bool,
}

pub async fn run(mut settings: Settings, options: DevOptions) -> anyhow::Result<()> {
    std::fs::create_dir_all(&options.data_dir)
        .with_context(|| format!("creating data dir {}", options.data_dir.display()))?;
    let data_dir = options.data_dir.canonicalize()?;
    let mut cluster = None;
    let url = match settings.database_url() {
        Some(url) => url.to_owned(),
        None => {
            let root = data_dir.join("pg");
            let c = tokio::task::spawn_blocking(move || PrivateCluster::start(&root)).await??;
            let url = c.url();
            cluster = Some(c);
            url
        }
    };
    settings.dev_clock = !options.system_clock;
    let pool = db::pool_for_url(&url, &settings.database)?;
    db::migrate(&pool).await?;
    // The suite announces the dev clock when it starts; here it only has to exist.
    let clock = if settings.dev_clock {
        Clock::Shared(pool.clone())
    } else {
        Clock::System
    };
    clock.ensure_ready().await?;
    let (admin_secret, admin) = admin_token(&pool, &data_dir).await?;
    if options.demo {
        load_demo(&pool, &clock, settings.court_tz(), &admin).await?;
    }

    let shutdown = CancellationToken::new();
    let mut running = app::start(&settings, pool.clone(), &ServiceKind::ALL, shutdown.clone()).await?;
    let mail = running.spawn_worker(&settings, pool, &data_dir)?;
    println!("Duban dev suite is up.");
    println!("  data dir    {}", data_dir.display());
    match &cluster {
        Some(c) => println!("  PostgreSQL  private cluster in {}", c.root().display()),
        None => println!("  PostgreSQL  from DATABASE_URL"),
    }
    if settings.dev_clock {
        println!("  clock       shared dev clock (`duban clock show|set|advance`)");
    }
    for (kind, addr) in &running.addrs {
        println!("  {:<11} {}  {}", kind.label(), addr, kind.grpc_name());
    }
    println!("  worker      schedules and mail: {mail}");
    println!("Admin token (also in {}):", data_dir.join("admin.token").display());
    println!("  {admin_secret}");
    println!("Try: cargo run -q -- org units --data-dir {}", data_dir.display());
    tokio::spawn(cancel_on_signal(shutdown));
    let result = running.wait().await;
    if let Some(c) = cluster {
        tokio::task::spawn_blocking(move || c.stop()).await??;
    }
    result
}

/// Reuses the admin token in the data dir while it is valid, else issues a
/// new one and writes it there (mode 0600).
pub async fn admin_token(pool: &PgPool, data_dir: &Path) -> anyhow::Result<(String, Principal)> {
    let tokens = TokenStore::new(pool.clone());
    let path = data_dir.join("admin.token");
    if let Ok(secret) = std::fs::read_to_string(&path) {
        let secret = secret.trim().to_owned();
        if let Ok(p) = tokens.authenticate(Some(&format!("Bearer {secret}"))).await {
            return Ok((secret, p));
        }
    }
    let (_, secret) = tokens
        .create(&NewToken {
            principal: "admin".into(),
            person_id: None,
            roles: vec![duban_core::Role::Admin],
            unit_scope: Vec::new(),
            expires_at: chrono::Utc::now() + chrono::Duration::days(3650),
            description: "dev-mode administrator".into(),
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    write_private(&path, &format!("{secret}\n"))?;
    let p = tokens
        .authenticate(Some(&format!("Bearer {secret}")))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((secret, p))
}

/// Writes a secret readable by its owner only. The file is created 0600, so
/// the secret is never on disk under a wider mode, not even for a moment;
/// written beside and renamed over, so an older file's mode does not carry
/// over and a reader never sees half a secret.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let fresh = path.with_extension("new");
    match std::fs::remove_file(&fresh) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&fresh)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&fresh, path)
}

/// Loads the demo court through the same import every office uses; loading
/// it again changes nothing.
async fn load_demo(pool: &PgPool, clock: &Clock, tz: chrono_tz::Tz, admin: &Principal) -> anyhow::Result<()> {
    let org = OrgService::new(pool.clone(), clock.clone());
    let out = org
        .import(
            admin,
            &pb::ImportOrgDirectoryRequest {
                request_id: content_request_id("demo-org", duban_registry::DEMO_ORG),
                content: duban_registry::DEMO_ORG.to_owned(),
                dry_run: false,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("loading the demo court: {e}"))?;
    tracing::info!(
        units_created = out.units_created,
        people_created = out.people_created,
        "demo court loaded"
    );
    let items = ItemService::new(pool.clone(), clock.clone(), tz);
    let assignments = duban_assignment::assignments::AssignmentService::new(pool.clone(), clock.clone(), tz);
    // On first load with the dev clock, the demo court's autumn is lived
    // through, so that reports and scorecards have a month to tell: its
    // ledger is registered on 09-25 (so numbered 督〔2026〕… in the order it is
    // registered, whatever today is), assigned on 10-09 and walked through
    // October (reports); six items of the fourth-quarter meeting are
    // registered on 09-28 and followed too (appraisal); then the clock goes
    // back.
    let history = clock.is_shared() && crate::demo_reports::first_load(&assignments, admin).await?;
    let restore = if history { Some(clock.now().await?) } else { None };
    if history {
        crate::demo_reports::set_clock(pool, clock, "2026-09-25T10:00:00+08:00", true).await?;
    }
    crate::demo::load_items(&items, pool, admin).await?;
    // Follow-up needs the shipped calendars, which the suite seeds on start.
    duban_assignment::calendar::CalendarService::new(pool.clone(), clock.clone(), tz)
        .seed()
        .await
        .map_err(|e| anyhow::anyhow!("seeding calendars: {e}"))?;
    if history {
        crate::demo_reports::set_clock(pool, clock, "2026-10-09T10:00:00+08:00", true).await?;
    }
    crate::demo::load_follow_up(&assignments, pool, admin).await?;
    if history {
        crate::demo_reports::walk_october(&assignments, pool, clock, admin).await?;
    }
    crate::demo::load_october(&items, &assignments, pool, admin, clock).await?;
    if history {
        // October is the demo court's past, as an office's history is when it
        // installs Duban: not mailed as notices now. What the sweep raises
        // from here on (at today's date, or as the clock is moved) is.
        duban_reporting::notice_store::skip_to_end(pool).await?;
    }
    if let Some(now) = restore {
        let mut conn = pool.acquire().await?;
        clock
            .set(&mut conn, now, false)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}
