//! Standard Webhooks signatures (<https://www.standardwebhooks.com>, the scheme Svix uses), so
//! receivers verify our callbacks with any off-the-shelf Standard Webhooks library.
//!
//! Contract: the signed content is `"{webhook-id}.{webhook-timestamp}.{body}"`; the
//! `webhook-signature` header holds one `v1,<base64 HMAC-SHA256>` per secret, space-separated,
//! current secret first, so receivers on either side of a rotation accept the message. Secrets
//! travel as `whsec_<base64>`, never appear in `Debug` output, and are zeroised on drop.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The prefix Standard Webhooks libraries expect on a secret.
pub const WHSEC_PREFIX: &str = "whsec_";
/// Bytes in a secret we generate.
pub const GENERATED_LEN: usize = 32;
/// Accepted secret lengths: Svix issues 24-byte secrets; the upper bound is one SHA-256 block,
/// past which HMAC would hash the key anyway (and `mac` relies on it).
pub const ACCEPTED_LEN: std::ops::RangeInclusive<usize> = 24..=64;

const VERSION_PREFIX: &str = "v1,";

/// A webhook signing key.
#[derive(Clone)]
pub struct SigningSecret(SecretSlice<u8>);

/// Why a `whsec_…` string or a stored key is not a usable secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("signing secret must start with \"{WHSEC_PREFIX}\"")]
    MissingPrefix,
    #[error("signing secret is not valid base64")]
    NotBase64,
    #[error("signing secret must be 24 to 64 bytes, got {0}")]
    BadLength(usize),
}

impl SigningSecret {
    /// A fresh random secret for a new endpoint or a rotation.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; GENERATED_LEN];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes.into())
    }

    /// A secret from raw key bytes (e.g. decrypted from storage).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SecretError> {
        if !ACCEPTED_LEN.contains(&bytes.len()) {
            return Err(SecretError::BadLength(bytes.len()));
        }
        Ok(Self(bytes.to_vec().into()))
    }

    /// Parses `whsec_<base64>`, the form tenants copy into their receivers.
    pub fn parse_whsec(text: &str) -> Result<Self, SecretError> {
        let encoded = text.trim().strip_prefix(WHSEC_PREFIX).ok_or(SecretError::MissingPrefix)?;
        let bytes = SecretSlice::from(STANDARD.decode(encoded).map_err(|_| SecretError::NotBase64)?);
        Self::from_bytes(bytes.expose_secret())
    }

    pub fn to_whsec(&self) -> String {
        format!("{WHSEC_PREFIX}{}", STANDARD.encode(self.expose_bytes()))
    }

    /// The raw key, for encryption at rest; never log it.
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }

    fn mac(&self, msg_id: &str, timestamp_secs: i64, body: &[u8]) -> [u8; 32] {
        // HMAC zero-pads keys up to the hash block (64 bytes for SHA-256), and secrets are at most
        // 64 bytes, so padding here is exactly HMAC and needs no fallible `new_from_slice`.
        let mut key = [0u8; 64];
        let bytes = self.expose_bytes();
        key[..bytes.len()].copy_from_slice(bytes);
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&key.into());
        key.zeroize();
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp_secs.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret([REDACTED])")
    }
}

/// The `webhook-signature` header value: one `v1,` signature per secret, in the given order.
pub fn sign(secrets: &[&SigningSecret], msg_id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|secret| format!("{VERSION_PREFIX}{}", STANDARD.encode(secret.mac(msg_id, timestamp_secs, body))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a receiver does: true when any `v1` signature in `header` matches. Compares in constant
/// time. Timestamp freshness is the receiver's policy and is not checked here.
pub fn verify(secret: &SigningSecret, msg_id: &str, timestamp_secs: i64, body: &[u8], header: &str) -> bool {
    let expected = secret.mac(msg_id, timestamp_secs, body);
    header
        .split_whitespace()
        .filter_map(|sig| sig.strip_prefix(VERSION_PREFIX))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .any(|candidate| bool::from(candidate.as_slice().ct_eq(&expected)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TS: i64 = 1_614_265_330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;

    fn independent(key: &[u8], content: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("hmac key");
        mac.update(content);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        let secret = SigningSecret::parse_whsec(SPEC_SECRET).expect("spec secret");
        let header = sign(&[&secret], SPEC_ID, SPEC_TS, SPEC_BODY);
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify(&secret, SPEC_ID, SPEC_TS, SPEC_BODY, &header));
    }

    #[test]
    fn matches_an_independent_hmac_over_id_timestamp_and_body() {
        let secret = SigningSecret::generate();
        let body = "{\"event\":\"approval.done\",\"note\":\"\u{4e2d}\u{6587}\"}".as_bytes();
        let mut content = b"msg_1.1700000000.".to_vec();
        content.extend_from_slice(body);
        let key = STANDARD.decode(secret.to_whsec().trim_start_matches("whsec_")).expect("base64");
        assert_eq!(sign(&[&secret], "msg_1", 1_700_000_000, body), independent(&key, &content));
    }

    #[test]
    fn rotation_signs_with_current_then_previous_and_both_verify() {
        let current = SigningSecret::generate();
        let previous = SigningSecret::generate();
        let header = sign(&[&current, &previous], "msg_2", 42, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], sign(&[&current], "msg_2", 42, b"{}"));
        assert_eq!(parts[1], sign(&[&previous], "msg_2", 42, b"{}"));
        assert!(verify(&current, "msg_2", 42, b"{}", &header));
        assert!(verify(&previous, "msg_2", 42, b"{}", &header));
        assert!(!verify(&SigningSecret::generate(), "msg_2", 42, b"{}", &header));
        assert_eq!(sign(&[], "msg_2", 42, b"{}"), "");
    }

    #[test]
    fn tampering_with_body_id_or_timestamp_fails_verification() {
        let secret = SigningSecret::generate();
        let header = sign(&[&secret], "msg_3", 100, b"{\"amount\":1}");
        assert!(verify(&secret, "msg_3", 100, b"{\"amount\":1}", &header));
        assert!(!verify(&secret, "msg_3", 100, b"{\"amount\":9}", &header));
        assert!(!verify(&secret, "msg_4", 100, b"{\"amount\":1}", &header));
        assert!(!verify(&secret, "msg_3", 101, b"{\"amount\":1}", &header));
        assert!(!verify(&secret, "msg_3", 100, b"{\"amount\":1}", "v1,not-base64 v2,abc"));
        assert!(!verify(&secret, "msg_3", 100, b"{\"amount\":1}", &header.replace("v1,", "v2,")));
    }

    #[test]
    fn whsec_round_trips_and_rejects_bad_input() {
        let secret = SigningSecret::generate();
        assert_eq!(secret.expose_bytes().len(), GENERATED_LEN);
        let text = secret.to_whsec();
        assert!(text.starts_with("whsec_"));
        let parsed = SigningSecret::parse_whsec(&text).expect("round trip");
        assert_eq!(parsed.expose_bytes(), secret.expose_bytes());
        assert_ne!(SigningSecret::generate().expose_bytes(), secret.expose_bytes());

        assert_eq!(
            SigningSecret::parse_whsec("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").err(),
            Some(SecretError::MissingPrefix)
        );
        assert_eq!(SigningSecret::parse_whsec("whsec_***").err(), Some(SecretError::NotBase64));
        let short = format!("whsec_{}", STANDARD.encode([7u8; 23]));
        assert_eq!(SigningSecret::parse_whsec(&short).err(), Some(SecretError::BadLength(23)));
        let long = format!("whsec_{}", STANDARD.encode([7u8; 65]));
        assert_eq!(SigningSecret::parse_whsec(&long).err(), Some(SecretError::BadLength(65)));
        assert!(SigningSecret::parse_whsec(&format!("whsec_{}", STANDARD.encode([7u8; 64]))).is_ok());
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let secret = SigningSecret::parse_whsec(SPEC_SECRET).expect("spec secret");
        let shown = format!("{secret:?}");
        assert_eq!(shown, "SigningSecret([REDACTED])");
    }
}
