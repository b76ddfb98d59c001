//! Mail: a report to one recipient as a MIME message (HTML with a plain-text
//! alternative, UTF-8 subject, the ledger attached to bulletins), sent over
//! SMTP (STARTTLS, implicit TLS or plain, with auth) or, in dev mode,
//! written as an .eml file to the data dir.
//!
//! Each (report, recipient) has one Message-ID, fixed when its delivery job
//! is made: a message sent again after a crash between the server's
//! acceptance and our record of it is recognisably the same message.

use anyhow::Context;
use chrono::{DateTime, Utc};
use duban_platform::configuration::{ReportingSettings, SmtpSettings};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::time::Duration;
use uuid::Uuid;

/// `<report-….r…@domain>`: the same for the same report and address.
pub fn message_id(report: Uuid, email: &str, domain: &str) -> String {
    let who = hex::encode(&Sha256::digest(email.trim().to_lowercase().as_bytes())[..8]);
    format!("<report-{}.{who}@{domain}>", report.simple())
}

/// The domain of the sender's address, for Message-IDs.
pub fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map(|(_, d)| d.to_owned())
        .unwrap_or_else(|| "duban.local".into())
}

/// What one message carries.
pub struct Outgoing<'a> {
    pub message_id: &'a str,
    pub from: &'a Mailbox,
    pub to_name: &'a str,
    pub to_email: &'a str,
    pub subject: &'a str,
    pub html: &'a str,
    pub text: &'a str,
    pub attachment: Option<(&'a str, &'a [u8])>,
    pub date: DateTime<Utc>,
}

/// Why a message could not be built or sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth trying again later: a 4xx reply, a refused or broken connection.
    Temporary(String),
    /// Not worth trying again: a 5xx reply, an address that cannot be.
    Permanent(String),
}

pub fn build(o: &Outgoing<'_>) -> Result<Message, SendError> {
    let to: Mailbox = format!("{} <{}>", o.to_name.replace(['<', '>', '"'], ""), o.to_email.trim())
        .parse()
        .or_else(|_| o.to_email.trim().parse())
        .map_err(|e| SendError::Permanent(format!("收件人地址无效 ({}): {e}", o.to_email)))?;
    let body = MultiPart::alternative_plain_html(o.text.to_owned(), o.html.to_owned());
    let builder = Message::builder()
        .message_id(Some(o.message_id.to_owned()))
        .from(o.from.clone())
        .to(to)
        .subject(o.subject)
        .date(o.date.into());
    let message = match o.attachment {
        Some((name, bytes)) => {
            let xlsx = ContentType::parse("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
                .map_err(|e| SendError::Permanent(e.to_string()))?;
            builder.multipart(
                MultiPart::mixed()
                    .multipart(body)
                    .singlepart(Attachment::new(name.to_owned()).body(bytes.to_vec(), xlsx)),
            )
        }
        None => builder.multipart(body),
    };
    message.map_err(|e| SendError::Permanent(format!("邮件无法生成: {e}")))
}

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// .eml files, one per Message-ID.
    Files(PathBuf),
}

impl Mailer {
    /// SMTP when configured, else .eml files under `mail_dir` (or
    /// `<data_dir>/mail`).
    pub fn from_settings(settings: &ReportingSettings, data_dir: &std::path::Path) -> anyhow::Result<Mailer> {
        match &settings.smtp {
            Some(smtp) => Ok(Mailer::Smtp(smtp_transport(smtp)?)),
            None => Ok(Mailer::Files(
                settings.mail_dir.clone().unwrap_or_else(|| data_dir.join("mail")),
            )),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp(_) => "SMTP".into(),
            Mailer::Files(dir) => format!(".eml files in {}", dir.display()),
        }
    }

    /// Sends one message; the server's reply on success.
    pub async fn send(&self, message: &Message, message_id: &str) -> Result<String, SendError> {
        match self {
            Mailer::Smtp(transport) => match transport.send(message.clone()).await {
                Ok(response) => Ok(format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                )),
                Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
                Err(e) => Err(SendError::Temporary(e.to_string())),
            },
            Mailer::Files(dir) => {
                let name: String = message_id
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '@' | '_'))
                    .collect();
                let path = dir.join(format!("{name}.eml"));
                let tmp = dir.join(format!(".{name}.tmp"));
                let bytes = message.formatted();
                let write = async {
                    tokio::fs::create_dir_all(dir).await?;
                    tokio::fs::write(&tmp, &bytes).await?;
                    // Renamed into place: a file is there whole or not at all,
                    // and the same Message-ID is the same file.
                    tokio::fs::rename(&tmp, &path).await
                };
                write
                    .await
                    .map_err(|e| SendError::Temporary(format!("writing {}: {e}", path.display())))?;
                Ok(format!("written to {}", path.display()))
            }
        }
    }
}

fn smtp_transport(smtp: &SmtpSettings) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let tls = || TlsParameters::new(smtp.host.clone()).context("TLS parameters for the SMTP server");
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
        .port(smtp.port)
        .timeout(Some(Duration::from_secs(smtp.timeout_secs.max(1))))
        .tls(match smtp.tls.as_str() {
            "tls" => Tls::Wrapper(tls()?),
            "none" => Tls::None,
            _ => Tls::Required(tls()?),
        });
    if let Some(user) = &smtp.username {
        let password = smtp
            .password
            .as_ref()
            .map(|p| p.expose_secret().to_owned())
            .unwrap_or_default();
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_message_has_both_bodies_a_chinese_subject_and_the_ledger() {
        let from: Mailbox = "督办系统 <duban@court.example>".parse().unwrap();
        let id = message_id(Uuid::nil(), "Lin.Ke@court.example", "court.example");
        assert_eq!(id, message_id(Uuid::nil(), "lin.ke@court.example ", "court.example"));
        let m = build(&Outgoing {
            message_id: &id,
            from: &from,
            to_name: "林可",
            to_email: "lin.ke@court.example",
            subject: "江川市中级人民法院督查督办工作通报(2026年第10期)",
            html: "<p>通报</p>",
            text: "通报",
            attachment: Some(("督办台账(2026年10月).xlsx", b"PK\x03\x04")),
            date: Utc::now(),
        })
        .unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains(&format!("Message-ID: {id}")), "{raw}");
        assert!(raw.contains("Subject: =?utf-8?"), "{raw}");
        assert!(raw.contains("multipart/mixed") && raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain; charset=utf-8") && raw.contains("text/html; charset=utf-8"));
        assert!(raw.contains("spreadsheetml"));
        let bad = build(&Outgoing {
            to_email: "not an address",
            ..Outgoing {
                message_id: &id,
                from: &from,
                to_name: "x",
                to_email: "",
                subject: "s",
                html: "",
                text: "",
                attachment: None,
                date: Utc::now(),
            }
        });
        assert!(matches!(bad, Err(SendError::Permanent(_))));
    }
}
