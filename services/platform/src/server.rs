//! Serving one Duban service on its port: the service's routes, the standard
//! health service, server reflection (v1), bearer-token auth, optional
//! (m)TLS, and a graceful shutdown that lets in-flight RPCs finish.

use crate::auth::AuthLayer;
use crate::configuration::TlsSettings;
use crate::db::Probe;
use crate::deadline::DeadlineLayer;
use anyhow::Context;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// Health state shared by every port of the process.
#[derive(Clone)]
pub struct Health {
    pub reporter: HealthReporter,
    service: tonic_health::pb::health_server::HealthServer<tonic_health::server::HealthService>,
}

impl Health {
    pub fn new() -> Self {
        let reporter = HealthReporter::new();
        let service = tonic_health::pb::health_server::HealthServer::new(
            tonic_health::server::HealthService::from_health_reporter(reporter.clone()),
        );
        Self { reporter, service }
    }

    /// Sets `names` and the overall entry `""` together: generic probes and
    /// load balancers ask `""`, and it must never say more than the services.
    pub async fn set_all(&self, names: &[&'static str], status: ServingStatus) {
        for name in names {
            self.reporter.set_service_status(*name, status).await;
        }
        self.reporter.set_service_status("", status).await;
    }

    /// Reports `names` SERVING while the database answers and NOT_SERVING while
    /// it does not, until `shutdown`; then NOT_SERVING for good. The probe
    /// has its own connection: a pool full of busy requests is not an outage.
    pub async fn watch_database(self, mut probe: Probe, names: Vec<&'static str>, shutdown: CancellationToken) {
        let mut last: Option<bool> = None;
        loop {
            let up = probe.is_reachable().await;
            if last != Some(up) {
                let status = if up {
                    ServingStatus::Serving
                } else {
                    ServingStatus::NotServing
                };
                self.set_all(&names, status).await;
                if up {
                    tracing::info!("database reachable: services SERVING");
                } else {
                    tracing::warn!("database unreachable: services NOT_SERVING");
                }
                last = Some(up);
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
        self.set_all(&names, ServingStatus::NotServing).await;
    }
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

/// The routes every port carries besides its own services: health and a
/// reflection service that lists this port's services.
pub fn base_routes(health: &Health, service_names: &[&'static str]) -> anyhow::Result<Routes> {
    let mut reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(duban_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
    for name in service_names {
        reflection = reflection.with_service_name(*name);
    }
    reflection = reflection.with_service_name("grpc.health.v1.Health");
    let reflection = reflection.build_v1().context("building reflection service")?;
    Ok(Routes::new(health.service.clone()).add_service(reflection))
}

pub fn tls_config(tls: &TlsSettings) -> anyhow::Result<ServerTlsConfig> {
    let cert = std::fs::read(&tls.cert_file)
        .with_context(|| format!("reading TLS certificate {}", tls.cert_file.display()))?;
    let key = std::fs::read(&tls.key_file).with_context(|| format!("reading TLS key {}", tls.key_file.display()))?;
    let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
    if let Some(ca) = &tls.client_ca_file {
        let ca = std::fs::read(ca).with_context(|| format!("reading client CA {}", ca.display()))?;
        config = config.client_ca_root(Certificate::from_pem(ca));
    }
    Ok(config)
}

/// Serves `routes` on `listener` until `shutdown` fires, then gives in-flight
/// RPCs up to `grace` to finish.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    auth: AuthLayer,
    tls: Option<ServerTlsConfig>,
    shutdown: CancellationToken,
    grace: Duration,
) -> anyhow::Result<()> {
    let mut builder = Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls).context("configuring TLS")?;
    }
    // Small RPC answers must not wait on Nagle's algorithm and delayed ACKs.
    let incoming = tonic::transport::server::TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(Duration::from_secs(60)));
    let signal = shutdown.clone();
    let server = builder
        .layer(DeadlineLayer)
        .layer(auth)
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, async move { signal.cancelled().await });
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result.context("gRPC server failed"),
        _ = shutdown.cancelled() => {}
    }
    match tokio::time::timeout(grace, server).await {
        Ok(result) => result.context("gRPC server failed"),
        Err(_) => {
            tracing::warn!(grace_secs = grace.as_secs(), "in-flight RPCs did not finish in time");
            Ok(())
        }
    }
}

/// Resolves when the process receives SIGTERM or SIGINT, and cancels `token`.
pub async fn cancel_on_signal(token: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("installing SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received, shutting down"),
            _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
            _ = token.cancelled() => {}
        }
    }
    #[cfg(not(unix))]
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = token.cancelled() => {}
        }
    }
    token.cancel();
}
