//! Client commands: talk gRPC to a running suite with a bearer token, print
//! tables for people and JSON for scripts.

pub mod admin;
pub mod appraisal;
pub mod assignments;
pub mod calendar;
pub mod clock;
pub mod health;
pub mod items;
pub mod org;
pub mod plans;
pub mod reports;

use anyhow::Context;
use std::path::Path;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic_types::StatusExt;

#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// gRPC endpoint of the service (registry by default).
    #[arg(long, env = "DUBAN_ENDPOINT", default_value = "http://127.0.0.1:50051")]
    pub endpoint: String,
    /// Bearer token; defaults to DUBAN_TOKEN, then the dev admin token in the data dir.
    #[arg(long, env = "DUBAN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// How the CLI talks TLS to an `https://` endpoint: the server is checked
/// against `--ca-file`, else against the web's root CAs (compiled in, so
/// nothing depends on the host's certificate store); `--cert`/`--key` present
/// a client certificate to a suite that asks for one (mTLS).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// CA certificate (PEM) the suite's certificate is checked against, for an https:// endpoint; without it, the public web roots.
    #[arg(long, env = "DUBAN_CA_FILE")]
    pub ca_file: Option<std::path::PathBuf>,
    /// Client certificate (PEM) for mutual TLS; goes with --key.
    #[arg(long, env = "DUBAN_CLIENT_CERT", requires = "key")]
    pub cert: Option<std::path::PathBuf>,
    /// Private key (PEM) of the client certificate.
    #[arg(long, env = "DUBAN_CLIENT_KEY", requires = "cert")]
    pub key: Option<std::path::PathBuf>,
}

impl TlsArgs {
    /// The endpoint for `url`, with TLS when it is `https://`.
    pub fn endpoint(&self, url: &str) -> anyhow::Result<Endpoint> {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .with_context(|| format!("invalid endpoint `{url}` / 服务地址“{url}”无效"))?;
        let read = |path: &std::path::PathBuf| {
            std::fs::read(path).with_context(|| format!("reading {} / 无法读取{}", path.display(), path.display()))
        };
        if endpoint.uri().scheme_str() != Some("https") {
            anyhow::ensure!(
                self.ca_file.is_none() && self.cert.is_none(),
                "--ca-file, --cert and --key need an https:// endpoint, not `{url}` / 使用证书须以https://连接"
            );
            return Ok(endpoint);
        }
        let mut tls = ClientTlsConfig::new();
        tls = match &self.ca_file {
            Some(ca) => tls.ca_certificate(Certificate::from_pem(read(ca)?)),
            None => tls.with_webpki_roots(),
        };
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
        }
        endpoint
            .tls_config(tls)
            .with_context(|| format!("setting up TLS for {url} / 无法建立TLS连接配置"))
    }
}

/// Adds `authorization: Bearer …` to every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<tonic::metadata::Ascii>);

impl Bearer {
    pub fn new(token: &str) -> anyhow::Result<Self> {
        let value = format!("Bearer {}", token.trim())
            .parse()
            .context("the token contains characters not allowed in a header")?;
        Ok(Self(value))
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}

impl ClientArgs {
    pub async fn channel(&self, data_dir: &Path) -> anyhow::Result<(Channel, Bearer)> {
        let token = match &self.token {
            Some(t) => t.trim().to_owned(),
            None => std::fs::read_to_string(data_dir.join("admin.token"))
                .map(|t| t.trim().to_owned())
                .context("no token: pass --token, set DUBAN_TOKEN, or run `duban dev` to create the admin token")?,
        };
        let bearer = Bearer::new(&token)?;
        let channel = self
            .tls
            .endpoint(&self.endpoint)?
            .connect()
            .await
            .with_context(|| format!("cannot reach {} / 无法连接{}", self.endpoint, self.endpoint))?;
        Ok((channel, bearer))
    }
}

/// A gRPC error as people need it: code, message, the Chinese message and
/// every field violation.
pub fn describe_status(status: &tonic::Status) -> String {
    let mut out = format!("{:?}: {}", status.code(), status.message());
    let details = status.get_error_details();
    if let Some(m) = details.localized_message() {
        out.push_str(&format!("\n  {}", m.message));
    }
    if let Some(bad) = details.bad_request() {
        for v in &bad.field_violations {
            let zh = v
                .localized_message
                .as_ref()
                .map(|m| format!(" ({})", m.message))
                .unwrap_or_default();
            out.push_str(&format!("\n  - {}: {}{}", v.field, v.description, zh));
        }
    }
    out
}

/// Turns a failed RPC into an error that prints well.
pub fn rpc_error(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!(describe_status(&status))
}

/// Display width of a string, counting CJK characters as two columns.
fn width(s: &str) -> usize {
    s.chars().map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 }).sum()
}

/// `s` padded with spaces to `columns` display columns.
pub fn pad(s: &str, columns: usize) -> String {
    format!("{s}{}", " ".repeat(columns.saturating_sub(width(s))))
}

/// Prints rows as an aligned table.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    print!("{}", table(headers, rows));
}

/// Rows as an aligned table, each line ending in a newline.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    let mut widths: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(width(cell));
        }
    }
    let mut line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(widths[i] - width(c) + 2));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}
