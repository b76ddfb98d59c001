//! Client-streamed uploads (an old ledger, its follow-up): the options in
//! the first message, then the rows in batches, since a large file outgrows
//! one gRPC message. The whole upload is received before anything is
//! applied, so it is applied in one transaction like a unary request.

use crate::Error;

/// What one message of an upload carries.
pub enum Part<O, R> {
    Options(O),
    Rows(Vec<R>),
    Empty,
}

/// Receives an upload of at most `max_rows` rows: `part` reads each message.
pub async fn receive<M, O, R>(
    mut stream: tonic::Streaming<M>,
    part: impl Fn(M) -> Part<O, R>,
    max_rows: usize,
) -> Result<(O, Vec<R>), tonic::Status> {
    let mut options = None;
    let mut rows = Vec::new();
    while let Some(message) = stream.message().await? {
        match part(message) {
            Part::Options(o) if options.is_none() && rows.is_empty() => options = Some(o),
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
                if rows.len() > max_rows {
                    return Err(Error::invalid(
                        "rows",
                        &format!("at most {max_rows} rows per import"),
                        &format!("每次导入不能超过{max_rows}行"),
                    )
                    .into());
                }
            }
            Part::Empty => {}
        }
    }
    let options = options.ok_or_else(|| {
        Error::invalid(
            "options",
            "the first message must carry the options",
            "首条消息须为导入选项",
        )
    })?;
    Ok((options, rows))
}
