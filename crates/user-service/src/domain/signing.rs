//! Ed25519 keys that sign access JWTs (alg `EdDSA`).
//!
//! Contract: a key is identified by `kid` = the first 16 hex chars of
//! SHA-256(public key), so the id follows from the key and cannot drift from
//! it. The private half leaves this type only as its 32-byte seed
//! ([`SigningKeyPair::private_bytes`]), which the service encrypts before
//! storing; the public half is published as the JWK `x` (base64url, no pad),
//! which is exactly what `jsonwebtoken::DecodingKey::from_ed_components` reads.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sha2::{Digest, Sha256};
use wework_kit::auth::claims::AccessClaims;

/// PKCS#8 v1 header of an Ed25519 private key (RFC 8410): the 32-byte seed
/// follows. Building the DER by hand keeps export infallible.
const PKCS8_ED25519_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// Why a key could not be loaded or a token not signed.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// A stored private key is not a 32-byte Ed25519 seed (corrupt or wrongly decrypted).
    #[error("invalid Ed25519 private key: expected 32 bytes, got {0}")]
    InvalidKey(usize),
    #[error("signing the token failed: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// One signing key with its derived `kid`. `Debug` shows only the `kid`.
#[derive(Clone)]
pub struct SigningKeyPair {
    kid: String,
    key: SigningKey,
}

impl fmt::Debug for SigningKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyPair").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SigningKeyPair {
    /// A fresh key from the OS generator, for first start and rotation.
    pub fn generate() -> Self {
        Self::from_key(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// Reloads a stored key from its 32-byte seed (after decryption).
    pub fn from_private_bytes(bytes: &[u8]) -> Result<Self, SigningError> {
        let seed: [u8; 32] = bytes.try_into().map_err(|_| SigningError::InvalidKey(bytes.len()))?;
        Ok(Self::from_key(SigningKey::from_bytes(&seed)))
    }

    fn from_key(key: SigningKey) -> Self {
        let digest = Sha256::digest(key.verifying_key().as_bytes());
        let kid = hex::encode(&digest[..8]);
        Self { kid, key }
    }

    /// Key id, put in every token header so verifiers pick the right key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The 32-byte private seed, for encrypted storage. Handle as a secret.
    pub fn private_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// PKCS#8 DER of the private key: the form `EncodingKey::from_ed_der`
    /// expects (jsonwebtoken's rust_crypto backend parses it with
    /// `SigningKey::from_pkcs8_der`).
    pub fn private_pkcs8_der(&self) -> Vec<u8> {
        let mut der = Vec::with_capacity(48);
        der.extend_from_slice(&PKCS8_ED25519_PREFIX);
        der.extend_from_slice(self.key.as_bytes());
        der
    }

    /// The raw 32-byte public key.
    pub fn public_bytes(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The public key as a JWK `x` member (base64url, no padding), as
    /// published by `GetSigningKeys`.
    pub fn public_x(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.public_bytes())
    }
}

/// Signs access-token claims with `key`: header `alg: EdDSA`, `typ: JWT`,
/// `kid` set so verifiers can select the key during rotation.
pub fn issue_access_token(key: &SigningKeyPair, claims: &AccessClaims) -> Result<String, SigningError> {
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("JWT".to_owned());
    header.kid = Some(key.kid.clone());
    let encoding = EncodingKey::from_ed_der(&key.private_pkcs8_der());
    Ok(jsonwebtoken::encode(&header, claims, &encoding)?)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};

    use super::*;

    fn claims() -> AccessClaims {
        AccessClaims {
            iss: "wework-user".to_owned(),
            aud: "wework".to_owned(),
            sub: "user-1".to_owned(),
            tid: "tenant-1".to_owned(),
            sid: "session-1".to_owned(),
            roles: vec!["admin".to_owned()],
            perms: vec!["user:read".to_owned()],
            jti: "jti-1".to_owned(),
            iat: 4_000_000_000,
            exp: 4_000_000_900,
        }
    }

    fn validation() -> Validation {
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_issuer(&["wework-user"]);
        v.set_audience(&["wework"]);
        v.validate_exp = false; // fixed claims; expiry is the verifier's concern
        v
    }

    #[test]
    fn issued_token_verifies_with_published_x() {
        let key = SigningKeyPair::generate();
        let token = issue_access_token(&key, &claims()).expect("sign");
        let header = decode_header(&token).expect("header");
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.kid.as_deref(), Some(key.kid()));
        let decoding = DecodingKey::from_ed_components(&key.public_x()).expect("x");
        let data = decode::<AccessClaims>(&token, &decoding, &validation()).expect("verify");
        assert_eq!(data.claims, claims());
    }

    #[test]
    fn other_key_or_audience_is_rejected() {
        let key = SigningKeyPair::generate();
        let token = issue_access_token(&key, &claims()).expect("sign");
        let other = DecodingKey::from_ed_components(&SigningKeyPair::generate().public_x()).expect("x");
        assert!(decode::<AccessClaims>(&token, &other, &validation()).is_err());
        let mut wrong_aud = validation();
        wrong_aud.set_audience(&["someone-else"]);
        let right = DecodingKey::from_ed_components(&key.public_x()).expect("x");
        assert!(decode::<AccessClaims>(&token, &right, &wrong_aud).is_err());
    }

    #[test]
    fn reload_keeps_kid_and_public_key() {
        let key = SigningKeyPair::generate();
        let again = SigningKeyPair::from_private_bytes(&key.private_bytes()).expect("reload");
        assert_eq!(again.kid(), key.kid());
        assert_eq!(again.public_x(), key.public_x());
        assert_eq!(key.kid().len(), 16);
        assert_eq!(key.public_x().len(), 43);
        assert!(matches!(SigningKeyPair::from_private_bytes(&[0; 31]), Err(SigningError::InvalidKey(31))));
        assert!(!format!("{key:?}").contains(&hex::encode(key.private_bytes())));
    }

    #[test]
    fn hand_built_der_parses_as_the_same_key() {
        // jsonwebtoken's rust_crypto backend loads the key exactly like this.
        let key = SigningKeyPair::generate();
        let parsed = SigningKey::from_pkcs8_der(&key.private_pkcs8_der()).expect("pkcs8");
        assert_eq!(parsed.to_bytes(), key.private_bytes());
    }
}
