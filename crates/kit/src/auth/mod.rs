//! Authentication and authorization shared by every service.
//!
//! - [`claims`]: the token claim shapes (shared with the issuer, the user service).
//! - [`Authenticator`]: bearer token → [`Principal`]; user tokens (EdDSA, keys
//!   from a [`KeySource`]) and internal tokens (HS256, shared secret).
//! - [`ServiceTokenMinter`]: this service's token for outgoing calls.
//! - [`permission_matches`] / [`require`]: permission checks.
//!
//! Signing user tokens (user service): `jsonwebtoken::EncodingKey::from_ed_der`
//! takes the Ed25519 private key as PKCS#8 v1/v2 DER (what
//! `ed25519_dalek::SigningKey::to_pkcs8_der` produces); the published `x` is
//! base64url (no padding) of the 32-byte public key; set the header `kid`.

pub mod claims;
mod keys;
mod mint;
mod principal;
mod verify;

use std::io;

use secrecy::SecretString;

pub use self::keys::{KeySource, PublicJwk, RemoteKeySource};
pub use self::mint::ServiceTokenMinter;
pub use self::principal::{Principal, PrincipalKind, permission_matches, require};
pub use self::verify::Authenticator;
use crate::settings::AuthSettings;

/// File under `data_dir` holding the generated internal secret.
pub const INTERNAL_SECRET_FILE: &str = "internal-token.secret";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("signing keys unavailable: {0}")]
    KeySource(String),
    #[error("internal secret: {0}")]
    Secret(#[from] io::Error),
}

/// The shared secret of internal tokens: from settings, or read from (or
/// generated into) `<data_dir>/internal-token.secret`.
pub fn internal_secret(settings: &AuthSettings) -> io::Result<SecretString> {
    crate::crypto::load_or_create_secret(
        settings.internal_secret.as_ref(),
        &settings.data_dir,
        INTERNAL_SECRET_FILE,
        32,
    )
}
