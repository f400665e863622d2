//! Tencent's published vectors, round trips, and every way a forged or
//! damaged callback is refused.

use super::*;

const TOKEN: &str = "QDG6eK";
const RECEIVE_ID: &str = "wx5823bf96d3bd56c7";
const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

const URL_SIG: &str = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3";
const URL_TS: &str = "1409659589";
const URL_NONCE: &str = "263014780";
const URL_ECHOSTR: &str = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";

const MSG_SIG: &str = "477715d11cdb4164915debcba66cb864d751f3e6";
const MSG_TS: &str = "1409659813";
const MSG_NONCE: &str = "1372623149";
const MSG_ENCRYPT: &str = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";

fn tencent() -> WecomCrypto {
    WecomCrypto::new(TOKEN, AES_KEY, RECEIVE_ID).expect("Tencent's sample key is valid")
}

/// Encrypts block-aligned `plain` as is (no padding added), so a test can
/// forge any plaintext layout; returns the ciphertext and its valid signature.
fn forge(c: &WecomCrypto, plain: &[u8]) -> (String, String) {
    let mut buf = plain.to_vec();
    let n = buf.len();
    let out = Aes256CbcEnc::new(&c.key.into(), c.iv().into())
        .encrypt_padded_mut::<NoPadding>(&mut buf, n)
        .expect("block-aligned");
    let b64 = STANDARD.encode(out);
    let sig = c.signature("1", "n", &b64);
    (b64, sig)
}

/// `random + len + message + receive id`, then the given trailing bytes.
fn layout(len_field: u32, message: &[u8], receive_id: &str, tail: &[u8]) -> Vec<u8> {
    let mut v = vec![7u8; 16];
    v.extend_from_slice(&len_field.to_be_bytes());
    v.extend_from_slice(message);
    v.extend_from_slice(receive_id.as_bytes());
    v.extend_from_slice(tail);
    v
}

fn pkcs7_32(mut v: Vec<u8>) -> Vec<u8> {
    let pad = 32 - v.len() % 32;
    v.resize(v.len() + pad, pad as u8);
    v
}

#[test]
fn tencent_url_check_vector_verifies_and_decrypts_exactly() {
    let c = tencent();
    assert_eq!(c.signature(URL_TS, URL_NONCE, URL_ECHOSTR), URL_SIG);
    assert_eq!(c.verify_url(URL_SIG, URL_TS, URL_NONCE, URL_ECHOSTR), Ok("1616140317555161061".to_owned()));
}

#[test]
fn tencent_message_vector_verifies_and_decrypts() {
    let c = tencent();
    assert_eq!(c.signature(MSG_TS, MSG_NONCE, MSG_ENCRYPT), MSG_SIG);
    let xml = c.decrypt(MSG_SIG, MSG_TS, MSG_NONCE, MSG_ENCRYPT).expect("decrypts");
    assert!(xml.starts_with("<xml>"), "{xml}");
    for part in [
        "<ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>",
        "<FromUserName><![CDATA[mycreate]]></FromUserName>",
        "<CreateTime>1409659813</CreateTime>",
        "<MsgType><![CDATA[text]]></MsgType>",
        "<Content><![CDATA[hello]]></Content>",
        "<MsgId>4561255354251345929</MsgId>",
        "<AgentID>218</AgentID>",
    ] {
        assert!(xml.contains(part), "{part} missing from {xml}");
    }
}

#[test]
fn round_trip_uses_a_fresh_random_prefix() {
    let c = tencent();
    let long = "x".repeat(100_000);
    let msgs: [&str; 4] = ["", "hi", "<xml><Content><![CDATA[你好]]></Content></xml>", &long];
    for msg in msgs {
        let (a, sig_a) = c.encrypt(msg, "1700000000", "nonce").expect("encrypts");
        let (b, sig_b) = c.encrypt(msg, "1700000000", "nonce").expect("encrypts");
        assert_ne!(a, b, "two encryptions of one message must differ");
        assert_eq!(c.decrypt(&sig_a, "1700000000", "nonce", &a).as_deref(), Ok(msg));
        assert_eq!(c.decrypt(&sig_b, "1700000000", "nonce", &b).as_deref(), Ok(msg));
    }
}

#[test]
fn a_plaintext_filling_whole_blocks_gets_a_full_pad_block() {
    let c = tencent();
    // 16 + 4 + 12 + 18 (receive id) = 50; + 14 = 64: a multiple of 32.
    let msg = "a".repeat(26);
    let (enc, sig) = c.encrypt(&msg, "1", "n").expect("encrypts");
    assert_eq!(STANDARD.decode(&enc).expect("b64").len(), 64 + 32);
    assert_eq!(c.decrypt(&sig, "1", "n", &enc), Ok(msg));
}

#[test]
fn tampered_signature_or_ciphertext_is_refused() {
    let c = tencent();
    let mut sig = MSG_SIG.to_owned();
    sig.replace_range(0..1, "5");
    assert_eq!(c.decrypt(&sig, MSG_TS, MSG_NONCE, MSG_ENCRYPT), Err(WecomCryptoError::BadSignature));
    assert_eq!(c.decrypt("", MSG_TS, MSG_NONCE, MSG_ENCRYPT), Err(WecomCryptoError::BadSignature));
    assert_eq!(c.decrypt(MSG_SIG, "1409659814", MSG_NONCE, MSG_ENCRYPT), Err(WecomCryptoError::BadSignature));
    let tampered = MSG_ENCRYPT.replacen('R', "S", 1);
    assert_eq!(c.decrypt(MSG_SIG, MSG_TS, MSG_NONCE, &tampered), Err(WecomCryptoError::BadSignature));
    let other_token = WecomCrypto::new("other", AES_KEY, RECEIVE_ID).expect("key");
    assert_eq!(other_token.decrypt(MSG_SIG, MSG_TS, MSG_NONCE, MSG_ENCRYPT), Err(WecomCryptoError::BadSignature));
}

#[test]
fn bad_padding_is_refused() {
    let c = tencent();
    let body = layout(2, b"hi", RECEIVE_ID, &[]);
    // 40 bytes: pad to 64 would be 24 × 24; forge the last byte instead.
    for last in [0u8, 33, 255] {
        let mut plain = body.clone();
        plain.resize(63, 24);
        plain.push(last);
        let (enc, sig) = forge(&c, &plain);
        assert_eq!(c.decrypt(&sig, "1", "n", &enc), Err(WecomCryptoError::BadPadding), "last byte {last}");
    }
    // A pad value whose bytes are not all equal.
    let mut plain = body;
    plain.resize(62, 24);
    plain.extend_from_slice(&[23, 24]);
    let (enc, sig) = forge(&c, &plain);
    assert_eq!(c.decrypt(&sig, "1", "n", &enc), Err(WecomCryptoError::BadPadding));
}

#[test]
fn wrong_receive_id_is_refused() {
    let other = WecomCrypto::new(TOKEN, AES_KEY, "wwsomeoneelse").expect("key");
    assert_eq!(other.decrypt(MSG_SIG, MSG_TS, MSG_NONCE, MSG_ENCRYPT), Err(WecomCryptoError::WrongReceiveId));
    assert_eq!(other.verify_url(URL_SIG, URL_TS, URL_NONCE, URL_ECHOSTR), Err(WecomCryptoError::WrongReceiveId));
    // A length field that swallows the receive id leaves an empty one.
    let c = tencent();
    let plain = pkcs7_32(layout(20, b"hi", RECEIVE_ID, &[]));
    let (enc, sig) = forge(&c, &plain);
    assert_eq!(c.decrypt(&sig, "1", "n", &enc), Err(WecomCryptoError::WrongReceiveId));
}

#[test]
fn truncated_or_malformed_ciphertext_is_refused() {
    let c = tencent();
    let bytes = STANDARD.decode(MSG_ENCRYPT).expect("b64");
    // Cut mid-block: not a whole number of AES blocks.
    let cut = STANDARD.encode(&bytes[..bytes.len() - 8]);
    assert_eq!(c.decrypt(&c.signature("1", "n", &cut), "1", "n", &cut), Err(WecomCryptoError::BadLength));
    // Cut to nothing.
    assert_eq!(c.decrypt(&c.signature("1", "n", ""), "1", "n", ""), Err(WecomCryptoError::BadLength));
    // Cut a whole block: the new last block decrypts to garbage padding.
    let cut = STANDARD.encode(&bytes[..bytes.len() - 16]);
    assert_eq!(c.decrypt(&c.signature("1", "n", &cut), "1", "n", &cut), Err(WecomCryptoError::BadPadding));
    // Not base64 at all, though correctly signed.
    let junk = "not*base64";
    assert_eq!(c.decrypt(&c.signature("1", "n", junk), "1", "n", junk), Err(WecomCryptoError::BadBase64));
}

#[test]
fn length_field_out_of_bounds_is_refused() {
    let c = tencent();
    for len in [1_000u32, u32::MAX] {
        let plain = pkcs7_32(layout(len, b"hi", RECEIVE_ID, &[]));
        let (enc, sig) = forge(&c, &plain);
        assert_eq!(c.decrypt(&sig, "1", "n", &enc), Err(WecomCryptoError::BadLength), "len {len}");
    }
    // Shorter than the random prefix and the length field.
    let plain = pkcs7_32(vec![1u8; 10]);
    let (enc, sig) = forge(&c, &plain);
    assert_eq!(c.decrypt(&sig, "1", "n", &enc), Err(WecomCryptoError::BadLength));
}

#[test]
fn non_utf8_message_is_refused() {
    let c = tencent();
    let plain = pkcs7_32(layout(2, &[0xff, 0xfe], RECEIVE_ID, &[]));
    let (enc, sig) = forge(&c, &plain);
    assert_eq!(c.decrypt(&sig, "1", "n", &enc), Err(WecomCryptoError::NotUtf8));
}

#[test]
fn malformed_keys_are_refused() {
    let (longer, bang, multibyte) =
        (format!("{AES_KEY}A"), format!("{}!", &AES_KEY[..42]), format!("{}a", "é".repeat(21)));
    let keys: [&str; 5] = ["", &AES_KEY[..42], &longer, &bang, &multibyte];
    for key in keys {
        assert_eq!(WecomCrypto::new(TOKEN, key, RECEIVE_ID).err(), Some(WecomCryptoError::BadKey), "{key}");
    }
}

#[test]
fn debug_output_hides_the_secrets() {
    let shown = format!("{:?}", tencent());
    assert!(shown.contains(RECEIVE_ID));
    assert!(!shown.contains(TOKEN) && !shown.contains("key:"), "{shown}");
}
