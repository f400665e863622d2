//! WeCom's WXBizMsgCrypt: the signature and encryption of official WeCom
//! callbacks (URL verification and message bodies).
//!
//! Contract, as Tencent's reference libraries implement it:
//! - signature = lowercase hex SHA-1 of token, timestamp, nonce and the
//!   base64 ciphertext, sorted byte-wise and concatenated; compared in
//!   constant time, and checked before anything is decrypted;
//! - key = base64(EncodingAESKey + "="), 32 bytes (the 43-character key's
//!   last symbol carries 2 unused bits, which Tencent's keys do not zero, so
//!   they are ignored); IV = the key's first 16 bytes; AES-256-CBC;
//! - plaintext = 16 random bytes + 4-byte big-endian message length +
//!   message + receive id (corp id or suite id), PKCS#7-padded to 32 bytes.
//!
//! Every check on input returns a [`WecomCryptoError`]; nothing panics on
//! what a caller sends. The padding is checked only after the signature
//! passed, so a forger without the token gets no padding oracle.

use std::fmt;

use aes::Aes256;
use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use rand::RngCore;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// Length of an EncodingAESKey as WeCom issues it.
pub const ENCODING_AES_KEY_LEN: usize = 43;
/// The PKCS#7 block WeCom pads to (not AES's 16).
const PAD_BLOCK: usize = 32;
const RANDOM_PREFIX: usize = 16;
const LEN_FIELD: usize = 4;
const AES_BLOCK: usize = 16;

/// Decodes the key leniently: Tencent's EncodingAESKeys leave the trailing
/// bits of their last symbol set, which a strict decoder refuses.
const KEY_B64: GeneralPurpose =
    GeneralPurpose::new(&alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true));

/// Why a WeCom callback (or an app's key) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WecomCryptoError {
    #[error("msg_signature does not match")]
    BadSignature,
    #[error("EncodingAESKey must be {ENCODING_AES_KEY_LEN} base64 characters")]
    BadKey,
    #[error("ciphertext is not valid base64")]
    BadBase64,
    #[error("bad PKCS#7 padding")]
    BadPadding,
    #[error("ciphertext or message length out of bounds")]
    BadLength,
    #[error("message is addressed to another receive id")]
    WrongReceiveId,
    #[error("message is not UTF-8")]
    NotUtf8,
}

pub type Result<T> = std::result::Result<T, WecomCryptoError>;

type Aes256CbcDec = cbc::Decryptor<Aes256>;
type Aes256CbcEnc = cbc::Encryptor<Aes256>;

/// One WeCom app's callback crypto: its token, AES key and receive id.
/// Holds secrets, so `Debug` shows only the receive id.
#[derive(Clone)]
pub struct WecomCrypto {
    token: String,
    key: [u8; 32],
    receive_id: String,
}

impl fmt::Debug for WecomCrypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WecomCrypto").field("receive_id", &self.receive_id).finish_non_exhaustive()
    }
}

impl WecomCrypto {
    /// Refuses an EncodingAESKey that is not 43 base64 characters.
    pub fn new(token: &str, encoding_aes_key: &str, receive_id: &str) -> Result<Self> {
        if encoding_aes_key.len() != ENCODING_AES_KEY_LEN {
            return Err(WecomCryptoError::BadKey);
        }
        let bytes = KEY_B64.decode(format!("{encoding_aes_key}=")).map_err(|_| WecomCryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| WecomCryptoError::BadKey)?;
        Ok(Self { token: token.to_owned(), key, receive_id: receive_id.to_owned() })
    }

    pub fn receive_id(&self) -> &str {
        &self.receive_id
    }

    /// `msg_signature` of `encrypted` sent at `timestamp` with `nonce`.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypted: &str) -> String {
        let mut parts = [self.token.as_str(), timestamp, nonce, encrypted];
        parts.sort_unstable();
        let mut sha = Sha1::new();
        for p in parts {
            sha.update(p.as_bytes());
        }
        hex::encode(sha.finalize())
    }

    /// URL verification (`GET` with `echostr`): the decrypted echostr, to be
    /// answered exactly as returned.
    pub fn verify_url(&self, msg_signature: &str, timestamp: &str, nonce: &str, echostr: &str) -> Result<String> {
        self.decrypt(msg_signature, timestamp, nonce, echostr)
    }

    /// Checks the signature, then decrypts `encrypted_b64` (an `Encrypt`
    /// field or an echostr) to the message it carries.
    pub fn decrypt(&self, msg_signature: &str, timestamp: &str, nonce: &str, encrypted_b64: &str) -> Result<String> {
        let expected = self.signature(timestamp, nonce, encrypted_b64);
        if !bool::from(expected.as_bytes().ct_eq(msg_signature.trim().as_bytes())) {
            return Err(WecomCryptoError::BadSignature);
        }
        let mut buf = STANDARD.decode(encrypted_b64.trim()).map_err(|_| WecomCryptoError::BadBase64)?;
        if buf.is_empty() || buf.len() % AES_BLOCK != 0 {
            return Err(WecomCryptoError::BadLength);
        }
        let plain = Aes256CbcDec::new(&self.key.into(), self.iv().into())
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(|_| WecomCryptoError::BadLength)?;
        let unpadded = unpad(plain)?;
        let (message, receive_id) = split_plaintext(unpadded)?;
        if receive_id != self.receive_id.as_bytes() {
            return Err(WecomCryptoError::WrongReceiveId);
        }
        String::from_utf8(message.to_vec()).map_err(|_| WecomCryptoError::NotUtf8)
    }

    /// Encrypts `plaintext` (e.g. a passive reply's XML) with a fresh random
    /// prefix; returns the base64 ciphertext and its signature.
    pub fn encrypt(&self, plaintext: &str, timestamp: &str, nonce: &str) -> Result<(String, String)> {
        let mut prefix = [0u8; RANDOM_PREFIX];
        rand::rngs::OsRng.fill_bytes(&mut prefix);
        let encrypted = self.encrypt_with_prefix(&prefix, plaintext)?;
        let signature = self.signature(timestamp, nonce, &encrypted);
        Ok((encrypted, signature))
    }

    fn encrypt_with_prefix(&self, prefix: &[u8; RANDOM_PREFIX], plaintext: &str) -> Result<String> {
        let len = u32::try_from(plaintext.len()).map_err(|_| WecomCryptoError::BadLength)?;
        let mut buf = Vec::with_capacity(RANDOM_PREFIX + LEN_FIELD + plaintext.len() + self.receive_id.len() + 32);
        buf.extend_from_slice(prefix);
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(plaintext.as_bytes());
        buf.extend_from_slice(self.receive_id.as_bytes());
        let pad = PAD_BLOCK - buf.len() % PAD_BLOCK;
        // pad is 1..=32, so it fits a byte.
        buf.resize(buf.len() + pad, pad as u8);
        let n = buf.len();
        let cipher = Aes256CbcEnc::new(&self.key.into(), self.iv().into())
            .encrypt_padded_mut::<NoPadding>(&mut buf, n)
            .map_err(|_| WecomCryptoError::BadLength)?;
        Ok(STANDARD.encode(cipher))
    }

    fn iv(&self) -> &[u8; AES_BLOCK] {
        let (iv, _) = self.key.split_first_chunk::<AES_BLOCK>().unwrap_or_else(|| unreachable!("key is 32 bytes"));
        iv
    }
}

/// Strips WeCom's PKCS#7 padding to 32: the last byte is the pad length,
/// 1..=32, and every pad byte must equal it.
fn unpad(plain: &[u8]) -> Result<&[u8]> {
    let &last = plain.last().ok_or(WecomCryptoError::BadPadding)?;
    let pad = usize::from(last);
    if pad == 0 || pad > PAD_BLOCK || pad > plain.len() {
        return Err(WecomCryptoError::BadPadding);
    }
    let (body, padding) = plain.split_at(plain.len() - pad);
    if padding.iter().any(|&b| b != last) {
        return Err(WecomCryptoError::BadPadding);
    }
    Ok(body)
}

/// Splits `random(16) + len(4, BE) + message + receive id` into the message
/// and the receive id, checking the length field against what is there.
fn split_plaintext(plain: &[u8]) -> Result<(&[u8], &[u8])> {
    let rest = plain.get(RANDOM_PREFIX..).ok_or(WecomCryptoError::BadLength)?;
    let (len, rest) = rest.split_first_chunk::<LEN_FIELD>().ok_or(WecomCryptoError::BadLength)?;
    let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| WecomCryptoError::BadLength)?;
    if len > rest.len() {
        return Err(WecomCryptoError::BadLength);
    }
    Ok(rest.split_at(len))
}

#[cfg(test)]
#[path = "wecom_crypto_tests.rs"]
mod tests;
