//! A private PostgreSQL cluster made from the machine's PostgreSQL binaries:
//! `duban dev` keeps one under its data dir across restarts, and the test kit
//! makes throwaway ones. `initdb` and `postgres` refuse to run as root, so
//! when we are root every PostgreSQL command runs as the `postgres` user.

use anyhow::{Context, bail};
use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Printed, and returned as the error, when no PostgreSQL binaries are found.
pub const MISSING_POSTGRES: &str = "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found.\n\
Install them, then run the command again:\n\
  Debian/Ubuntu:  apt-get install postgresql\n\
  Fedora/RHEL:    dnf install postgresql-server\n\
  macOS:          brew install postgresql@16\n\
or point DUBAN_PG_BINDIR at the directory that holds initdb and pg_ctl,\n\
or set DATABASE_URL to use a PostgreSQL server you already run.";

const DB_USER: &str = "duban";
const DB_NAME: &str = "duban";

#[derive(Debug, Clone)]
pub struct PrivateCluster {
    root: PathBuf,
    bindir: PathBuf,
    as_postgres_user: bool,
    port: u16,
    password: String,
}

/// The directory holding `initdb` and `pg_ctl`.
pub fn find_bindir() -> anyhow::Result<PathBuf> {
    let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("DUBAN_PG_BINDIR").map(PathBuf::from) {
        if has_tools(&dir) {
            return Ok(dir);
        }
        bail!(
            "DUBAN_PG_BINDIR={} holds no initdb and pg_ctl\n\n{MISSING_POSTGRES}",
            dir.display()
        );
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_tools(&dir) {
            return Ok(dir);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_tools(&dir) {
                return Ok(dir);
            }
        }
    }
    // Debian keeps the server binaries off PATH, one directory per version.
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, d)| has_tools(d))
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, d)| d)
        .ok_or_else(|| anyhow::anyhow!(MISSING_POSTGRES))
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

impl PrivateCluster {
    /// Creates (first time) and starts (when not running) the cluster kept
    /// under `root`, and makes sure its `duban` database exists.
    pub fn start(root: &Path) -> anyhow::Result<Self> {
        let bindir = find_bindir()?;
        let as_postgres_user = running_as_root();
        fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        let root = root.canonicalize()?;
        let mut cluster = Self {
            root,
            bindir,
            as_postgres_user,
            port: 0,
            password: String::new(),
        };
        if as_postgres_user {
            cluster.hand_to_postgres_user()?;
        }
        if !cluster.data_dir().join("PG_VERSION").exists() {
            cluster.init()?;
        }
        cluster.password = fs::read_to_string(cluster.root.join("password"))
            .context("reading the cluster password file")?
            .trim()
            .to_owned();
        cluster.port = match fs::read_to_string(cluster.root.join("port")) {
            Ok(p) => p.trim().parse().context("corrupt port file")?,
            Err(_) => 0,
        };
        if !cluster.is_running() {
            if cluster.port == 0 || !port_is_free(cluster.port) {
                cluster.port = free_port()?;
                fs::write(cluster.root.join("port"), cluster.port.to_string())?;
            }
            cluster.pg_ctl_start()?;
        }
        cluster.ensure_database()?;
        Ok(cluster)
    }

    /// A cluster in a fresh temporary directory that is stopped and deleted
    /// by a watcher process once the current process has exited.
    pub fn throwaway() -> anyhow::Result<Self> {
        let root = std::env::temp_dir().join(format!("duban-pg-{}", uuid::Uuid::new_v4().simple()));
        let cluster = Self::start(&root)?;
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop}; rm -rf '{root}'",
            pid = std::process::id(),
            stop = cluster.shell_pg_ctl_stop("immediate"),
            root = cluster.root.display(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("spawning the cluster reaper")?;
        Ok(cluster)
    }

    pub fn url(&self) -> String {
        self.url_for(DB_NAME)
    }

    /// The URL of another database on this cluster.
    pub fn url_for(&self, database: &str) -> String {
        format!(
            "postgres://{DB_USER}:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn stop(&self) -> anyhow::Result<()> {
        let status = self
            .pg_command("pg_ctl")
            .args(["stop", "-w", "-m", "fast", "-D"])
            .arg(self.data_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        anyhow::ensure!(status.success(), "pg_ctl stop failed");
        Ok(())
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn pg_command(&self, program: &str) -> Command {
        let exe = self.bindir.join(program);
        if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn shell_pg_ctl_stop(&self, mode: &str) -> String {
        let ctl = self.bindir.join("pg_ctl");
        let cmd = format!("'{}' stop -m {mode} -D '{}'", ctl.display(), self.data_dir().display());
        if self.as_postgres_user {
            format!("runuser -u postgres -- {cmd} >/dev/null 2>&1")
        } else {
            format!("{cmd} >/dev/null 2>&1")
        }
    }

    /// Gives the cluster directory to the `postgres` user and checks that user
    /// can reach it (a directory under /root, say, it cannot).
    fn hand_to_postgres_user(&self) -> anyhow::Result<()> {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&self.root)
            .status()
            .context("running chown")?;
        anyhow::ensure!(status.success(), "chown of {} to postgres failed", self.root.display());
        let reachable = Command::new("runuser")
            .args(["-u", "postgres", "--", "test", "-w"])
            .arg(&self.root)
            .status()
            .context("running runuser (util-linux) to drop to the postgres user")?
            .success();
        if !reachable {
            bail!(
                "running as root, PostgreSQL must run as the `postgres` user, which cannot reach {}.\n\
                 Choose a data dir it can reach, e.g. `--data-dir /var/lib/duban`.",
                self.root.display()
            );
        }
        Ok(())
    }

    fn init(&self) -> anyhow::Result<()> {
        let password = format!("{}", uuid::Uuid::new_v4().simple());
        let pwfile = self.root.join("initdb.pw");
        fs::write(&pwfile, &password)?;
        if self.as_postgres_user {
            Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&pwfile)
                .status()?;
        }
        let log = self.root.join("initdb.log");
        let output = self
            .pg_command("initdb")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-U", DB_USER, "-E", "UTF8", "--locale=C.UTF-8", "--auth=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .context("running initdb")?;
        let _ = fs::remove_file(&pwfile);
        fs::write(&log, [output.stdout.as_slice(), output.stderr.as_slice()].concat())?;
        if !output.status.success() {
            bail!(
                "initdb failed (see {}):\n{}",
                log.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let mut f = fs::File::create(self.root.join("password"))?;
        f.write_all(password.as_bytes())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(self.root.join("password"), fs::Permissions::from_mode(0o600))?;
        }
        Ok(())
    }

    fn is_running(&self) -> bool {
        self.pg_command("pg_ctl")
            .args(["status", "-D"])
            .arg(self.data_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    fn pg_ctl_start(&self) -> anyhow::Result<()> {
        let server_log = self.root.join("postgres.log");
        // pg_ctl's own output goes to a file, never a pipe: the postmaster it
        // forks would keep a pipe open and hang whoever reads it.
        let ctl_log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join("pg_ctl.log"))?;
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories='' -c max_connections=200",
            self.port
        );
        let status = self
            .pg_command("pg_ctl")
            .args(["start", "-w", "-t", "120", "-D"])
            .arg(self.data_dir())
            .arg("-l")
            .arg(&server_log)
            .args(["-o", &options])
            .stdin(Stdio::null())
            .stdout(ctl_log.try_clone()?)
            .stderr(ctl_log)
            .status()
            .context("running pg_ctl start")?;
        if !status.success() {
            let tail = fs::read_to_string(&server_log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(15).collect();
            bail!(
                "PostgreSQL did not start (log {}):\n{}",
                server_log.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        Ok(())
    }

    fn ensure_database(&self) -> anyhow::Result<()> {
        let psql = match self.bindir.join("psql") {
            p if p.is_file() => p,
            _ => PathBuf::from("psql"),
        };
        let run = |sql: &str| -> anyhow::Result<String> {
            let out = Command::new(&psql)
                .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
                .arg(self.url_for("postgres"))
                .args(["-c", sql])
                .output()
                .context("running psql")?;
            if !out.status.success() {
                bail!("psql failed: {}", String::from_utf8_lossy(&out.stderr));
            }
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        };
        if run(&format!("SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'"))?.is_empty() {
            run(&format!("CREATE DATABASE {DB_NAME}"))?;
        }
        Ok(())
    }
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[authority_start..]
        .find('/')
        .map(|i| authority_start + i)
        .unwrap_or(base.len());
    let mut out = format!("{}/{database}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_replaced() {
        assert_eq!(with_database("postgres://u:p@h:5/a", "b"), "postgres://u:p@h:5/b");
        assert_eq!(with_database("postgres://u:p@h:5", "b"), "postgres://u:p@h:5/b");
        assert_eq!(
            with_database("postgres://h/a?sslmode=disable", "b"),
            "postgres://h/b?sslmode=disable"
        );
    }
}
