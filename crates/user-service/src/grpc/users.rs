//! UserService. Users belong to one tenant; a tenant admin manages only
//! their tenant's users (another tenant's user reads as NotFound), a platform
//! super-admin any. GetUser is served from the cache and invalidated by
//! every write to the user or their roles.

use sea_orm::TransactionTrait;
use secrecy::{ExposeSecret, SecretString};
use tonic::{Request, Response, Status};
use wework_proto::user::{self as pb, user_service_server::UserService};

use super::audit::{self, Entry};
use super::context::Call;
use super::convert::non_empty;
use super::{Api, respond};
use crate::domain::validate::{DisplayName, Email, Phone, RoleName, Username};
use crate::domain::{FieldError, password};
use crate::error::{Error, Result};
use crate::store::{self, UserModel};

pub use super::user_view::{UserView, cache_key, cached_user, to_proto};

fn new_password(field: &'static str, raw: String, username: &str) -> Result<SecretString, FieldError> {
    let secret = SecretString::from(raw);
    password::check_policy(secret.expose_secret(), username).map_err(|e| e.in_field(field))?;
    Ok(secret)
}

impl Api {
    /// The target user, scoped to the caller's tenant (or any, for a super-admin).
    pub(crate) async fn user_in_scope(&self, call: &Call, user_id: &str) -> Result<UserModel> {
        let user_id = non_empty(user_id).ok_or_else(|| Error::invalid("user_id", "required"))?;
        let conn = self.state.db.reader();
        let found = if call.principal.is_super_admin() {
            store::find_user_any_tenant(conn, user_id).await?
        } else {
            store::find_user(conn, &call.principal.tenant_id, user_id).await?
        };
        found.ok_or(Error::NotFound("user"))
    }

    async fn view(&self, user: UserModel) -> Result<UserView> {
        let roles =
            store::active_roles_of_user(self.state.db.reader(), &user.tenant_id, &user.id, self.state.clock.now())
                .await?;
        Ok(UserView::new(user, roles.into_iter().map(|(_, n)| n).collect()))
    }

    /// Revokes every session of a user; the caller forgets the returned ids
    /// in the cache once its transaction has committed.
    pub(crate) async fn revoke_all<C: sea_orm::ConnectionTrait>(
        &self,
        conn: &C,
        tenant_id: &str,
        user_id: &str,
        reason: &str,
    ) -> Result<Vec<String>> {
        let ids = store::revoke_user_sessions(conn, tenant_id, user_id, reason, self.state.clock.now()).await?;
        Ok(ids)
    }
}

#[tonic::async_trait]
impl UserService for Api {
    async fn create_user(&self, req: Request<pb::CreateUserRequest>) -> Result<Response<pb::User>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("user:create")?;
            let r = req.into_inner();
            let tenant_id = call.target_tenant(&r.tenant_id)?;
            let mut errors = Vec::new();
            let username = Username::parse(&r.username).map_err(|e| errors.push(e)).ok();
            let email = Email::parse_optional(&r.email).map_err(|e| errors.push(e)).ok().flatten();
            let phone = Phone::parse_optional(&r.phone).map_err(|e| errors.push(e)).ok().flatten();
            let display = DisplayName::parse(&r.display_name).map_err(|e| errors.push(e)).ok();
            let pw = new_password("password", r.password, &r.username).map_err(|e| errors.push(e));
            let role_names = if r.roles.is_empty() { vec!["viewer".to_owned()] } else { r.roles.clone() };
            for name in &role_names {
                if let Err(e) = RoleName::parse(name) {
                    errors.push(e.in_field("roles"));
                }
            }
            let (Some(username), Some(display), Ok(pw)) = (username, display, pw) else {
                return Err(Error::Invalid(errors));
            };
            if !errors.is_empty() {
                return Err(Error::Invalid(errors));
            }
            let conn = self.state.db.reader();
            super::tenants::cached_tenant(&self.state, &tenant_id).await?.ok_or(Error::NotFound("tenant"))?;
            let mut role_ids = Vec::new();
            for name in &role_names {
                let role = store::find_role_by_name(conn, &tenant_id, name)
                    .await?
                    .ok_or_else(|| Error::invalid("roles", format!("no role named {name}")))?;
                role_ids.push(role.id);
            }
            let hash = crate::hashing::hash(pw).await?;
            let now = self.state.clock.now();
            let txn = self.state.db.writer().begin().await?;
            let user = store::insert_user(
                &txn,
                store::NewUser {
                    id: uuid::Uuid::now_v7().to_string(),
                    tenant_id: tenant_id.clone(),
                    username: username.into_inner(),
                    email: email.map(|e| e.into_inner()),
                    phone: phone.map(|p| p.into_inner()),
                    display_name: display.into_inner(),
                    password_hash: hash,
                    created_at: now,
                },
            )
            .await
            .map_err(|e| Error::duplicate_as(e, "user"))?;
            for role_id in &role_ids {
                store::assign_role(&txn, &tenant_id, &user.id, role_id, call.principal.user_id.as_deref(), None, now)
                    .await?;
            }
            let view = UserView::new(user, role_names);
            let entry =
                Entry::by(&call, &tenant_id, "user.create", "user", &view.id).values(None, Some(view.snapshot()));
            audit::record_in(&txn, &self.state, entry, &call.meta).await?;
            txn.commit().await?;
            Ok(to_proto(view))
        })
        .await
    }

    async fn get_user(&self, req: Request<pb::GetUserRequest>) -> Result<Response<pb::User>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            let requested = req.get_ref().user_id.trim();
            let own = requested.is_empty() || Some(requested) == call.principal.user_id.as_deref();
            if own {
                let uid = call.user_id()?.to_owned();
                let view =
                    cached_user(&self.state, &call.principal.tenant_id, &uid).await?.ok_or(Error::NotFound("user"))?;
                return Ok(to_proto(view));
            }
            call.require("user:read")?;
            if call.principal.is_super_admin() {
                let user = self.user_in_scope(&call, requested).await?;
                return Ok(to_proto(self.view(user).await?));
            }
            let view =
                cached_user(&self.state, &call.principal.tenant_id, requested).await?.ok_or(Error::NotFound("user"))?;
            Ok(to_proto(view))
        })
        .await
    }

    async fn update_user(&self, req: Request<pb::UpdateUserRequest>) -> Result<Response<pb::User>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("user:update")?;
            let r = req.into_inner();
            let old = self.user_in_scope(&call, &r.user_id).await?;
            let mut errors = Vec::new();
            let email =
                r.email.as_deref().map(Email::parse_optional).transpose().map_err(|e| errors.push(e)).ok().flatten();
            let phone =
                r.phone.as_deref().map(Phone::parse_optional).transpose().map_err(|e| errors.push(e)).ok().flatten();
            let display = r
                .display_name
                .as_deref()
                .map(DisplayName::parse)
                .transpose()
                .map_err(|e| errors.push(e))
                .ok()
                .flatten();
            let status = match r.status.map(|s| pb::UserStatus::try_from(s).unwrap_or_default()) {
                None => None,
                Some(pb::UserStatus::Active) => Some(store::STATUS_ACTIVE),
                Some(pb::UserStatus::Disabled) => Some(store::STATUS_DISABLED),
                Some(_) => {
                    errors.push(crate::domain::FieldError::new(
                        "status",
                        "must be ACTIVE or DISABLED (use DeleteUser to delete)",
                    ));
                    None
                }
            };
            if !errors.is_empty() {
                return Err(Error::Invalid(errors));
            }
            if status == Some(store::STATUS_DISABLED) && call.principal.user_id.as_deref() == Some(old.id.as_str()) {
                return Err(Error::precondition("SELF_DISABLE", "you cannot disable yourself"));
            }
            let changes = store::UserChanges {
                email: email.map(|e| e.map(|e| e.into_inner())),
                phone: phone.map(|p| p.map(|p| p.into_inner())),
                display_name: display.map(|d| d.into_inner()),
                status: status.map(str::to_owned),
            };
            let now = self.state.clock.now();
            let txn = self.state.db.writer().begin().await?;
            let new = store::update_user(&txn, &old.tenant_id, &old.id, changes, now)
                .await
                .map_err(|e| Error::duplicate_as(e, "user email"))?
                .ok_or(Error::NotFound("user"))?;
            let mut revoked = Vec::new();
            if status == Some(store::STATUS_DISABLED) {
                revoked = self.revoke_all(&txn, &old.tenant_id, &old.id, "user_disabled").await?;
            }
            let old_view = self.view(old).await?;
            let new_view = UserView::new(new, old_view.roles.clone());
            let entry = Entry::by(&call, &new_view.tenant_id, "user.update", "user", &new_view.id)
                .values(Some(old_view.snapshot()), Some(new_view.snapshot()));
            audit::record_in(&txn, &self.state, entry, &call.meta).await?;
            txn.commit().await?;
            self.state.forget_sessions(&revoked).await;
            self.state.cache.invalidate(&[cache_key(&new_view.tenant_id, &new_view.id)]).await;
            Ok(to_proto(new_view))
        })
        .await
    }

    async fn list_users(&self, req: Request<pb::ListUsersRequest>) -> Result<Response<pb::ListUsersResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("user:read")?;
            let r = req.into_inner();
            let tenant_id = call.target_tenant(&r.tenant_id)?;
            let limit = wework_kit::pagination::page_size(r.page.as_ref())?;
            let cursor = super::page_cursor(r.page.as_ref())?;
            let status = match pb::UserStatus::try_from(r.status).unwrap_or_default() {
                pb::UserStatus::Unspecified => None,
                pb::UserStatus::Active => Some(store::STATUS_ACTIVE),
                pb::UserStatus::Disabled => Some(store::STATUS_DISABLED),
                pb::UserStatus::Deleted => Some(store::STATUS_DELETED),
            };
            let filter = store::UserFilter {
                status: status.map(str::to_owned),
                role: non_empty(&r.role).map(str::to_owned),
                query: non_empty(&r.query).map(str::to_owned),
            };
            let conn = self.state.db.reader();
            let (rows, next) =
                store::list_users(conn, &tenant_id, &filter, self.state.clock.now(), cursor, limit).await?;
            let ids: Vec<String> = rows.iter().map(|u| u.id.clone()).collect();
            let mut roles = store::role_names_for_users(conn, &tenant_id, &ids, self.state.clock.now()).await?;
            let users = rows
                .into_iter()
                .map(|u| {
                    let r = roles.remove(&u.id).unwrap_or_default();
                    to_proto(UserView::new(u, r))
                })
                .collect();
            Ok(pb::ListUsersResponse { users, page: Some(super::next_page(next)) })
        })
        .await
    }

    async fn delete_user(
        &self,
        req: Request<pb::DeleteUserRequest>,
    ) -> Result<Response<pb::DeleteUserResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("user:delete")?;
            let old = self.user_in_scope(&call, &req.get_ref().user_id).await?;
            if call.principal.user_id.as_deref() == Some(old.id.as_str()) {
                return Err(Error::precondition("SELF_DELETE", "you cannot delete yourself"));
            }
            let now = self.state.clock.now();
            let txn = self.state.db.writer().begin().await?;
            let revoked = self.revoke_all(&txn, &old.tenant_id, &old.id, "user_deleted").await?;
            store::soft_delete_user(&txn, &old.tenant_id, &old.id, now).await?;
            let old_view = self.view(old).await?;
            let entry = Entry::by(&call, &old_view.tenant_id, "user.delete", "user", &old_view.id)
                .values(Some(old_view.snapshot()), None);
            audit::record_in(&txn, &self.state, entry, &call.meta).await?;
            txn.commit().await?;
            self.state.forget_sessions(&revoked).await;
            self.state.cache.invalidate(&[cache_key(&old_view.tenant_id, &old_view.id)]).await;
            Ok(pb::DeleteUserResponse {})
        })
        .await
    }

    async fn change_password(
        &self,
        req: Request<pb::ChangePasswordRequest>,
    ) -> Result<Response<pb::ChangePasswordResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            let uid = call.user_id()?.to_owned();
            let r = req.into_inner();
            let tid = call.principal.tenant_id.clone();
            let user = store::find_user(self.state.db.reader(), &tid, &uid).await?.ok_or(Error::NotFound("user"))?;
            if r.current_password.is_empty() {
                return Err(Error::invalid("current_password", "required"));
            }
            let next = new_password("new_password", r.new_password, &user.username)?;
            if !crate::hashing::verify(user.password_hash.clone(), SecretString::from(r.current_password)).await? {
                return Err(Error::PermissionDenied("current password is wrong".into()));
            }
            let hash = crate::hashing::hash(next).await?;
            let now = self.state.clock.now();
            let txn = self.state.db.writer().begin().await?;
            store::set_password_hash(&txn, &tid, &uid, &hash, now).await?;
            // Other sessions end; the caller's own stays.
            let own = call.principal.session_id.clone().unwrap_or_default();
            let revoked = store::revoke_user_sessions_except(&txn, &tid, &uid, &own, "password_changed", now).await?;
            audit::record_in(
                &txn,
                &self.state,
                Entry::by(&call, &tid, "user.change_password", "user", &uid),
                &call.meta,
            )
            .await?;
            txn.commit().await?;
            self.state.forget_sessions(&revoked).await;
            Ok(pb::ChangePasswordResponse {})
        })
        .await
    }

    async fn reset_password(
        &self,
        req: Request<pb::ResetPasswordRequest>,
    ) -> Result<Response<pb::ResetPasswordResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("user:reset_password")?;
            let r = req.into_inner();
            let user = self.user_in_scope(&call, &r.user_id).await?;
            let next = new_password("new_password", r.new_password, &user.username)?;
            let hash = crate::hashing::hash(next).await?;
            let now = self.state.clock.now();
            let txn = self.state.db.writer().begin().await?;
            store::set_password_hash(&txn, &user.tenant_id, &user.id, &hash, now).await?;
            let revoked = self.revoke_all(&txn, &user.tenant_id, &user.id, "password_reset").await?;
            audit::record_in(
                &txn,
                &self.state,
                Entry::by(&call, &user.tenant_id, "user.reset_password", "user", &user.id),
                &call.meta,
            )
            .await?;
            txn.commit().await?;
            self.state.forget_sessions(&revoked).await;
            self.state.cache.invalidate(&[cache_key(&user.tenant_id, &user.id)]).await;
            Ok(pb::ResetPasswordResponse {})
        })
        .await
    }
}
