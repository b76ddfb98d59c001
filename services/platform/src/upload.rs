//! Client-streamed uploads (an old ledger, its follow-up): the options in
//! the first message, then the rows in batches, since a large file outgrows
//! one gRPC message. The whole upload is received before anything is
//! applied, so it is applied in one transaction like a unary request.
//!
//! Holding it whole is why it is guarded as it arrives: the caller is
//! authorised on the options, before any row is read, and each message is
//! checked against the input limits and counted against the upload's byte
//! and row caps the moment it arrives. A refusal ends the call there; the
//! rest of the stream is never read.

use crate::{Error, Result};
use prost::Message;
use serde::{Deserialize, Serialize};

/// What one message of an upload carries.
pub enum Part<O, R> {
    Options(O),
    Rows(Vec<R>),
    Empty,
}

/// How much one upload may carry (`[upload]` settings).
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(default)]
pub struct UploadSettings {
    /// Bytes of all messages together, as encoded on the wire.
    pub max_bytes: usize,
    pub max_rows: usize,
    /// Bytes of one message of any request (tonic's decoding limit).
    pub max_message_bytes: usize,
}

impl Default for UploadSettings {
    fn default() -> Self {
        Self {
            // A 200,000-row ledger with a line of progress is some 60 MB
            // (300 bytes a row); four times that leaves room for long rows.
            max_bytes: 256 << 20,
            max_rows: duban_core::limits::LEDGER_ROWS,
            // tonic's default: a batch of 2,000 rows is a few hundred KB.
            max_message_bytes: 4 << 20,
        }
    }
}

/// Receives an upload: `part` reads each message, `authorize` judges the
/// caller on the options before any row is read.
pub async fn receive<M, O, R>(
    mut stream: tonic::Streaming<M>,
    part: impl Fn(M) -> Part<O, R>,
    authorize: impl AsyncFnOnce(&O) -> Result<()>,
    caps: UploadSettings,
) -> std::result::Result<(O, Vec<R>), tonic::Status>
where
    M: Message + prost::Name,
{
    Ok(guarded(&mut stream, part, authorize, caps).await?)
}

/// The stream's own errors pass through as they are; ours become a Status.
enum Failure {
    Stream(tonic::Status),
    Refused(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Refused(e)
    }
}

impl From<tonic::Status> for Failure {
    fn from(s: tonic::Status) -> Self {
        Failure::Stream(s)
    }
}

impl From<Failure> for tonic::Status {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Stream(s) => s,
            Failure::Refused(e) => e.into(),
        }
    }
}

async fn guarded<M, O, R>(
    stream: &mut tonic::Streaming<M>,
    part: impl Fn(M) -> Part<O, R>,
    authorize: impl AsyncFnOnce(&O) -> Result<()>,
    caps: UploadSettings,
) -> std::result::Result<(O, Vec<R>), Failure>
where
    M: Message + prost::Name,
{
    let first = stream.message().await?;
    let Some(first) = first else {
        return Err(no_options().into());
    };
    crate::limits::check(&first)?;
    let mut bytes = first.encoded_len();
    let Part::Options(options) = part(first) else {
        return Err(no_options().into());
    };
    authorize(&options).await?;
    let mut rows = Vec::new();
    while let Some(message) = stream.message().await? {
        bytes += message.encoded_len();
        if bytes > caps.max_bytes {
            let mib = caps.max_bytes >> 20;
            return Err(Error::TooLarge {
                what: format!("the upload (more than {mib} MiB)"),
                what_zh: format!("上传内容(超过{mib}MiB)"),
            }
            .into());
        }
        crate::limits::check(&message)?;
        match part(message) {
            Part::Options(_) => {
                return Err(Error::invalid(
                    "options",
                    "must be sent once, first",
                    "导入选项须在首条消息中发送且只发送一次",
                )
                .into());
            }
            Part::Rows(batch) => {
                rows.extend(batch);
                if rows.len() > caps.max_rows {
                    let max = caps.max_rows;
                    return Err(Error::invalid(
                        "rows",
                        &format!("at most {max} rows per import"),
                        &format!("每次导入不能超过{max}行"),
                    )
                    .into());
                }
            }
            Part::Empty => {}
        }
    }
    Ok((options, rows))
}

fn no_options() -> Error {
    Error::invalid(
        "options",
        "the first message must carry the options",
        "首条消息须为导入选项",
    )
}
