//! `duban health`, the probe containers run: SERVING for a running suite,
//! an error (non-zero exit) for a port where nothing answers.

use duban::app::ServiceKind;
use duban::cli::health::check;
use duban_tests::TestApp;
use std::time::Duration;
use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test]
async fn the_probe_reports_each_service_and_the_whole_port() {
    let app = TestApp::spawn().await;
    for kind in ServiceKind::ALL {
        let endpoint = format!("http://{}", app.addr(kind));
        for name in [kind.grpc_name(), ""] {
            let status = check(&endpoint, name, Duration::from_secs(5)).await.unwrap();
            assert_eq!(status, ServingStatus::Serving, "{endpoint} {name:?}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn the_probe_fails_when_nothing_answers() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = check(&format!("http://{addr}"), "", Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("cannot reach"), "{err:#}");
}
