//! `duban health`: the probe for Compose health checks and Kubernetes exec
//! probes. It asks `grpc.health.v1` and exits 0 only on SERVING, so an image
//! needs no shell, curl or grpc_health_probe beside the binary.

use crate::app::ServiceKind;
use anyhow::{Context, bail};
use duban_platform::configuration::Settings;
use std::time::Duration;
use tonic::transport::Endpoint;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// The service to ask about; without it, the port's overall health (the empty name).
    #[arg(long, value_enum)]
    pub service: Option<ServiceKind>,
    /// Endpoint to ask; by default 127.0.0.1 on the service's configured port (DUBAN_SERVER__*_PORT).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Seconds to wait for an answer.
    #[arg(long, default_value_t = 3)]
    pub timeout: u64,
    #[command(flatten)]
    pub tls: super::TlsArgs,
}

pub async fn run(settings: &Settings, args: HealthArgs) -> anyhow::Result<()> {
    let kind = args.service.unwrap_or(ServiceKind::Registry);
    let endpoint = args
        .endpoint
        .clone()
        .unwrap_or_else(|| format!("http://127.0.0.1:{}", kind.port(settings)));
    let name = args.service.map(ServiceKind::grpc_name).unwrap_or("");
    let shown = if name.is_empty() { "(overall)" } else { name };
    match check_on(args.tls.endpoint(&endpoint)?, name, Duration::from_secs(args.timeout)).await? {
        ServingStatus::Serving => {
            println!("{shown} at {endpoint}: SERVING");
            Ok(())
        }
        other => bail!(
            "{shown} at {endpoint}: {} — 服务未就绪(数据库无法连接或正在停止)",
            other.as_str_name()
        ),
    }
}

/// The status `endpoint` reports for `service` ("" for the whole port).
pub async fn check(endpoint: &str, service: &str, timeout: Duration) -> anyhow::Result<ServingStatus> {
    check_on(
        Endpoint::from_shared(endpoint.to_owned()).context("invalid --endpoint")?,
        service,
        timeout,
    )
    .await
}

/// The same over a prepared endpoint (TLS, when the suite serves it).
pub async fn check_on(endpoint: Endpoint, service: &str, timeout: Duration) -> anyhow::Result<ServingStatus> {
    let shown = endpoint.uri().to_string();
    let channel = endpoint
        .connect_timeout(timeout)
        .timeout(timeout)
        .connect()
        .await
        .with_context(|| format!("cannot reach {shown} (无法连接服务)"))?;
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .map_err(|status| {
            anyhow::anyhow!(
                "{shown}: health check failed: {:?}: {}",
                status.code(),
                status.message()
            )
        })?;
    Ok(ServingStatus::try_from(response.into_inner().status).unwrap_or(ServingStatus::Unknown))
}
