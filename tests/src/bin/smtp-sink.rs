//! The tests' SMTP server as a process, for the container smoke test: it runs
//! in a container on the Compose network (so nothing listens on the host
//! beyond loopback) and spools every accepted message to DIR as N.eml, the
//! envelope recipients in a first `X-Envelope-To:` line.
//!   smtp-sink 0.0.0.0:25 /spool

use duban_tests::smtp::SmtpServer;
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:2525".into());
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "spool".into()));
    std::fs::create_dir_all(&dir)?;
    let server = SmtpServer::start_on(&listen).await;
    eprintln!("smtp-sink: listening on {}, spooling to {}", server.addr, dir.display());
    let mut written = 0;
    // PID 1 of its container: SIGTERM must end it, as `compose down` sends.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        let received = server.received();
        for (n, message) in received.iter().enumerate().skip(written) {
            let text = format!("X-Envelope-To: {}\r\n{}", message.to.join(","), message.data);
            let tmp = dir.join(format!(".{n:06}.tmp"));
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, dir.join(format!("{n:06}.eml")))?;
        }
        written = received.len();
        tokio::select! {
            _ = term.recv() => return Ok(()),
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}
