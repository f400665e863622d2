//! Time-based one-time passwords (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps)
//! for two-factor login, compatible with common authenticator apps.
//!
//! Contract: secrets travel as unpadded RFC 4648 base32 (what `otpauth://`
//! URIs carry). [`verify`] accepts the current step ±1 for clock drift and
//! returns the matched step; the caller stores it and passes it back as
//! `last_used_step`, so a code can never be used twice (replay).

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Length of a step, in seconds.
pub const STEP_SECS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Steps either side of now that are still accepted: phones drift.
const SKEW: i64 = 1;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Generates a new secret: 20 random bytes (the RFC's SHA-1 key size) as 32
/// base32 characters.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base32_encode(&bytes)
}

/// The `otpauth://` URI an authenticator app scans as a QR code. Label and
/// issuer are percent-encoded, so tenant or user names with spaces, colons or
/// non-ASCII characters stay unambiguous.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &str) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        account = percent_encode(account),
    )
}

/// Checks `code` against the secret at `now`. Returns the step it matched,
/// to be stored as the new `last_used_step`; `None` for a wrong or malformed
/// code, a bad secret, or a step at or before `last_used_step` (replay).
pub fn verify(secret_b32: &str, code: &str, now: DateTime<Utc>, last_used_step: Option<i64>) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secret = base32_decode(secret_b32)?;
    let current = now.timestamp().div_euclid(STEP_SECS);
    let mut matched = None;
    // Every candidate is computed and compared, so timing does not reveal
    // which step (if any) matched.
    for step in (current - SKEW)..=(current + SKEW) {
        let Ok(counter) = u64::try_from(step) else { continue };
        let expected = hotp(&secret, counter, DIGITS);
        let fresh = last_used_step.is_none_or(|last| step > last);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && fresh && matched.is_none() {
            matched = Some(step);
        }
    }
    matched
}

/// HOTP (RFC 4226) value of `counter`, zero-padded to `digits` (1..=9). Exposed
/// so the RFC test vectors (8 digits) can be checked directly.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    let digits = digits.clamp(1, 9);
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        // HMAC accepts keys of any length, so this branch is unreachable.
        return String::new();
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let word = [digest[offset], digest[offset + 1], digest[offset + 2], digest[offset + 3]];
    let binary = u32::from_be_bytes(word) & 0x7fff_ffff;
    let value = binary % 10_u32.pow(digits);
    format!("{value:0width$}", width = digits as usize)
}

/// RFC 4648 base32 without padding.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes base32 as people paste it: any case, spaces and `=` padding
/// ignored. `None` for any other character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| !matches!(c, b' ' | b'=')) {
        let value = BASE32.iter().position(|&a| a == c.to_ascii_uppercase())?;
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
        buffer &= (1 << bits) - 1;
    }
    if out.is_empty() { None } else { Some(out) }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The code an authenticator app shows at `now` — for tests and tooling that
/// play the user's side; `None` when the secret is not valid base32.
pub fn code_at(secret_b32: &str, now: DateTime<Utc>) -> Option<String> {
    let secret = base32_decode(secret_b32)?;
    let step = u64::try_from(now.timestamp().div_euclid(STEP_SECS)).ok()?;
    Some(hotp(&secret, step, DIGITS))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    fn at(ts: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(ts, 0).single().expect("valid timestamp")
    }

    #[test]
    fn rfc6238_sha1_vectors() {
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (t, code) in vectors {
            let counter = u64::try_from(t / STEP_SECS).expect("positive");
            assert_eq!(hotp(RFC_SECRET, counter, 8), code, "T={t}");
        }
    }

    #[test]
    fn base32_round_trip() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("mzxw6ytboi======"), Some(b"foobar".to_vec()));
        assert_eq!(base32_decode("GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"), Some(RFC_SECRET.to_vec()));
        assert_eq!(base32_decode("not base32!"), None);
        let secret = generate_secret();
        assert_eq!(secret.len(), 32);
        assert_eq!(base32_decode(&secret).map(|b| b.len()), Some(20));
    }

    #[test]
    fn verify_accepts_one_step_of_drift_and_rejects_replay() {
        let secret = base32_encode(RFC_SECRET);
        let now = at(1_111_111_111);
        let step = 1_111_111_111 / STEP_SECS;
        let code_at = |s: i64| hotp(RFC_SECRET, u64::try_from(s).expect("positive"), DIGITS);
        assert_eq!(verify(&secret, &code_at(step), now, None), Some(step));
        assert_eq!(verify(&secret, &code_at(step - 1), now, None), Some(step - 1));
        assert_eq!(verify(&secret, &code_at(step + 1), now, None), Some(step + 1));
        assert_eq!(verify(&secret, &code_at(step - 2), now, None), None);
        assert_eq!(verify(&secret, &code_at(step + 2), now, None), None);
        // Replay: the same or an older step is refused once used.
        assert_eq!(verify(&secret, &code_at(step), now, Some(step)), None);
        assert_eq!(verify(&secret, &code_at(step - 1), now, Some(step - 1)), None);
        assert_eq!(verify(&secret, &code_at(step + 1), now, Some(step)), Some(step + 1));
    }

    #[test]
    fn verify_rejects_malformed_input() {
        let secret = base32_encode(RFC_SECRET);
        let now = at(59);
        assert_eq!(verify(&secret, "12345", now, None), None);
        assert_eq!(verify(&secret, "abcdef", now, None), None);
        assert_eq!(verify("!!", "287082", now, None), None);
        assert_eq!(verify(&secret, " 287082 ", now, None), Some(1), "RFC T=59 code, 6 digits");
    }

    #[test]
    fn uri_is_percent_encoded() {
        let uri = otpauth_uri("WeWork Platform", "acme:alice@example.com", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri,
            "otpauth://totp/WeWork%20Platform:acme%3Aalice%40example.com?secret=JBSWY3DPEHPK3PXP\
             &issuer=WeWork%20Platform&algorithm=SHA1&digits=6&period=30"
        );
    }
}
