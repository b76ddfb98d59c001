//! The stable reason codes carried in `google.rpc.ErrorInfo.reason` (domain
//! `duban`), so other systems can branch on them without parsing messages.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// One or more fields are invalid; see `BadRequest`.
    InvalidArgument,
    /// The named resource does not exist.
    NotFound,
    /// A resource with the same unique key exists.
    AlreadyExists,
    /// The resource is not in a state that allows the request.
    FailedPrecondition,
    /// The etag sent is older than the stored one: read again and retry.
    StaleEtag,
    /// A concurrent transaction conflicted; retrying is safe.
    Conflict,
    /// The request_id was already used for a different request.
    RequestIdReused,
    /// The caller may not do this, or not on this target.
    PermissionDenied,
    /// No, a malformed, an expired or a revoked token.
    Unauthenticated,
    /// A dependency (the database) is unreachable.
    Unavailable,
    /// Every database connection was in use for too long: retry later.
    Busy,
    /// A lock another transaction held was not granted in time (the call's
    /// deadline or the server's lock limit); nothing was changed: retry later.
    LockTimeout,
    /// A statement ran past the call's deadline or the server's limit and
    /// was cancelled; nothing was changed: retry later.
    StatementTimeout,
    /// The request (an upload) is larger than the service takes.
    ResourceExhausted,
    /// Anything else; details are in the server log only.
    Internal,
}

impl ErrorCode {
    pub const DOMAIN: &'static str = "duban";

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::AlreadyExists => "ALREADY_EXISTS",
            ErrorCode::FailedPrecondition => "FAILED_PRECONDITION",
            ErrorCode::StaleEtag => "STALE_ETAG",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::RequestIdReused => "REQUEST_ID_REUSED",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Busy => "BUSY",
            ErrorCode::LockTimeout => "LOCK_TIMEOUT",
            ErrorCode::StatementTimeout => "STATEMENT_TIMEOUT",
            ErrorCode::ResourceExhausted => "RESOURCE_EXHAUSTED",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    pub fn grpc_code(self) -> tonic::Code {
        match self {
            ErrorCode::InvalidArgument | ErrorCode::RequestIdReused => tonic::Code::InvalidArgument,
            ErrorCode::NotFound => tonic::Code::NotFound,
            ErrorCode::AlreadyExists => tonic::Code::AlreadyExists,
            ErrorCode::FailedPrecondition => tonic::Code::FailedPrecondition,
            ErrorCode::StaleEtag | ErrorCode::Conflict => tonic::Code::Aborted,
            ErrorCode::PermissionDenied => tonic::Code::PermissionDenied,
            ErrorCode::Unauthenticated => tonic::Code::Unauthenticated,
            ErrorCode::Unavailable | ErrorCode::Busy | ErrorCode::LockTimeout => tonic::Code::Unavailable,
            ErrorCode::StatementTimeout => tonic::Code::DeadlineExceeded,
            ErrorCode::ResourceExhausted => tonic::Code::ResourceExhausted,
            ErrorCode::Internal => tonic::Code::Internal,
        }
    }
}
