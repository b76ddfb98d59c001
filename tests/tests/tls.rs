//! TLS (rustls) with client certificates: a deployment that turns on mTLS
//! refuses plaintext and certificate-less clients, and serves the others;
//! the `duban` CLI's client talks TLS and mTLS to it.

use duban::app::{self, ServiceKind};
use duban::cli::{Bearer, ClientArgs, TlsArgs};
use duban_core::Role;
use duban_platform::configuration::{Settings, TlsSettings};
use duban_platform::test_db::TestDatabase;
use duban_proto::registry::v1 as pb;
use duban_proto::registry::v1::registry_service_client::RegistryServiceClient;
use duban_tests::issue_token;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

struct Pki {
    ca: String,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "Duban test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let leaf = |names: &[&str]| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        ca: ca_cert.pem(),
        // By name and by address: the CLI is pointed at 127.0.0.1.
        server: leaf(&["localhost", "127.0.0.1"]),
        client: leaf(&["oa-system"]),
    }
}

async fn list_units(endpoint: Endpoint, token: &str) -> Result<pb::ListUnitsResponse, String> {
    let channel = endpoint.connect().await.map_err(|e| format!("connect: {e}"))?;
    let mut client = RegistryServiceClient::with_interceptor(channel, Bearer::new(token).unwrap());
    client
        .list_units(pb::ListUnitsRequest::default())
        .await
        .map(|r| r.into_inner())
        .map_err(|e| format!("call: {e}"))
}

/// The registry on port 0 with TLS, asking for client certificates when
/// `mutual`; the PEM files lie in `dir`.
struct TlsSuite {
    running: app::Running,
    addr: std::net::SocketAddr,
    token: String,
    dir: std::path::PathBuf,
    _db: TestDatabase,
}

impl TlsSuite {
    async fn start(pki: &Pki, mutual: bool) -> TlsSuite {
        let db = TestDatabase::fresh().await.unwrap();
        let dir = std::env::temp_dir().join(format!("duban-tls-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        write("client.crt", &pki.client.0);
        write("client.key", &pki.client.1);
        let mut settings = Settings::default();
        settings.server.registry_port = 0;
        settings.server.tls = Some(TlsSettings {
            cert_file: write("server.crt", &pki.server.0),
            key_file: write("server.key", &pki.server.1),
            client_ca_file: mutual.then(|| write("ca.crt", &pki.ca)),
        });
        write("ca.crt", &pki.ca);
        settings.database.url = Some(SecretString::from(db.url.clone()));
        let running = app::start(
            &settings,
            db.pool.clone(),
            &[ServiceKind::Registry],
            CancellationToken::new(),
        )
        .await
        .unwrap();
        let addr = running.addr(ServiceKind::Registry).unwrap();
        let token = issue_token(&db, "oa", &[Role::Admin], &[], None).await;
        TlsSuite {
            running,
            addr,
            token,
            dir,
            _db: db,
        }
    }

    /// What `duban … --endpoint URL [--ca-file] [--cert --key]` connects with.
    fn cli(&self, scheme: &str, ca: bool, cert: bool) -> ClientArgs {
        ClientArgs {
            endpoint: format!("{scheme}://{}", self.addr),
            token: Some(self.token.clone()),
            json: false,
            tls: TlsArgs {
                ca_file: ca.then(|| self.dir.join("ca.crt")),
                cert: cert.then(|| self.dir.join("client.crt")),
                key: cert.then(|| self.dir.join("client.key")),
            },
        }
    }

    async fn stop(self) {
        self.running.stop().await.unwrap();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Lists units the way the CLI does: its channel, its bearer.
async fn cli_lists_units(args: &ClientArgs) -> Result<usize, String> {
    let (channel, bearer) = args
        .channel(std::path::Path::new("/nonexistent"))
        .await
        .map_err(|e| format!("{e:#}"))?;
    RegistryServiceClient::with_interceptor(channel, bearer)
        .list_units(pb::ListUnitsRequest::default())
        .await
        .map(|r| r.into_inner().units.len())
        .map_err(|e| format!("call: {e}"))
}

#[tokio::test]
async fn the_cli_talks_tls_and_mutual_tls() {
    let pki = pki();
    let suite = TlsSuite::start(&pki, false).await;
    // The suite's CA given: served.
    assert_eq!(cli_lists_units(&suite.cli("https", true, false)).await, Ok(0));
    // Without it the web roots are used, and they do not know the test CA.
    let err = cli_lists_units(&suite.cli("https", false, false)).await.unwrap_err();
    assert!(err.contains("cannot reach") && err.contains("UnknownIssuer"), "{err}");
    // Plaintext to a TLS port fails; certificates with http:// are a mistake.
    assert!(cli_lists_units(&suite.cli("http", false, false)).await.is_err());
    let err = cli_lists_units(&suite.cli("http", true, false)).await.unwrap_err();
    assert!(err.contains("need an https:// endpoint"), "{err}");
    suite.stop().await;

    let suite = TlsSuite::start(&pki, true).await;
    assert_eq!(cli_lists_units(&suite.cli("https", true, true)).await, Ok(0));
    assert!(
        cli_lists_units(&suite.cli("https", true, false)).await.is_err(),
        "a CLI without a client certificate must be refused"
    );
    suite.stop().await;
}

#[tokio::test]
async fn mutual_tls_admits_only_clients_with_a_certificate() {
    let pki = pki();
    let suite = TlsSuite::start(&pki, true).await;
    let (addr, token) = (suite.addr, suite.token.clone());

    let plaintext = Endpoint::from_shared(format!("http://{addr}")).unwrap();
    assert!(
        list_units(plaintext, &token).await.is_err(),
        "plaintext must be refused"
    );

    let server_only = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca))
        .domain_name("localhost");
    let https = || Endpoint::from_shared(format!("https://{addr}")).unwrap();
    let without_cert = https().tls_config(server_only.clone()).unwrap();
    assert!(
        list_units(without_cert, &token).await.is_err(),
        "a client without a certificate must be refused"
    );

    let with_cert = https()
        .tls_config(server_only.identity(Identity::from_pem(&pki.client.0, &pki.client.1)))
        .unwrap();
    let answer = list_units(with_cert, &token).await;
    assert!(answer.is_ok(), "{answer:?}");

    suite.stop().await;
}
