//! Bearer JWT authentication (HS256) and per-workspace permissions.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use customers_domain::{OrganizationId, Scope, UserId, WorkspaceId};

use crate::problem::ApiError;

/// What a token may allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read customers.
    View,
    /// Create customers.
    Create,
    /// Change customers.
    Update,
    /// Delete customers.
    Delete,
    /// Deliver other modules' events and read the dead letters (service accounts).
    Integrate,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 5] = [
        Permission::View,
        Permission::Create,
        Permission::Update,
        Permission::Delete,
        Permission::Integrate,
    ];

    /// The claim value.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Permission::View => "customers:view",
            Permission::Create => "customers:create",
            Permission::Update => "customers:update",
            Permission::Delete => "customers:delete",
            Permission::Integrate => "customers:integrate",
        }
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: Uuid,
    /// The organization.
    pub org: Uuid,
    /// Workspaces the user may use.
    #[serde(default)]
    pub workspaces: Vec<Uuid>,
    /// Granted permissions (`customers:view`, …).
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Expiry, seconds since 1970 (required).
    pub exp: i64,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    claims: Claims,
}

impl Principal {
    /// The user id.
    pub fn user(&self) -> UserId {
        UserId::from(self.claims.sub)
    }

    /// Whether the token grants `permission`.
    pub fn has(&self, permission: Permission) -> bool {
        self.claims.permissions.iter().any(|p| p == permission.as_str())
    }

    /// Checks access to `workspace` with every one of `permissions`; returns the scope.
    pub fn authorize_all(&self, workspace: Uuid, permissions: &[Permission]) -> Result<Scope, ApiError> {
        let mut scope = None;
        for permission in permissions {
            scope = Some(self.authorize(workspace, *permission)?);
        }
        scope.ok_or_else(|| ApiError::Internal("no permission named".into()))
    }

    /// Checks access to `workspace` with `permission`; returns the scope to work in.
    pub fn authorize(&self, workspace: Uuid, permission: Permission) -> Result<Scope, ApiError> {
        if !self.claims.workspaces.contains(&workspace) {
            return Err(ApiError::Forbidden(
                "The token does not grant access to this workspace.".into(),
            ));
        }
        if !self.claims.permissions.iter().any(|p| p == permission.as_str()) {
            return Err(ApiError::Forbidden(format!(
                "The permission {} is required.",
                permission.as_str()
            )));
        }
        Ok(Scope::new(
            OrganizationId::from(self.claims.org),
            WorkspaceId::from(workspace),
        ))
    }
}

/// Signs and verifies tokens with one HS256 secret.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    cursors: crate::cursor::CursorCodec,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys([REDACTED])")
    }
}

impl JwtKeys {
    /// Keys for a secret.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            cursors: crate::cursor::CursorCodec::new(secret),
        }
    }

    /// The list cursors signed with a key derived from the same secret.
    pub fn cursors(&self) -> &crate::cursor::CursorCodec {
        &self.cursors
    }

    /// Signs claims.
    pub fn mint(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
    }

    /// Verifies a token: HS256 signature, required and unexpired `exp` (no leeway).
    pub fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| Principal { claims: data.claims })
            .map_err(|err| match err.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => ApiError::Unauthorized("The token has expired."),
                jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                    ApiError::Unauthorized("The token signature is invalid.")
                }
                _ => ApiError::Unauthorized("The token is malformed or lacks required claims."),
            })
    }
}

/// Bearer JWT (HS256). Claims: `sub`, `org`, `workspaces`, `permissions`, `exp`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_bearer")]
pub struct BearerAuth(pub Principal);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    let keys = req
        .data::<Arc<JwtKeys>>()
        .ok_or_else(|| ApiError::Internal("JWT keys are not configured".into()))?;
    Ok(keys.verify(&bearer.token)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_offset: i64) -> Claims {
        Claims {
            sub: Uuid::now_v7(),
            org: Uuid::now_v7(),
            workspaces: vec![Uuid::from_u128(1)],
            permissions: vec!["customers:view".into()],
            exp: time::OffsetDateTime::now_utc().unix_timestamp() + exp_offset,
            iat: None,
        }
    }

    #[test]
    fn verifies_its_own_tokens_and_refuses_others() {
        let keys = JwtKeys::new(b"secret-one");
        let token = keys.mint(&claims(60)).unwrap();
        assert!(keys.verify(&token).is_ok());
        assert!(matches!(
            JwtKeys::new(b"secret-two").verify(&token),
            Err(ApiError::Unauthorized(_))
        ));
        assert!(matches!(keys.verify("not.a.token"), Err(ApiError::Unauthorized(_))));
        let expired = keys.mint(&claims(-5)).unwrap();
        assert!(matches!(
            keys.verify(&expired),
            Err(ApiError::Unauthorized("The token has expired."))
        ));
    }

    #[test]
    fn authorizes_workspace_and_permission() {
        let keys = JwtKeys::new(b"k");
        let principal = keys.verify(&keys.mint(&claims(60)).unwrap()).unwrap();
        assert!(principal.authorize(Uuid::from_u128(1), Permission::View).is_ok());
        assert!(matches!(
            principal.authorize(Uuid::from_u128(2), Permission::View),
            Err(ApiError::Forbidden(_))
        ));
        assert!(matches!(
            principal.authorize(Uuid::from_u128(1), Permission::Delete),
            Err(ApiError::Forbidden(_))
        ));
    }
}
