//! Opaque credentials: refresh tokens and API keys.
//!
//! Contract: each credential carries 256 random bits and a public locator
//! (the session id, the key prefix) so that lookup is by an indexed column,
//! never by scanning hashes. Only the SHA-256 hex of the whole credential is
//! stored — the raw value is shown to its owner once. A fast hash is right
//! here (unlike passwords) because the secret is random, not guessable.
//! Formats:
//! - refresh token: `rt_<session uuid>_<43 chars base64url>`
//! - API key: `wwk_<12 chars [a-z0-9]>_<43 chars base64url>`

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{Rng, RngCore};
use uuid::Uuid;

const REFRESH_PREFIX: &str = "rt_";
const API_KEY_PREFIX: &str = "wwk_";
/// base64url of 32 bytes, without padding.
const SECRET_LEN: usize = 43;
/// Length of an API key's public prefix.
pub const API_KEY_PREFIX_LEN: usize = 12;

fn sha256_hex(value: &str) -> String {
    wework_kit::crypto::sha256_hex(value.as_bytes())
}

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn is_secret(s: &str) -> bool {
    s.len() == SECRET_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Mints a refresh token for a session: returns the token (handed to the
/// client once) and its hash (stored in the session row).
pub fn new_refresh_token(session_id: &str) -> (String, String) {
    let token = format!("{REFRESH_PREFIX}{session_id}_{}", random_secret());
    let hash = sha256_hex(&token);
    (token, hash)
}

/// Splits a presented refresh token into the session id to look up and the
/// hash to compare with the stored one. `None` for anything not shaped like
/// one of ours, so garbage never reaches the database.
pub fn parse_refresh_token(token: &str) -> Option<(String, String)> {
    let rest = token.strip_prefix(REFRESH_PREFIX)?;
    let (sid, secret) = (rest.get(..36)?, rest.get(36..)?);
    let secret = secret.strip_prefix('_')?;
    let uuid = Uuid::try_parse(sid).ok()?;
    // Only the canonical spelling, so the id matches the stored one byte for byte.
    if uuid.hyphenated().to_string() != sid || !is_secret(secret) {
        return None;
    }
    Some((sid.to_owned(), sha256_hex(token)))
}

/// A freshly minted API key. `full_key` is shown to the caller exactly once;
/// `prefix` and `hash` are stored. `Debug` hides the key so it cannot leak
/// into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct NewApiKeyCredential {
    pub full_key: String,
    pub prefix: String,
    pub hash: String,
}

impl fmt::Debug for NewApiKeyCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewApiKeyCredential")
            .field("full_key", &"[redacted]")
            .field("prefix", &self.prefix)
            .field("hash", &self.hash)
            .finish()
    }
}

/// Mints an API key. The prefix is random too, so it identifies the key
/// publicly (listings, logs) without revealing anything about the secret.
pub fn new_api_key() -> NewApiKeyCredential {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rngs::OsRng;
    let prefix: String =
        (0..API_KEY_PREFIX_LEN).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect();
    let full_key = format!("{API_KEY_PREFIX}{prefix}_{}", random_secret());
    let hash = sha256_hex(&full_key);
    NewApiKeyCredential { full_key, prefix, hash }
}

/// Splits a presented API key into its prefix (to look up) and hash (to
/// compare). `None` for anything not shaped like one of ours.
pub fn parse_api_key(key: &str) -> Option<(String, String)> {
    let rest = key.strip_prefix(API_KEY_PREFIX)?;
    let (prefix, secret) = (rest.get(..API_KEY_PREFIX_LEN)?, rest.get(API_KEY_PREFIX_LEN..)?);
    let secret = secret.strip_prefix('_')?;
    if !prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) || !is_secret(secret) {
        return None;
    }
    Some((prefix.to_owned(), sha256_hex(key)))
}

/// Hash of an access token (JWT) for the session row, so a session can be
/// matched to its current access token without storing the token itself.
pub fn hash_access_token(token: &str) -> String {
    sha256_hex(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "01890a5d-ac96-774b-bcce-b302099a8057";

    #[test]
    fn refresh_token_round_trip() {
        let (token, hash) = new_refresh_token(SID);
        assert!(token.starts_with("rt_01890a5d-"));
        assert_eq!(token.len(), 3 + 36 + 1 + 43);
        assert_eq!(hash.len(), 64);
        assert_eq!(parse_refresh_token(&token), Some((SID.to_owned(), hash.clone())));
        let (other, other_hash) = new_refresh_token(SID);
        assert_ne!(token, other);
        assert_ne!(hash, other_hash);
    }

    #[test]
    fn refresh_token_rejects_garbage() {
        let (token, _) = new_refresh_token(SID);
        let upper = token.replacen("01890a5d-ac96", "01890A5D-AC96", 1);
        for bad in [
            "",
            "rt_",
            "garbage",
            &token[..token.len() - 1],
            &format!("{token}x"),
            &token.replacen("rt_", "rx_", 1),
            &upper,
            &format!("rt_{SID}_{}", "!".repeat(43)),
            "rt_not-a-uuid-not-a-uuid-not-a-uuid-x_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            &format!("rt_{SID}é{}", "a".repeat(42)),
        ] {
            assert_eq!(parse_refresh_token(bad), None, "{bad}");
        }
    }

    #[test]
    fn api_key_round_trip() {
        let key = new_api_key();
        assert!(key.full_key.starts_with(&format!("wwk_{}_", key.prefix)));
        assert_eq!(key.full_key.len(), 4 + 12 + 1 + 43);
        assert!(key.prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        assert_eq!(parse_api_key(&key.full_key), Some((key.prefix.clone(), key.hash.clone())));
        assert!(!format!("{key:?}").contains(&key.full_key), "Debug hides the key");
        assert_ne!(new_api_key().prefix, key.prefix);
    }

    #[test]
    fn api_key_rejects_garbage() {
        let key = new_api_key();
        let secret = &key.full_key[17..];
        for bad in [
            "",
            "wwk_",
            &key.full_key[..key.full_key.len() - 1],
            &format!("wwk_ABCDEFGHIJKL_{secret}"),
            &format!("wwk_abc_{secret}"),
            &key.full_key.replacen("wwk_", "wwx_", 1),
            &format!("{}x", key.full_key),
        ] {
            assert_eq!(parse_api_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn access_token_hash_is_sha256_hex() {
        assert_eq!(hash_access_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
