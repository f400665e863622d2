//! The service's JWT signing keys (global, not per tenant). One key is
//! active; retired keys stay published until `expires_at`.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};

use super::entity::signing_key::{self, ActiveModel, Column, Entity};
use super::status::{ALGORITHM_EDDSA, STATUS_ACTIVE, STATUS_RETIRED};

pub type SigningKeyRow = signing_key::Model;

#[derive(Debug, Clone)]
pub struct NewSigningKey {
    /// The `kid`.
    pub id: String,
    /// Encrypted with the service's master key.
    pub private_key: String,
    /// base64url of the raw Ed25519 public key.
    pub public_key: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_signing_key<C: ConnectionTrait>(db: &C, new: NewSigningKey) -> Result<SigningKeyRow, DbErr> {
    ActiveModel {
        id: Set(new.id),
        algorithm: Set(ALGORITHM_EDDSA.to_owned()),
        private_key: Set(new.private_key),
        public_key: Set(new.public_key),
        status: Set(STATUS_ACTIVE.to_owned()),
        created_at: Set(new.created_at),
        retired_at: Set(None),
        expires_at: Set(None),
    }
    .insert(db)
    .await
}

/// The newest active key (there is normally exactly one).
pub async fn active_signing_key<C: ConnectionTrait>(db: &C) -> Result<Option<SigningKeyRow>, DbErr> {
    Entity::find()
        .filter(Column::Status.eq(STATUS_ACTIVE))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .one(db)
        .await
}

/// Keys verifiers must know at `now`: active ones and retired ones whose
/// tokens may still be valid. Newest first.
pub async fn published_signing_keys<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<Vec<SigningKeyRow>, DbErr> {
    Entity::find()
        .filter(
            Condition::any()
                .add(Column::Status.eq(STATUS_ACTIVE))
                .add(Condition::all().add(Column::Status.eq(STATUS_RETIRED)).add(Column::ExpiresAt.gt(now))),
        )
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .all(db)
        .await
}

/// Retires every active key, publishing it until `expires_at`.
pub async fn retire_active_keys<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let res = Entity::update_many()
        .col_expr(Column::Status, Expr::value(STATUS_RETIRED))
        .col_expr(Column::RetiredAt, Expr::value(now))
        .col_expr(Column::ExpiresAt, Expr::value(expires_at))
        .filter(Column::Status.eq(STATUS_ACTIVE))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
