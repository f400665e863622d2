//! Small, hard-to-misuse crypto helpers: digests, random tokens, constant-time
//! comparison, and [`SecretBox`] — authenticated encryption of secrets kept at
//! rest (WeCom app secrets, webhook signing keys) under one master key.
//!
//! Secrets never appear in `Debug` output or logs.

use std::fmt;
use std::io::{self, Write};
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::settings::AuthSettings;

/// Version tag of [`SecretBox`] ciphertexts, so the scheme can change later
/// without guessing what a stored value is.
const SEALED_PREFIX: &str = "v1.";
const NONCE_LEN: usize = 12;
const MASTER_KEY_FILE: &str = "master.key";
const MASTER_KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("could not load the key: {0}")]
    Io(#[from] io::Error),
    #[error("the master key must be {MASTER_KEY_LEN} bytes, base64")]
    InvalidKey,
    /// Not something [`SecretBox::encrypt`] produced.
    #[error("malformed ciphertext")]
    Malformed,
    /// Wrong key, or the ciphertext was altered.
    #[error("ciphertext failed authentication")]
    Decrypt,
}

/// Lowercase hex SHA-256, e.g. to store refresh tokens and API keys by digest.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `bytes` random bytes from the OS, base64url without padding (URL- and header-safe).
pub fn random_token(bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(bytes))
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    OsRng.fill_bytes(&mut buf);
    buf
}

/// Compares secrets without leaking, through timing, how long a prefix matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

/// Returns the explicit secret if given; else the one stored in
/// `<data_dir>/<file>`; else generates `bytes` random bytes, stores them
/// base64-encoded (mode 0600) and returns them. Processes that start together
/// agree on one value: the file is published atomically and never overwritten.
pub fn load_or_create_secret(
    explicit: Option<&SecretString>,
    data_dir: &Path,
    file: &str,
    bytes: usize,
) -> io::Result<SecretString> {
    if let Some(secret) = explicit {
        return Ok(secret.clone());
    }
    let path = data_dir.join(file);
    match read_secret_file(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        other => return other,
    }
    std::fs::create_dir_all(data_dir)?;
    let tmp = data_dir.join(format!(".{file}.{}.tmp", random_token(8)));
    write_private(&tmp, STANDARD.encode(random_bytes(bytes)).as_bytes())?;
    // hard_link fails if the target exists, so a concurrent creator's value wins
    // and both processes end up reading the same file.
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    read_secret_file(&path)
}

fn read_secret_file(path: &Path) -> io::Result<SecretString> {
    let text = std::fs::read_to_string(path)?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("{} is empty", path.display())));
    }
    Ok(SecretString::from(trimmed.to_owned()))
}

fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Decodes a base64 secret (standard or URL-safe alphabet, padding optional).
pub fn decode_secret(secret: &SecretString) -> Option<Vec<u8>> {
    let text = secret.expose_secret().trim();
    let unpadded = text.trim_end_matches('=');
    STANDARD
        .decode(text)
        .ok()
        .or_else(|| URL_SAFE_NO_PAD.decode(unpadded).ok())
        .or_else(|| base64::engine::general_purpose::STANDARD_NO_PAD.decode(unpadded).ok())
}

/// AES-256-GCM with a random 96-bit nonce per message. Output is
/// `v1.` + base64url(nonce ‖ ciphertext ‖ tag).
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(<redacted>)")
    }
}

impl SecretBox {
    /// From the 32 raw key bytes.
    pub fn new(key: &[u8]) -> Result<Self, CryptoError> {
        let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| CryptoError::InvalidKey)?;
        Ok(Self { cipher })
    }

    /// From a base64-encoded 32-byte key.
    pub fn from_secret(key: &SecretString) -> Result<Self, CryptoError> {
        let bytes = decode_secret(key).ok_or(CryptoError::InvalidKey)?;
        if bytes.len() != MASTER_KEY_LEN {
            return Err(CryptoError::InvalidKey);
        }
        Self::new(&bytes)
    }

    /// The master key from settings, or from (or generated into) `<data_dir>/master.key`.
    pub fn from_settings(settings: &AuthSettings) -> Result<Self, CryptoError> {
        let key =
            load_or_create_secret(settings.master_key.as_ref(), &settings.data_dir, MASTER_KEY_FILE, MASTER_KEY_LEN)?;
        Self::from_secret(&key)
    }

    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        // Encryption fails only for inputs beyond ~64 GiB, far past anything stored here.
        let sealed = self.cipher.encrypt(&Nonce::from(nonce), plaintext).unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    pub fn decrypt(&self, sealed: &str) -> Result<Vec<u8>, CryptoError> {
        let body = sealed.strip_prefix(SEALED_PREFIX).ok_or(CryptoError::Malformed)?;
        let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| CryptoError::Malformed)?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Malformed)?;
        self.cipher.decrypt(&Nonce::from(nonce), ciphertext).map_err(|_| CryptoError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_and_tokens_have_expected_shape() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let token = random_token(32);
        assert_eq!(token.len(), 43);
        assert_ne!(token, random_token(32));
        assert!(constant_time_eq(b"same", b"same"));
        assert!(!constant_time_eq(b"same", b"diff"));
        assert!(!constant_time_eq(b"short", b"longer"));
    }

    #[test]
    fn secret_box_round_trips_and_rejects_tampering() {
        let sb = SecretBox::new(&[7u8; 32]).expect("32-byte key");
        let sealed = sb.encrypt(b"app secret");
        assert!(sealed.starts_with("v1."));
        assert_ne!(sealed, sb.encrypt(b"app secret"), "nonce must be random");
        assert_eq!(sb.decrypt(&sealed).expect("decrypts"), b"app secret");

        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        assert!(matches!(sb.decrypt(&tampered), Err(CryptoError::Decrypt)));
        assert!(matches!(sb.decrypt("v2.abc"), Err(CryptoError::Malformed)));
        let other = SecretBox::new(&[8u8; 32]).expect("32-byte key");
        assert!(matches!(other.decrypt(&sealed), Err(CryptoError::Decrypt)));
        assert_eq!(format!("{sb:?}"), "SecretBox(<redacted>)");
    }

    #[test]
    fn secret_file_is_created_once_private_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("nested");
        let first = load_or_create_secret(None, &data, "s.secret", 32).expect("created");
        let second = load_or_create_secret(None, &data, "s.secret", 32).expect("read back");
        assert_eq!(first.expose_secret(), second.expose_secret());
        assert_eq!(decode_secret(&first).map(|b| b.len()), Some(32));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(data.join("s.secret")).expect("exists").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let explicit = SecretString::from("given".to_owned());
        let got = load_or_create_secret(Some(&explicit), &data, "s.secret", 32).expect("explicit");
        assert_eq!(got.expose_secret(), "given");
    }

    #[test]
    fn master_key_from_settings_is_generated_then_stable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = AuthSettings { data_dir: dir.path().to_path_buf(), ..AuthSettings::default() };
        let a = SecretBox::from_settings(&settings).expect("generated");
        let b = SecretBox::from_settings(&settings).expect("loaded");
        assert_eq!(b.decrypt(&a.encrypt(b"x")).expect("same key"), b"x");
        let bad = AuthSettings { master_key: Some(SecretString::from("c2hvcnQ=".to_owned())), ..settings };
        assert!(matches!(SecretBox::from_settings(&bad), Err(CryptoError::InvalidKey)));
    }
}
