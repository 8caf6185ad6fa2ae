//! RFC 6749 errors (and the OpenID Connect and RFC 6750 additions).

use sekisho_core::model::text_enum_like;

text_enum_like!(ErrorCode {
    InvalidRequest = "invalid_request",
    InvalidClient = "invalid_client",
    InvalidGrant = "invalid_grant",
    UnauthorizedClient = "unauthorized_client",
    UnsupportedGrantType = "unsupported_grant_type",
    UnsupportedResponseType = "unsupported_response_type",
    UnsupportedTokenType = "unsupported_token_type",
    InvalidScope = "invalid_scope",
    AccessDenied = "access_denied",
    LoginRequired = "login_required",
    InteractionRequired = "interaction_required",
    // RFC 9470: the requested `acr` cannot be met.
    UnmetAuthenticationRequirements = "unmet_authentication_requirements",
    RequestNotSupported = "request_not_supported",
    RequestUriNotSupported = "request_uri_not_supported",
    InvalidToken = "invalid_token",
    // RFC 9449 §5, §8: a DPoP proof is missing or wrong; a server nonce is needed.
    InvalidDpopProof = "invalid_dpop_proof",
    UseDpopNonce = "use_dpop_nonce",
    // RFC 8628 §3.5: the device grant's polling answers.
    AuthorizationPending = "authorization_pending",
    SlowDown = "slow_down",
    ExpiredToken = "expired_token",
    ServerError = "server_error",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }
    pub fn invalid_token(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidToken, d)
    }
    /// An internal failure: logged in full here, reported without detail.
    pub fn server(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        Self::new(ErrorCode::ServerError, "internal error")
    }
    /// The HTTP status RFC 6749 §5.2 and RFC 6750 §3.1 give this error.
    pub fn status(&self) -> u16 {
        match self.code {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => 401,
            ErrorCode::ServerError => 500,
            _ => 400,
        }
    }
}

impl From<sekisho_store::StoreError> for OAuthError {
    fn from(e: sekisho_store::StoreError) -> Self {
        Self::server(e)
    }
}

impl From<sekisho_crypto::KeyRingError> for OAuthError {
    fn from(e: sekisho_crypto::KeyRingError) -> Self {
        Self::server(e)
    }
}
