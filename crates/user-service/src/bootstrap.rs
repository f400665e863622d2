//! First start: the permission catalogue, the platform tenant with its
//! super-admin role, and a platform administrator so a newcomer can log in.
//! Idempotent — every start runs it, and only an empty database is changed.
//! Without a configured password one is generated and printed once.

use sea_orm::TransactionTrait;
use secrecy::{ExposeSecret, SecretString};
use wework_kit::auth::claims::{PLATFORM_TENANT_CODE, SUPER_ADMIN_ROLE};

use crate::domain::{password, rbac};
use crate::error::{Error, Result};
use crate::grpc::tenants::create_tenant;
use crate::state::AppState;
use crate::store;

pub async fn run(state: &AppState) -> Result<()> {
    let conn = state.db.writer();
    let entries: Vec<(String, String)> =
        rbac::CATALOGUE.iter().map(|(n, d)| ((*n).to_owned(), (*d).to_owned())).collect();
    store::insert_permission_catalogue(conn, &entries).await?;
    if store::find_tenant_by_code(conn, PLATFORM_TENANT_CODE).await?.is_some() {
        return Ok(());
    }
    let boot = &state.settings.bootstrap;
    let (secret, generated) = match &boot.admin_password {
        Some(p) => (p.clone(), false),
        None => (password::generate_password(), true),
    };
    password::check_policy(secret.expose_secret(), &boot.admin_username)
        .map_err(|e| Error::Internal(anyhow::anyhow!("bootstrap.admin_password: {}", e.message)))?;
    let hash = crate::hashing::hash(secret.clone()).await?;
    let now = state.clock.now();
    let txn = conn.begin().await?;
    let tenant = create_tenant(
        &txn,
        store::NewTenant {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_code: PLATFORM_TENANT_CODE.to_owned(),
            name: "Platform".to_owned(),
            max_accounts: 0,
            max_daily_messages: 0,
            webhook_url: None,
            config: None,
            created_at: now,
        },
        true,
    )
    .await;
    let tenant = match tenant {
        Ok(t) => t,
        // Another replica bootstrapped first.
        Err(Error::AlreadyExists(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    let user = store::insert_user(
        &txn,
        store::NewUser {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: tenant.id.clone(),
            username: boot.admin_username.clone(),
            email: Some(boot.admin_email.to_lowercase()),
            phone: None,
            display_name: "Platform administrator".to_owned(),
            password_hash: hash,
            created_at: now,
        },
    )
    .await?;
    let role = store::find_role_by_name(&txn, &tenant.id, SUPER_ADMIN_ROLE)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("super_admin role missing after bootstrap")))?;
    store::assign_role(&txn, &tenant.id, &user.id, &role.id, None, None, now).await?;
    txn.commit().await?;
    tracing::info!(tenant = PLATFORM_TENANT_CODE, username = %boot.admin_username, "created the platform administrator");
    if generated {
        announce(&boot.admin_username, &secret);
    }
    Ok(())
}

/// Printed to stdout once, on the first start only: the operator needs it to
/// log in, and it never goes through the log pipeline.
fn announce(username: &str, secret: &SecretString) {
    println!(
        "\n==================== first start ====================\n\
         Platform administrator created (tenant `{PLATFORM_TENANT_CODE}`).\n  username: {username}\n  password: {}\n\
         This password is shown only now. Change it with ChangePassword.\n\
         =====================================================\n",
        secret.expose_secret()
    );
}
