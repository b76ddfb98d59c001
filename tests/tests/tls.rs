//! TLS (rustls) with client certificates: a deployment that turns on mTLS
//! refuses plaintext and certificate-less clients, and serves the others.

use duban::app::{self, ServiceKind};
use duban::cli::Bearer;
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
    let leaf = |name: &str| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        ca: ca_cert.pem(),
        server: leaf("localhost"),
        client: leaf("oa-system"),
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

#[tokio::test]
async fn mutual_tls_admits_only_clients_with_a_certificate() {
    let db = TestDatabase::fresh().await.unwrap();
    let pki = pki();
    let dir = std::env::temp_dir().join(format!("duban-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let mut settings = Settings::default();
    settings.server.registry_port = 0;
    settings.server.tls = Some(TlsSettings {
        cert_file: write("server.crt", &pki.server.0),
        key_file: write("server.key", &pki.server.1),
        client_ca_file: Some(write("ca.crt", &pki.ca)),
    });
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

    running.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
