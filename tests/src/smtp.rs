//! A small SMTP server (RFC 5321) for the tests: real SMTP over TCP on
//! 127.0.0.1, keeping what it accepts, with failures on demand — temporary
//! refusals (451), refused recipients (550), and a DATA command held back
//! so that a test can stop the sender mid-delivery.
//!
//! Written here rather than embedding a crate: the maintained embeddable
//! server (mailin-embedded) runs blocking I/O on a thread pool with a
//! serve-forever loop, and has no hook to refuse a given attempt or hold a
//! transaction open; the tests need both, and a clean stop per test.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// A message the server accepted (replied 250 to its data).
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    /// A header's value (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let mut lines = self.data.split("\r\n").peekable();
        while let Some(line) = lines.next() {
            if line.is_empty() {
                return None;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case(name) {
                    let mut value = v.trim().to_owned();
                    while lines.peek().is_some_and(|l| l.starts_with([' ', '\t'])) {
                        value.push(' ');
                        value.push_str(lines.next().unwrap_or_default().trim());
                    }
                    return Some(value);
                }
            }
        }
        None
    }

    pub fn message_id(&self) -> String {
        self.header("Message-ID").unwrap_or_default()
    }
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// Transactions still to refuse with 451 at MAIL FROM.
    temporary_failures: usize,
    /// Recipients refused with 550.
    refused: Vec<String>,
    /// Delay before answering the next DATA command.
    hold_next_data: Option<Duration>,
    /// Run once the next message is stored, before its 250 is sent.
    on_next_stored: Option<Box<dyn FnOnce() + Send>>,
    data_commands: usize,
}

pub struct SmtpServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: CancellationToken,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        Self::start_on("127.0.0.1:0").await
    }

    /// On a chosen address: the smoke test runs it inside a container.
    pub async fn start_on(addr: &str) -> SmtpServer {
        let listener = TcpListener::bind(addr).await.expect("binding the test SMTP server");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = CancellationToken::new();
        let (s, token) = (state.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = token.cancelled() => return,
                    accepted = listener.accept() => {
                        if let Ok((stream, _)) = accepted {
                            let (s, token) = (s.clone(), token.clone());
                            tokio::spawn(async move {
                                tokio::select! {
                                    _ = token.cancelled() => {}
                                    _ = session(stream, s) => {}
                                }
                            });
                        }
                    }
                }
            }
        });
        SmtpServer { addr, state, stop }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Refuse the next `n` transactions with 451 (try again later).
    pub fn fail_next(&self, n: usize) {
        self.state.lock().unwrap().temporary_failures = n;
    }

    /// Refuse mail to `address` with 550 (no such mailbox).
    pub fn refuse(&self, address: &str) {
        self.state.lock().unwrap().refused.push(address.to_lowercase());
    }

    /// Hold the answer to the next DATA command for `d`.
    pub fn hold_next_data(&self, d: Duration) {
        self.state.lock().unwrap().hold_next_data = Some(d);
    }

    /// Run `hook` (blocking is fine: it runs on a blocking thread) once the
    /// next message is stored and before the server answers 250: the
    /// moment between the server keeping a message and the sender learning so.
    pub fn on_next_stored(&self, hook: impl FnOnce() + Send + 'static) {
        self.state.lock().unwrap().on_next_stored = Some(Box::new(hook));
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// DATA commands seen, accepted or not.
    pub fn data_commands(&self) -> usize {
        self.state.lock().unwrap().data_commands
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn address(arg: &str) -> String {
    let a = arg.split_once(':').map(|(_, a)| a).unwrap_or(arg);
    let a = a.split_whitespace().next().unwrap_or_default();
    a.trim_matches(['<', '>']).to_lowercase()
}

async fn session(stream: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 duban-tests ESMTP ready\r\n").await?;
    let (mut from, mut to): (Option<String>, Vec<String>) = (None, Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command.split_whitespace().next().unwrap_or_default().to_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" => "250-duban-tests\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n".into(),
            "HELO" | "NOOP" => "250 OK\r\n".into(),
            "RSET" => {
                (from, to) = (None, Vec::new());
                "250 OK\r\n".into()
            }
            "MAIL" => {
                let mut s = state.lock().unwrap();
                if s.temporary_failures > 0 {
                    s.temporary_failures -= 1;
                    "451 4.3.0 Temporarily unavailable, try again later\r\n".into()
                } else {
                    from = Some(address(&command));
                    to.clear();
                    "250 2.1.0 OK\r\n".into()
                }
            }
            "RCPT" => {
                let rcpt = address(&command);
                if state.lock().unwrap().refused.contains(&rcpt) {
                    "550 5.1.1 Mailbox unavailable\r\n".into()
                } else if from.is_none() {
                    "503 5.5.1 MAIL first\r\n".into()
                } else {
                    to.push(rcpt);
                    "250 2.1.5 OK\r\n".into()
                }
            }
            "DATA" => {
                if from.is_none() || to.is_empty() {
                    "503 5.5.1 RCPT first\r\n".into()
                } else {
                    let hold = {
                        let mut s = state.lock().unwrap();
                        s.data_commands += 1;
                        s.hold_next_data.take()
                    };
                    if let Some(d) = hold {
                        tokio::time::sleep(d).await;
                    }
                    write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                    let mut data = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await? == 0 {
                            // The client went away mid-message: nothing is kept.
                            return Ok(());
                        }
                        if line == ".\r\n" || line == ".\n" {
                            break;
                        }
                        let l = line.strip_prefix('.').unwrap_or(&line);
                        data.push_str(l);
                    }
                    let hook = {
                        let mut s = state.lock().unwrap();
                        s.received.push(Received {
                            from: from.take().unwrap_or_default(),
                            to: std::mem::take(&mut to),
                            data,
                        });
                        s.on_next_stored.take()
                    };
                    if let Some(hook) = hook {
                        let _ = tokio::task::spawn_blocking(hook).await;
                    }
                    "250 2.0.0 Queued\r\n".into()
                }
            }
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => "500 5.5.2 Command not recognised\r\n".into(),
        };
        write.write_all(reply.as_bytes()).await?;
    }
}
