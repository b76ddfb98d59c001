//! The one error type of the service layer and its single mapping to a gRPC
//! `Status`. Postgres errors are classified by SQLSTATE here and nowhere else;
//! no SQL or internal text ever reaches a client.

use duban_core::{Violations, access::Denied};
use duban_proto::ErrorCode;
use std::collections::HashMap;
use tonic_types::{BadRequest, ErrorDetail, ErrorInfo, FieldViolation, LocalizedMessage, StatusExt};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Violations named in the top-level messages; the rest are in the details.
const SUMMARISED: usize = 3;
/// Violations carried in the details: error details travel in a trailer,
/// base64-encoded, and gRPC peers commonly refuse metadata over 8 KB
/// (grpc-java's default; hyper's is 16 KB), which a client sees as
/// RESOURCE_EXHAUSTED instead of the error. So the details hold the first
/// violations up to a count and a size, then one line counting the rest.
const DETAILED: usize = 100;
/// Bytes of violations (as encoded) in the details: base64 makes 4 KB,
/// with the other details and the message, well under 8 KB.
const DETAILED_BYTES: usize = 3_000;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid argument: {0:?}")]
    InvalidArgument(Violations),
    #[error("{kind} {id} not found")]
    NotFound {
        kind: &'static str,
        kind_zh: &'static str,
        id: String,
    },
    #[error("{what} already exists")]
    AlreadyExists { what: String, what_zh: String },
    #[error("failed precondition: {reason}")]
    FailedPrecondition { reason: String, reason_zh: String },
    #[error("stale etag on {kind} {id}")]
    StaleEtag { kind: &'static str, id: String },
    #[error("conflict with a concurrent transaction")]
    Conflict,
    #[error("request_id {0} was used for a different request")]
    RequestIdReused(String),
    #[error("permission denied: {reason}")]
    PermissionDenied { reason: String, reason_zh: String },
    #[error("unauthenticated: {0}")]
    Unauthenticated(&'static str),
    #[error("{what} is larger than the service takes")]
    TooLarge { what: String, what_zh: String },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("no database connection free in time: {0}")]
    Busy(String),
    #[error("lock not granted in time: {0}")]
    LockTimeout(String),
    #[error("statement cancelled: {0}")]
    StatementTimeout(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// A single invalid field.
    pub fn invalid(field: &str, reason: &str, reason_zh: &str) -> Self {
        let mut v = Violations::new();
        v.add(field, reason, reason_zh);
        Error::InvalidArgument(v)
    }

    pub fn not_found(kind: &'static str, kind_zh: &'static str, id: impl ToString) -> Self {
        Error::NotFound {
            kind,
            kind_zh,
            id: id.to_string(),
        }
    }

    pub fn precondition(reason: impl Into<String>, reason_zh: impl Into<String>) -> Self {
        Error::FailedPrecondition {
            reason: reason.into(),
            reason_zh: reason_zh.into(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::AlreadyExists { .. } => ErrorCode::AlreadyExists,
            Error::FailedPrecondition { .. } => ErrorCode::FailedPrecondition,
            Error::StaleEtag { .. } => ErrorCode::StaleEtag,
            Error::Conflict => ErrorCode::Conflict,
            Error::RequestIdReused(_) => ErrorCode::RequestIdReused,
            Error::PermissionDenied { .. } => ErrorCode::PermissionDenied,
            Error::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Error::TooLarge { .. } => ErrorCode::ResourceExhausted,
            Error::Unavailable(_) => ErrorCode::Unavailable,
            Error::Busy(_) => ErrorCode::Busy,
            Error::LockTimeout(_) => ErrorCode::LockTimeout,
            Error::StatementTimeout(_) => ErrorCode::StatementTimeout,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The message for people, in Chinese.
    fn message_zh(&self) -> String {
        match self {
            Error::InvalidArgument(v) => {
                let parts: Vec<String> =
                    v.0.iter()
                        .take(SUMMARISED)
                        .map(|f| format!("{}:{}", f.field, f.reason_zh))
                        .collect();
                let more = if v.0.len() > SUMMARISED {
                    format!("等共{}处", v.0.len())
                } else {
                    String::new()
                };
                format!("请求内容有误:{}{more}", parts.join(";"))
            }
            Error::NotFound { kind_zh, id, .. } => format!("未找到{kind_zh}({id})"),
            Error::AlreadyExists { what_zh, .. } => format!("{what_zh}已存在"),
            Error::FailedPrecondition { reason_zh, .. } => reason_zh.clone(),
            Error::StaleEtag { .. } => "数据已被他人修改,请刷新后重试".into(),
            Error::Conflict => "操作与其他操作冲突,请重试".into(),
            Error::RequestIdReused(_) => "该请求编号已用于另一项操作".into(),
            Error::PermissionDenied { reason_zh, .. } => reason_zh.clone(),
            Error::Unauthenticated(_) => "身份认证失败,请提供有效的访问令牌".into(),
            Error::TooLarge { what_zh, .. } => format!("{what_zh}超出系统上限"),
            Error::Unavailable(_) => "服务暂时不可用(数据库无法连接),请稍后重试".into(),
            Error::Busy(_) => "服务繁忙,暂无空闲的数据库连接,请稍后重试".into(),
            Error::LockTimeout(_) => "所需数据正被其他操作占用,等待超时,本次未作任何修改,请稍后重试".into(),
            Error::StatementTimeout(_) => "操作超时已取消,本次未作任何修改,请稍后重试".into(),
            Error::Internal(_) => "系统内部错误,请联系管理员".into(),
        }
    }

    /// The message for developers, in English, without internals.
    fn message_en(&self) -> String {
        match self {
            Error::InvalidArgument(v) => {
                let parts: Vec<String> =
                    v.0.iter()
                        .take(SUMMARISED)
                        .map(|f| format!("{}: {}", f.field, f.reason))
                        .collect();
                let more = if v.0.len() > SUMMARISED {
                    format!(" (and {} more)", v.0.len() - SUMMARISED)
                } else {
                    String::new()
                };
                format!("invalid argument: {}{more}", parts.join("; "))
            }
            Error::Unavailable(_) => "database unavailable".into(),
            Error::Busy(_) => "service busy: no database connection was free in time; retry later".into(),
            Error::LockTimeout(_) => {
                "data held by another operation was not released in time; nothing was changed, retry later".into()
            }
            Error::StatementTimeout(_) => {
                "the operation ran out of time and was cancelled; nothing was changed, retry later".into()
            }
            Error::Internal(_) => "internal error".into(),
            other => other.to_string(),
        }
    }
}

impl From<Denied> for Error {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::Role { action } => Error::PermissionDenied {
                reason: format!("no role of the caller may {action:?}"),
                reason_zh: format!("当前身份无权{}", action.describe_zh()),
            },
            Denied::Scope { action } => Error::PermissionDenied {
                reason: format!("{action:?} on a unit outside the caller's scope"),
                reason_zh: format!("无权对本单位范围以外的对象{}", action.describe_zh()),
            },
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) => match db.code().as_deref() {
                // serialization_failure, deadlock_detected
                Some("40001") | Some("40P01") => Error::Conflict,
                // unique_violation
                Some("23505") => Error::AlreadyExists {
                    what: db.constraint().unwrap_or("record").to_owned(),
                    what_zh: "相同编码的记录".to_owned(),
                },
                // foreign_key_violation
                Some("23503") => Error::precondition(
                    "a referenced record does not exist or is still referenced",
                    "引用的记录不存在或仍被引用",
                ),
                // lock_not_available: lock_timeout (the call's deadline or the server's limit)
                Some("55P03") => Error::LockTimeout(err.to_string()),
                // query_canceled (statement_timeout, a cancel request),
                // idle_in_transaction_session_timeout
                Some("57014") | Some("25P03") => Error::StatementTimeout(err.to_string()),
                // admin_shutdown, cannot_connect_now, connection_exception class
                Some(code) if code.starts_with("08") || code.starts_with("57P") => Error::Unavailable(err.to_string()),
                _ => Error::Internal(err.into()),
            },
            // Every connection stayed in use until the acquire timeout (or,
            // while the server refuses connections, none could be opened):
            // the pool cannot tell which, and neither is a lost database.
            sqlx::Error::PoolTimedOut => Error::Busy(err.to_string()),
            sqlx::Error::Io(_) | sqlx::Error::PoolClosed => Error::Unavailable(err.to_string()),
            _ => Error::Internal(err.into()),
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(err: Error) -> Self {
        match &err {
            Error::Internal(e) => tracing::error!(error = ?e, "internal error"),
            Error::Unavailable(e) => tracing::warn!(error = %e, "database unavailable"),
            Error::Busy(e) | Error::LockTimeout(e) | Error::StatementTimeout(e) => {
                tracing::warn!(error = %e, "database call cut short; the client may retry")
            }
            _ => {}
        }
        let code = err.code();
        let mut details: Vec<ErrorDetail> = vec![
            ErrorInfo::new(code.as_str(), ErrorCode::DOMAIN, HashMap::<String, String>::new()).into(),
            LocalizedMessage::new("zh-CN", err.message_zh()).into(),
        ];
        if let Error::InvalidArgument(v) = &err {
            let mut bytes = 0;
            let shown =
                v.0.iter()
                    .take(DETAILED)
                    .take_while(|f| {
                        // The encoded size of one violation: its three strings
                        // and a few bytes of tags, lengths and the locale.
                        bytes += f.field.len() + f.reason.len() + f.reason_zh.len() + 24;
                        bytes <= DETAILED_BYTES
                    })
                    .count()
                    .max(1);
            let mut violations: Vec<FieldViolation> =
                v.0.iter()
                    .take(shown)
                    .map(|f| FieldViolation {
                        localized_message: Some(LocalizedMessage::new("zh-CN", f.reason_zh.clone())),
                        ..FieldViolation::new(f.field.clone(), f.reason.clone())
                    })
                    .collect();
            if v.0.len() > shown {
                let rest = v.0.len() - shown;
                violations.push(FieldViolation {
                    localized_message: Some(LocalizedMessage::new(
                        "zh-CN",
                        format!("另有{rest}处错误未列出,请改正后重试"),
                    )),
                    ..FieldViolation::new("…", format!("{rest} more problems not listed"))
                });
            }
            details.push(BadRequest::new(violations).into());
        }
        tonic::Status::with_error_details_vec(code.grpc_code(), err.message_en(), details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a client receives as metadata: every header of the status.
    fn metadata_bytes(status: &tonic::Status) -> usize {
        let response: http::Response<()> = status.clone().into_http();
        response
            .headers()
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 32)
            .sum()
    }

    #[test]
    fn hundreds_of_violations_fit_in_8_kb_with_a_count_of_the_rest() {
        let mut v = Violations::new();
        for row in 2..502 {
            v.add(
                format!("rows[{row}].主办单位"),
                format!("row {row}, column 主办单位: no unit of this court is named 执行局第{row}庭"),
                format!("第{row}行“主办单位”列:本院没有名为“执行局第{row}庭”的单位"),
            );
        }
        let status = tonic::Status::from(Error::InvalidArgument(v));
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(metadata_bytes(&status) < 8 * 1024, "{} bytes", metadata_bytes(&status));
        let details = status.get_error_details();
        let violations = &details.bad_request().unwrap().field_violations;
        assert!(violations.len() > 5, "{} shown", violations.len());
        assert_eq!(violations[0].field, "rows[2].主办单位");
        let last = violations.last().unwrap();
        let rest = 500 - (violations.len() - 1);
        assert_eq!(last.description, format!("{rest} more problems not listed"));
    }
}
