//! Bearer tokens: issued at random, stored only as a SHA-256 hash, carrying a
//! principal, roles, a unit scope and an expiry, revocable. The [`AuthLayer`]
//! authenticates every RPC except health and reflection and hands the
//! [`Principal`] to the handler through the request extensions.

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use duban_core::Role;
use duban_core::access::{self, Action, Scope};
use futures::future::BoxFuture;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::task::{Context, Poll};
use tracing::Instrument;
use uuid::Uuid;

const TOKEN_PREFIX: &str = "dbn_";

/// Who is calling, as established from their token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: Uuid,
    pub name: String,
    pub person_id: Option<Uuid>,
    pub roles: Vec<Role>,
    /// Roots of the unit subtrees the principal may act on.
    pub unit_scope: Vec<Uuid>,
}

impl Principal {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_admin(&self) -> bool {
        self.has_role(Role::Admin)
    }

    /// Checks an action on a target whose ancestry (root … target) is given.
    pub fn authorize_on(&self, action: Action, target_ancestry: &[Uuid]) -> Result<()> {
        let scope = if target_ancestry.iter().any(|u| self.unit_scope.contains(u)) {
            Scope::Inside
        } else {
            Scope::Outside
        };
        Ok(access::authorize(&self.roles, action, scope)?)
    }

    /// Like [`Principal::authorize_on`], where the principal's person
    /// `supervises` (分管) the target or a unit above it.
    pub fn authorize_supervised(&self, action: Action, target_ancestry: &[Uuid], supervises: bool) -> Result<()> {
        let in_scope = target_ancestry.iter().any(|u| self.unit_scope.contains(u));
        Ok(access::authorize_supervised(&self.roles, action, in_scope, supervises)?)
    }

    /// Checks an action that has no unit target.
    pub fn authorize_global(&self, action: Action) -> Result<()> {
        Ok(access::authorize(&self.roles, action, Scope::Global)?)
    }

    /// Checks the role only; the caller then narrows what it returns to the
    /// principal's scope (list endpoints). A deployment-wide setting has the
    /// whole tree as its target and is never granted by role alone.
    pub fn authorize_role(&self, action: Action) -> Result<()> {
        let scope = if action.is_deployment_wide() {
            Scope::Outside
        } else {
            Scope::Inside
        };
        Ok(access::authorize(&self.roles, action, scope)?)
    }

    /// Checks a setting of the whole deployment ([`Action::is_deployment_wide`])
    /// against the roots of the unit tree ([`tree_roots`]).
    pub fn authorize_deployment(&self, action: Action, roots: &[Uuid]) -> Result<()> {
        let scope = access::deployment_scope(&self.unit_scope, roots);
        Ok(access::authorize(&self.roles, action, scope)?)
    }
}

/// The roots of the unit tree, which a deployment-wide setting targets.
pub async fn tree_roots(db: impl sqlx::PgExecutor<'_>) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar("SELECT id FROM registry.tree_roots")
        .fetch_all(db)
        .await?)
}

/// What `duban token create` asks for.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub principal: String,
    pub person_id: Option<Uuid>,
    pub roles: Vec<Role>,
    pub unit_scope: Vec<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub description: String,
}

/// A token as listed: everything but the secret.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenInfo {
    pub id: Uuid,
    pub principal: String,
    pub person_id: Option<Uuid>,
    pub roles: Vec<String>,
    pub unit_scope: Vec<Uuid>,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Clone)]
pub struct TokenStore {
    pool: PgPool,
}

fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

impl TokenStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Issues a token and returns it with its secret, which is shown once and
    /// never stored.
    pub async fn create(&self, new: &NewToken) -> Result<(TokenInfo, String)> {
        if new.principal.trim().is_empty() {
            return Err(Error::invalid("principal", "must not be empty", "令牌持有人不能为空"));
        }
        if new.roles.is_empty() {
            return Err(Error::invalid(
                "roles",
                "at least one role is required",
                "至少需要一个角色",
            ));
        }
        let id = Uuid::new_v4();
        let secret = format!("{TOKEN_PREFIX}{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        let roles: Vec<String> = new.roles.iter().map(|r| r.code().to_owned()).collect();
        let info: TokenInfo = sqlx::query_as(
            "INSERT INTO platform.tokens (id, secret_hash, principal, person_id, roles, unit_scope, description, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             RETURNING id, principal, person_id, roles, unit_scope, description, created_at, expires_at, revoked_at",
        )
        .bind(id)
        .bind(secret_hash(&secret))
        .bind(&new.principal)
        .bind(new.person_id)
        .bind(&roles)
        .bind(&new.unit_scope)
        .bind(&new.description)
        .bind(new.expires_at)
        .fetch_one(&self.pool)
        .await?;
        Ok((info, secret))
    }

    pub async fn list(&self, include_revoked: bool) -> Result<Vec<TokenInfo>> {
        Ok(sqlx::query_as(
            "SELECT id, principal, person_id, roles, unit_scope, description, created_at, expires_at, revoked_at \
             FROM platform.tokens WHERE $1 OR revoked_at IS NULL ORDER BY created_at, id",
        )
        .bind(include_revoked)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Revokes a token; revoking twice is not an error. Returns false when no
    /// such token exists.
    pub async fn revoke(&self, id: Uuid) -> Result<bool> {
        let done = sqlx::query("UPDATE platform.tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Resolves an `authorization` header value to a principal. Expiry is
    /// judged by the database's real time, never the dev clock: moving test
    /// time must not lock anyone out or let a dead token live.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Principal> {
        let header = header.ok_or(Error::Unauthenticated("missing authorization header"))?;
        let secret = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .ok_or(Error::Unauthenticated("authorization is not a Bearer token"))?;
        if !secret.starts_with(TOKEN_PREFIX) || secret.len() != TOKEN_PREFIX.len() + 64 {
            return Err(Error::Unauthenticated("malformed token"));
        }
        let row: Option<(Uuid, String, Option<Uuid>, Vec<String>, Vec<Uuid>, bool, bool)> = sqlx::query_as(
            "SELECT id, principal, person_id, roles, unit_scope, revoked_at IS NOT NULL, expires_at <= now() \
             FROM platform.tokens WHERE secret_hash = $1",
        )
        .bind(secret_hash(secret))
        .fetch_optional(&self.pool)
        .await?;
        let (token_id, name, person_id, roles, unit_scope, revoked, expired) =
            row.ok_or(Error::Unauthenticated("unknown token"))?;
        if revoked {
            return Err(Error::Unauthenticated("token revoked"));
        }
        if expired {
            return Err(Error::Unauthenticated("token expired"));
        }
        let roles = roles.iter().filter_map(|r| r.parse::<Role>().ok()).collect();
        Ok(Principal {
            token_id,
            name,
            person_id,
            roles,
            unit_scope,
        })
    }
}

/// The authenticated principal of a request, put there by [`AuthLayer`].
pub fn principal<T>(request: &tonic::Request<T>) -> Result<Principal> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or(Error::Unauthenticated("no principal on request"))
}

/// Paths that stay open: probes and tooling must work without a token.
fn is_public(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.") || path.starts_with("/grpc.reflection.")
}

/// Tower layer that authenticates every RPC but health and reflection, and
/// opens the per-RPC tracing span.
#[derive(Clone)]
pub struct AuthLayer {
    tokens: TokenStore,
}

impl AuthLayer {
    pub fn new(tokens: TokenStore) -> Self {
        Self { tokens }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            tokens: self.tokens.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    tokens: TokenStore,
}

impl<S, B> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, std::result::Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The clone that was polled ready is the one we must call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let tokens = self.tokens.clone();
        let path = request.uri().path().to_owned();
        if is_public(&path) {
            return Box::pin(inner.call(request));
        }
        let span = tracing::info_span!("rpc", method = %path, principal = tracing::field::Empty);
        Box::pin(
            async move {
                let header = request
                    .headers()
                    .get(http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok());
                match tokens.authenticate(header).await {
                    Ok(principal) => {
                        tracing::Span::current().record("principal", principal.name.as_str());
                        request.extensions_mut().insert(principal);
                        inner.call(request).await
                    }
                    Err(err) => {
                        tracing::info!(reason = %err, "rejected");
                        Ok(tonic::Status::from(err).into_http())
                    }
                }
            }
            .instrument(span),
        )
    }
}
