//! Token verification end to end with locally generated keys: what a caller
//! sees for good, expired, forged and malformed tokens. Time is a ManualClock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use secrecy::SecretString;
use tonic::Code;
use wework_kit::auth::claims::{AccessClaims, INTERNAL_ISSUER};
use wework_kit::auth::{AuthError, Authenticator, KeySource, PrincipalKind, PublicJwk, ServiceTokenMinter};
use wework_kit::clock::ManualClock;
use wework_kit::grpc_client::BearerSource;
use wework_kit::settings::AuthSettings;

/// Stands in for the user service's JWKS endpoint; counts fetches.
#[derive(Default)]
struct FakeKeys {
    keys: Mutex<Vec<PublicJwk>>,
    fetches: AtomicUsize,
    down: Mutex<bool>,
}

#[async_trait]
impl KeySource for FakeKeys {
    async fn signing_keys(&self) -> Result<Vec<PublicJwk>, AuthError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        if *self.down.lock().expect("lock") {
            return Err(AuthError::KeySource("down".into()));
        }
        Ok(self.keys.lock().expect("lock").clone())
    }
}

struct Signer {
    kid: String,
    key: SigningKey,
}

impl Signer {
    fn generate(kid: &str) -> Self {
        Self { kid: kid.to_owned(), key: SigningKey::generate(&mut rand::rngs::OsRng) }
    }

    fn jwk(&self) -> PublicJwk {
        PublicJwk { kid: self.kid.clone(), x: URL_SAFE_NO_PAD.encode(self.key.verifying_key().to_bytes()) }
    }

    /// How the user service signs: PKCS#8 DER into `EncodingKey::from_ed_der`.
    fn sign(&self, claims: &AccessClaims) -> String {
        let der = self.key.to_pkcs8_der().expect("pkcs8");
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &EncodingKey::from_ed_der(der.as_bytes())).expect("signs")
    }
}

struct Fixture {
    clock: ManualClock,
    keys: Arc<FakeKeys>,
    auth: Authenticator,
    signer: Signer,
    secret: SecretString,
}

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).expect("valid")
}

fn fixture() -> Fixture {
    let clock = ManualClock::new(start());
    let signer = Signer::generate("k1");
    let keys = Arc::new(FakeKeys::default());
    keys.keys.lock().expect("lock").push(signer.jwk());
    let secret = SecretString::from("internal-test-secret".to_owned());
    let auth = Authenticator::new(&AuthSettings::default(), &secret, keys.clone(), clock.shared());
    Fixture { clock, keys, auth, signer, secret }
}

fn claims() -> AccessClaims {
    let iat = start().timestamp();
    AccessClaims {
        iss: "wework-user".into(),
        aud: "wework".into(),
        sub: "user-1".into(),
        tid: "tenant-1".into(),
        sid: "session-1".into(),
        roles: vec!["admin".into()],
        perms: vec!["user:*".into()],
        jti: "j1".into(),
        iat,
        exp: iat + 900,
    }
}

fn request(authorization: &str) -> tonic::Request<()> {
    let mut req = tonic::Request::new(());
    req.metadata_mut().insert("authorization", authorization.parse().expect("ascii"));
    req
}

async fn code_of(f: &Fixture, token: &str) -> Code {
    match f.auth.authenticate(&request(&format!("Bearer {token}"))).await {
        Ok(_) => Code::Ok,
        Err(status) => {
            assert!(!status.message().contains(token) || token.is_empty(), "token echoed");
            status.code()
        }
    }
}

#[tokio::test]
async fn a_user_token_verifies_into_a_user_principal() {
    let f = fixture();
    let token = f.signer.sign(&claims());
    let p = f.auth.authenticate(&request(&format!("Bearer {token}"))).await.expect("valid token");
    assert_eq!(p.kind, PrincipalKind::User);
    assert_eq!((p.tenant_id.as_str(), p.user_id.as_deref()), ("tenant-1", Some("user-1")));
    assert_eq!(p.session_id.as_deref(), Some("session-1"));
    assert!(p.can("user:create") && !p.can("role:create"));
    assert_eq!(f.keys.fetches.load(Ordering::SeqCst), 1);
    // Cached: no refetch for the next token.
    f.auth.authenticate_token(&token).await.expect("still valid");
    assert_eq!(f.keys.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unknown_kid_refetches_once_and_garbage_kids_are_rate_limited() {
    let f = fixture();
    f.auth.authenticate_token(&f.signer.sign(&claims())).await.expect("k1 valid");
    let rotated = Signer::generate("k2");
    f.keys.keys.lock().expect("lock").push(rotated.jwk());
    // Refetches are at most one per 5 s; rotation happens long after the last fetch.
    f.clock.advance(chrono::Duration::seconds(6));
    f.auth.authenticate_token(&rotated.sign(&claims())).await.expect("k2 found by refetch");
    assert_eq!(f.keys.fetches.load(Ordering::SeqCst), 2);

    let stranger = Signer::generate("nope");
    assert_eq!(code_of(&f, &stranger.sign(&claims())).await, Code::Unauthenticated);
    assert_eq!(code_of(&f, &stranger.sign(&claims())).await, Code::Unauthenticated);
    assert_eq!(f.keys.fetches.load(Ordering::SeqCst), 2, "refetch is rate-limited");
    f.clock.advance(chrono::Duration::seconds(6));
    assert_eq!(code_of(&f, &stranger.sign(&claims())).await, Code::Unauthenticated);
    assert_eq!(f.keys.fetches.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn expired_tokens_are_refused_by_the_injected_clock() {
    let f = fixture();
    let token = f.signer.sign(&claims());
    f.clock.advance(chrono::Duration::seconds(900 + 20));
    assert_eq!(code_of(&f, &token).await, Code::Ok, "within leeway");
    f.clock.advance(chrono::Duration::seconds(15));
    assert_eq!(code_of(&f, &token).await, Code::Unauthenticated);
}

#[tokio::test]
async fn forged_and_malformed_tokens_are_unauthenticated() {
    let f = fixture();
    let wrong_aud = f.signer.sign(&AccessClaims { aud: "elsewhere".into(), ..claims() });
    let wrong_iss = f.signer.sign(&AccessClaims { iss: INTERNAL_ISSUER.into(), ..claims() });
    let good = f.signer.sign(&claims());
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let forged_payload = AccessClaims { tid: "tenant-2".into(), ..claims() };
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged_payload).expect("json"));
    let tampered = parts.join(".");
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
    let alg_none = format!("{none_header}.{}.", parts[1]);
    // Algorithm confusion: the public key used as an HMAC secret.
    let x = f.signer.jwk().x;
    let confused =
        encode(&Header::new(Algorithm::HS256), &claims(), &EncodingKey::from_secret(x.as_bytes())).expect("signs");

    for (name, token) in [
        ("wrong audience", wrong_aud),
        ("wrong issuer", wrong_iss),
        ("tampered", tampered),
        ("alg none", alg_none),
        ("hs256 with public key", confused),
        ("garbage", "not-a-jwt".to_owned()),
        ("three dots", "a.b.c".to_owned()),
    ] {
        assert_eq!(code_of(&f, &token).await, Code::Unauthenticated, "{name}");
    }
    for header in ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz"] {
        let req = if header.is_empty() { tonic::Request::new(()) } else { request(header) };
        let status = f.auth.authenticate(&req).await.expect_err(header);
        assert_eq!(status.code(), Code::Unauthenticated, "{header:?}");
    }
}

#[tokio::test]
async fn service_tokens_round_trip_and_foreign_secrets_fail() {
    let f = fixture();
    let minter =
        ServiceTokenMinter::with_clock("message-service", &f.secret, Duration::from_secs(300), f.clock.shared());
    let token = minter.bearer().expect("token");
    let p = f.auth.authenticate_token(&token).await.expect("service token valid");
    assert!(p.is_service() && p.can("anything:write") && p.can_access_tenant("t-any"));
    assert_eq!(p.service.as_deref(), Some("message-service"));

    let stranger = ServiceTokenMinter::with_clock(
        "evil",
        &SecretString::from("other".to_owned()),
        Duration::from_secs(300),
        f.clock.shared(),
    );
    assert_eq!(code_of(&f, &stranger.mint()).await, Code::Unauthenticated);

    f.clock.advance(chrono::Duration::seconds(400));
    assert_eq!(code_of(&f, &token).await, Code::Unauthenticated, "expired service token");
}

#[tokio::test]
async fn service_token_is_reused_until_a_third_of_its_life_remains() {
    let f = fixture();
    let minter = ServiceTokenMinter::with_clock("svc", &f.secret, Duration::from_secs(300), f.clock.shared());
    let first = minter.mint();
    f.clock.advance(chrono::Duration::seconds(150));
    assert_eq!(minter.mint(), first);
    f.clock.advance(chrono::Duration::seconds(60));
    let second = minter.mint();
    assert_ne!(second, first);
    assert_eq!(code_of(&f, &second).await, Code::Ok);
}

#[tokio::test]
async fn api_key_tokens_carry_tenant_user_and_permissions() {
    let f = fixture();
    let gateway = ServiceTokenMinter::with_clock("gateway", &f.secret, Duration::from_secs(300), f.clock.shared());
    let perms = vec!["message:send".to_owned()];
    let token = gateway.mint_for_api_key("tenant-7", "user-3", "key-9", &perms, Duration::from_secs(60));
    let p = f.auth.authenticate_token(&token).await.expect("valid");
    assert_eq!(p.kind, PrincipalKind::ApiKey);
    assert_eq!(
        (p.tenant_id.as_str(), p.user_id.as_deref(), p.api_key_id.as_deref()),
        ("tenant-7", Some("user-3"), Some("key-9"))
    );
    assert!(p.can("message:send") && !p.can("user:create") && !p.can_access_tenant("tenant-8"));
    let no_tenant = gateway.mint_for_api_key("", "user-3", "key-9", &perms, Duration::from_secs(60));
    assert_eq!(code_of(&f, &no_tenant).await, Code::Unauthenticated);
}

#[tokio::test]
async fn unreachable_key_source_is_unavailable_not_unauthenticated() {
    let f = fixture();
    *f.keys.down.lock().expect("lock") = true;
    assert_eq!(code_of(&f, &f.signer.sign(&claims())).await, Code::Unavailable);
}
