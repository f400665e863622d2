//! Password policy and hashing.
//!
//! Contract: passwords are only ever held as [`SecretString`] and stored as
//! argon2id PHC strings with the OWASP parameters (m = 19 MiB, t = 2, p = 1).
//! Verification reads the parameters from the stored string, so raising them
//! later does not lock out existing users. [`dummy_verify`] costs the same as a
//! real check, so a login for an unknown user cannot be told apart by timing.

use std::sync::OnceLock;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};

use super::FieldError;

/// Shortest accepted password: length is what makes a password hard to guess.
pub const MIN_LEN: usize = 10;
/// Longest accepted password: bounds the hashing work an attacker can demand.
pub const MAX_LEN: usize = 128;

/// Hashing failed; the cause is internal (parameters, RNG), never the input.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordError(String);

/// Checks the password policy before a password is set. Takes the exposed
/// text because it only reads it, never keeps it. The error names the field
/// `password`; callers setting `new_password` rename it with
/// [`FieldError::in_field`]. The message never contains the password.
pub fn check_policy(pw: &str, username: &str) -> Result<(), FieldError> {
    const F: &str = "password";
    let len = pw.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return Err(FieldError::new(F, format!("must be {MIN_LEN} to {MAX_LEN} characters long")));
    }
    let mut chars = pw.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        return Err(FieldError::new(F, "must not repeat a single character"));
    }
    if pw.to_lowercase() == username.trim().to_lowercase() {
        return Err(FieldError::new(F, "must differ from the username"));
    }
    Ok(())
}

fn hasher() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| PasswordError(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with a fresh random salt into a PHC string for storage.
pub fn hash_password(password: &SecretString) -> Result<String, PasswordError> {
    let hash =
        hasher()?.hash_password(password.expose_secret().as_bytes()).map_err(|e| PasswordError(e.to_string()))?;
    Ok(hash.to_string())
}

/// Checks a candidate against a stored PHC string. A malformed stored hash
/// verifies nothing (false) rather than erroring, so a corrupt row can never
/// be logged into.
pub fn verify_password(phc: &str, candidate: &SecretString) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(argon) = hasher() else {
        return false;
    };
    argon.verify_password(candidate.expose_secret().as_bytes(), &parsed).is_ok()
}

/// Spends the time of one real verification against a fixed hash, for the
/// login path of a user that does not exist (or has no password), so that
/// response time does not reveal which usernames exist. The fixed hash is
/// computed once, on first use, with the same parameters as real hashes.
pub fn dummy_verify(candidate: &SecretString) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        let argon = hasher().ok()?;
        let hash = argon.hash_password_with_salt(b"no such user, no such password", b"wework-dummy-salt").ok()?;
        Some(hash.to_string())
    });
    if let Some(phc) = dummy {
        // The answer is always false for real traffic; only the time spent matters.
        let _ = verify_password(phc, candidate);
    }
}

/// Generates a password for the bootstrap super-admin, printed once at first
/// start: 20 letters and digits (~119 bits), easy to copy from a terminal.
pub fn generate_password() -> SecretString {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    loop {
        let pw: String = (0..20).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect();
        // Both letters and digits, so it reads as a password to any checker.
        if pw.chars().any(|c| c.is_ascii_digit()) && pw.chars().any(|c| c.is_ascii_alphabetic()) {
            return SecretString::from(pw);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> SecretString {
        SecretString::from(v.to_owned())
    }

    #[test]
    fn policy() {
        assert!(check_policy("correct horse", "alice").is_ok());
        assert!(check_policy(&"é".repeat(10), "alice").is_err(), "all the same char");
        assert!(check_policy("short", "alice").is_err());
        assert!(check_policy(&"ab".repeat(65), "alice").is_err(), "129 chars");
        assert!(check_policy(&"ab".repeat(64), "alice").is_ok(), "128 chars");
        let err = check_policy("Alice.Smith", "alice.smith").expect_err("same as username");
        assert_eq!(err.field, "password");
        assert!(!err.message.contains("Alice"), "message never echoes the password");
    }

    #[test]
    fn hash_then_verify() {
        let pw = s("correct horse battery");
        let phc = hash_password(&pw).expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password(&phc, &pw));
        assert!(!verify_password(&phc, &s("correct horse battery!")));
        assert_ne!(phc, hash_password(&pw).expect("hash"), "salted");
    }

    #[test]
    fn malformed_hash_verifies_nothing() {
        assert!(!verify_password("", &s("x")));
        assert!(!verify_password("$argon2id$garbage", &s("x")));
        dummy_verify(&s("anything at all"));
    }

    #[test]
    fn generated_passwords_pass_policy() {
        for _ in 0..20 {
            let pw = generate_password();
            assert_eq!(pw.expose_secret().len(), 20);
            assert!(pw.expose_secret().chars().all(|c| c.is_ascii_alphanumeric()));
            assert!(check_policy(pw.expose_secret(), "admin").is_ok());
        }
        assert_ne!(generate_password().expose_secret(), generate_password().expose_secret());
    }
}
