//! The Ed25519 keys that sign access tokens. Private keys are stored
//! encrypted with the master key, so every replica signs with the same key
//! and a restart keeps issued tokens valid. Rotation keeps the previous key
//! published until every token it signed has expired.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use tokio::sync::RwLock;
use wework_kit::auth::{AuthError, KeySource, PublicJwk};
use wework_kit::crypto::SecretBox;
use wework_kit::db::Db;

use crate::domain::signing::SigningKeyPair;
use crate::error::{Error, Result};
use crate::store;

pub struct KeyRing {
    db: Db,
    secrets: SecretBox,
    active: RwLock<Arc<SigningKeyPair>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Loads the active key, creating the first one on an empty database.
    pub async fn load(db: Db, secrets: SecretBox, now: DateTime<Utc>) -> Result<Self> {
        let key = match store::active_signing_key(db.writer()).await? {
            Some(row) => decode(&secrets, &row)?,
            None => {
                let key = SigningKeyPair::generate();
                insert_on(db.writer(), &secrets, &key, now).await?;
                key
            }
        };
        Ok(Self { db, secrets, active: RwLock::new(Arc::new(key)) })
    }

    /// The key new tokens are signed with.
    pub async fn active(&self) -> Arc<SigningKeyPair> {
        self.active.read().await.clone()
    }

    /// Starts signing with a fresh key; the old one stays published for
    /// `keep_old_for` (the access-token lifetime plus leeway).
    pub async fn rotate(&self, now: DateTime<Utc>, keep_old_for: Duration) -> Result<String> {
        let key = SigningKeyPair::generate();
        let txn = sea_orm::TransactionTrait::begin(self.db.writer()).await?;
        store::retire_active_keys(&txn, now, now + keep_old_for).await?;
        insert_on(&txn, &self.secrets, &key, now).await?;
        txn.commit().await?;
        let kid = key.kid().to_owned();
        *self.active.write().await = Arc::new(key);
        Ok(kid)
    }

    /// Public keys of tokens that may still be valid.
    pub async fn published(&self, now: DateTime<Utc>) -> Result<Vec<PublicJwk>> {
        let rows = store::published_signing_keys(self.db.reader(), now).await?;
        Ok(rows.into_iter().map(|r| PublicJwk { kid: r.id, x: r.public_key }).collect())
    }
}

fn decode(secrets: &SecretBox, row: &store::SigningKeyRow) -> Result<SigningKeyPair> {
    let private =
        secrets.decrypt(&row.private_key).map_err(|e| Error::Internal(anyhow::anyhow!("signing key: {e}")))?;
    SigningKeyPair::from_private_bytes(&private).map_err(|e| Error::Internal(anyhow::anyhow!("signing key: {e}")))
}

async fn insert_on<C: sea_orm::ConnectionTrait>(
    conn: &C,
    secrets: &SecretBox,
    key: &SigningKeyPair,
    now: DateTime<Utc>,
) -> Result<()> {
    let row = store::NewSigningKey {
        id: key.kid().to_owned(),
        private_key: secrets.encrypt(&key.private_bytes()),
        public_key: key.public_x(),
        created_at: now,
    };
    store::insert_signing_key(conn, row).await?;
    Ok(())
}

/// Verifies tokens inside the user service itself from the database, without
/// a network hop to itself.
pub struct LocalKeySource {
    pub ring: Arc<KeyRing>,
    pub clock: wework_kit::clock::SharedClock,
}

#[async_trait]
impl KeySource for LocalKeySource {
    async fn signing_keys(&self) -> std::result::Result<Vec<PublicJwk>, AuthError> {
        self.ring.published(self.clock.now()).await.map_err(|e| AuthError::KeySource(e.to_string()))
    }
}
