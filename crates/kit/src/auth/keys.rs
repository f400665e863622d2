//! Where verifiers get the user service's public signing keys. The user
//! service publishes them through `AuthService/GetSigningKeys` (a JWKS); every
//! other service asks over gRPC ([`RemoteKeySource`]). The user service itself
//! can implement [`KeySource`] over its own store.

use std::time::Duration;

use async_trait::async_trait;
use tonic::transport::Channel;
use wework_proto::user::GetSigningKeysRequest;
use wework_proto::user::auth_service_client::AuthServiceClient;

use super::AuthError;
use crate::settings::AuthSettings;

/// An Ed25519 public key as published in the JWKS (RFC 8037, `kty: OKP`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    pub kid: String,
    /// base64url (no padding) of the 32-byte Ed25519 public key.
    pub x: String,
}

/// Supplies the currently published signing keys.
#[async_trait]
pub trait KeySource: Send + Sync {
    async fn signing_keys(&self) -> Result<Vec<PublicJwk>, AuthError>;
}

/// Fetches keys from the user service over a lazily connected channel, so a
/// service starts even while the user service is still coming up.
#[derive(Debug, Clone)]
pub struct RemoteKeySource {
    client: AuthServiceClient<Channel>,
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

impl RemoteKeySource {
    /// Must be called inside a Tokio runtime.
    pub fn new(settings: &AuthSettings) -> Result<Self, AuthError> {
        let channel = crate::grpc_client::lazy_channel(&settings.user_service_url, CONNECT_TIMEOUT, REQUEST_TIMEOUT)
            .map_err(|e| AuthError::KeySource(e.to_string()))?;
        Ok(Self { client: AuthServiceClient::new(channel) })
    }
}

#[async_trait]
impl KeySource for RemoteKeySource {
    async fn signing_keys(&self) -> Result<Vec<PublicJwk>, AuthError> {
        let response = self
            .client
            .clone()
            .get_signing_keys(GetSigningKeysRequest {})
            .await
            .map_err(|s| AuthError::KeySource(format!("GetSigningKeys: {}", s.message())))?
            .into_inner();
        Ok(response
            .keys
            .into_iter()
            .filter(|k| (k.kty.is_empty() || k.kty == "OKP") && (k.crv.is_empty() || k.crv == "Ed25519"))
            .map(|k| PublicJwk { kid: k.kid, x: k.x })
            .collect())
    }
}
