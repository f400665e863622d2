use super::*;

fn row(status: &str) -> business_system::Model {
    let now = Utc::now();
    business_system::Model {
        id: "0190a000-0000-7000-8000-000000000001".to_owned(),
        business_code: "billing".to_owned(),
        business_name: "Billing".to_owned(),
        api_key: "bk_abc".to_owned(),
        api_secret_hash: "digest".to_owned(),
        signing_secret: "sealed".to_owned(),
        previous_signing_secret: Some("sealed-old".to_owned()),
        previous_secret_until: Some(now),
        rate_limit: 20,
        status: status.to_owned(),
        description: None,
        created_at: now,
        updated_at: now,
    }
}

#[test]
fn api_keys_are_prefixed_url_safe_and_distinct() {
    let key = new_api_key();
    assert_eq!(key.len(), API_KEY_PREFIX.len() + 24);
    assert!(key.starts_with(API_KEY_PREFIX));
    assert!(key[3..].chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{key}");
    assert_ne!(new_api_key(), key);
}

#[test]
fn issued_credentials_store_only_a_digest_and_a_sealed_secret() {
    let secrets = SecretBox::new(&[7u8; 32]).expect("key");
    let creds = Credentials::issue(&secrets);
    assert_eq!(creds.api_secret_hash, sha256_hex(creds.api_secret.as_bytes()));
    assert_ne!(creds.api_secret_hash, creds.api_secret);
    let whsec = creds.signing.to_whsec();
    assert!(!creds.sealed_signing.contains(&whsec));
    let opened = secrets.decrypt(&creds.sealed_signing).expect("opens");
    assert_eq!(opened, whsec.as_bytes());
}

#[tokio::test]
async fn replicas_starting_together_share_one_platform_system() {
    let test_db = wework_kit::testing::fresh_database("task").await;
    let db = wework_kit::db::connect_and_migrate::<task_migration::Migrator>(&test_db.settings).await.expect("db");
    let secrets = SecretBox::new(&[9u8; 32]).expect("key");
    let now = Utc::now();
    let (a, b) = tokio::join!(ensure_platform_system(&db, &secrets, now), ensure_platform_system(&db, &secrets, now));
    let (a, b) = (a.expect("first replica"), b.expect("second replica"));
    assert_eq!(a.id, b.id);
    assert_eq!(a.business_code, PLATFORM_BUSINESS_CODE);
    assert_eq!(a.status, store::status::ACTIVE);
    let again = ensure_platform_system(&db, &secrets, now).await.expect("restart");
    assert_eq!(again.id, a.id);
    let (all, _) = store::list_business_systems(db.reader(), None, None, 10).await.expect("list");
    assert_eq!(all.len(), 1);
}

#[test]
fn audit_snapshot_keeps_no_secret_digest_or_key() {
    let snapshot = audit_snapshot(&row("active"));
    assert_eq!(snapshot["business_code"], "billing");
    assert_eq!(snapshot["rate_limit"], 20);
    assert!(snapshot["rotation_overlap_until"].is_string());
    let shown = snapshot.to_string();
    for secret in ["digest", "sealed", "bk_abc"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
fn proto_view_maps_status_and_hides_secrets() {
    let active = business_to_proto(&row("active"));
    assert_eq!(active.status, i32::from(pb::BusinessStatus::Active));
    assert_eq!(active.rate_limit, 20);
    assert_eq!(active.description, "");
    assert!(active.previous_secret_until.is_some());
    let shown = format!("{active:?}");
    assert!(!shown.contains("digest") && !shown.contains("sealed"), "{shown}");
    assert_eq!(business_to_proto(&row("disabled")).status, i32::from(pb::BusinessStatus::Disabled));
    assert_eq!(business_to_proto(&row("bogus")).status, i32::from(pb::BusinessStatus::Unspecified));
}
