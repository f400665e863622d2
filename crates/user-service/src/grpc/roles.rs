//! RoleService: tenant roles, assignments with optional expiry, effective
//! permissions. System roles can't be edited or deleted; nobody can grant a
//! permission they don't hold themselves (no privilege escalation through
//! role edits).

use sea_orm::TransactionTrait;
use tonic::{Request, Response, Status};
use wework_proto::user::{self as pb, role_service_server::RoleService};

use super::audit::{self, Entry};
use super::context::Call;
use super::convert::{non_empty, opt_from_ts, ts};
use super::{Api, respond};
use crate::domain::rbac;
use crate::domain::validate::RoleName;
use crate::error::{Error, Result};
use crate::store::{self, RoleModel};

fn to_proto(r: RoleModel, permissions: Vec<String>) -> pb::Role {
    pb::Role {
        id: r.id,
        tenant_id: r.tenant_id,
        name: r.name,
        description: r.description,
        permissions,
        is_system: r.is_system,
        created_at: Some(ts(r.created_at)),
        updated_at: Some(ts(r.updated_at)),
    }
}

fn parse_permissions(raw: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(raw.len());
    for p in raw {
        let p = p.trim();
        rbac::validate_permission(p).map_err(|e| e.in_field("permissions"))?;
        out.push(p.to_owned());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

impl Api {
    /// The role by id: in the caller's tenant, or any tenant's for a super-admin.
    async fn role_in_scope(&self, call: &Call, role_id: &str) -> Result<RoleModel> {
        let id = non_empty(role_id).ok_or_else(|| Error::invalid("role_id", "required"))?;
        let conn = self.state.db.reader();
        let found = if call.principal.is_super_admin() {
            store::find_role_any_tenant(conn, id).await?
        } else {
            store::find_role(conn, &call.principal.tenant_id, id).await?
        };
        found.ok_or(Error::NotFound("role"))
    }

    /// The caller may only hand out permissions they hold.
    fn check_grantable(&self, call: &Call, perms: &[String]) -> Result<()> {
        if call.principal.is_super_admin() || rbac::is_subset(&call.principal.permissions, perms) {
            Ok(())
        } else {
            Err(Error::PermissionDenied("cannot grant permissions you do not hold".into()))
        }
    }

    async fn role_perms(&self, role_id: &str) -> Result<Vec<String>> {
        let mut map = store::role_permissions(self.state.db.reader(), &[role_id.to_owned()]).await?;
        Ok(map.remove(role_id).unwrap_or_default())
    }

    /// A user and a role of the same tenant, both in the caller's scope.
    async fn grant_pair(&self, call: &Call, user_id: &str, role_id: &str) -> Result<(store::UserModel, RoleModel)> {
        let user = self.user_in_scope(call, user_id).await?;
        let role = self.role_in_scope(call, role_id).await?;
        if role.tenant_id != user.tenant_id {
            return Err(Error::NotFound("role"));
        }
        Ok((user, role))
    }
}

#[tonic::async_trait]
impl RoleService for Api {
    async fn create_role(&self, req: Request<pb::CreateRoleRequest>) -> Result<Response<pb::Role>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("role:create")?;
            let r = req.into_inner();
            let name = RoleName::parse(&r.name)?;
            let perms = parse_permissions(&r.permissions)?;
            if r.description.chars().count() > 255 {
                return Err(Error::invalid("description", "at most 255 characters"));
            }
            self.check_grantable(&call, &perms)?;
            let tid = call.target_tenant(&r.tenant_id)?;
            let now = self.state.clock.now();
            let txn = self.state.db.writer().begin().await?;
            let role = store::insert_role(
                &txn,
                store::NewRole {
                    id: uuid::Uuid::now_v7().to_string(),
                    tenant_id: tid.clone(),
                    name: name.into_inner(),
                    description: r.description.trim().to_owned(),
                    is_system: false,
                    permissions: perms.clone(),
                    created_at: now,
                },
            )
            .await
            .map_err(|e| Error::duplicate_as(e, "role"))?;
            let entry = Entry::by(&call, &tid, "role.create", "role", &role.id)
                .values(None, Some(serde_json::json!({"name": role.name, "permissions": perms})));
            audit::record_in(&txn, &self.state, entry, &call.meta).await?;
            txn.commit().await?;
            Ok(to_proto(role, perms))
        })
        .await
    }

    async fn get_role(&self, req: Request<pb::GetRoleRequest>) -> Result<Response<pb::Role>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("role:read")?;
            let role = self.role_in_scope(&call, &req.get_ref().role_id).await?;
            let perms = self.role_perms(&role.id).await?;
            Ok(to_proto(role, perms))
        })
        .await
    }

    async fn update_role(&self, req: Request<pb::UpdateRoleRequest>) -> Result<Response<pb::Role>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("role:update")?;
            let r = req.into_inner();
            let role = self.role_in_scope(&call, &r.role_id).await?;
            if role.is_system {
                return Err(Error::precondition("SYSTEM_ROLE", "system roles cannot be changed"));
            }
            if r.description.as_deref().is_some_and(|d| d.chars().count() > 255) {
                return Err(Error::invalid("description", "at most 255 characters"));
            }
            let old_perms = self.role_perms(&role.id).await?;
            let new_perms = if r.replace_permissions { Some(parse_permissions(&r.permissions)?) } else { None };
            if let Some(p) = &new_perms {
                self.check_grantable(&call, p)?;
            }
            let now = self.state.clock.now();
            let tid = role.tenant_id.clone();
            let txn = self.state.db.writer().begin().await?;
            if let Some(d) = &r.description {
                store::update_role_description(&txn, &tid, &role.id, d.trim(), now).await?;
            }
            if let Some(p) = &new_perms {
                store::replace_role_permissions(&txn, &role.id, p).await?;
            }
            let updated = store::find_role(&txn, &tid, &role.id).await?.ok_or(Error::NotFound("role"))?;
            let perms = new_perms.clone().unwrap_or_else(|| old_perms.clone());
            let entry = Entry::by(&call, &tid, "role.update", "role", &role.id).values(
                Some(serde_json::json!({"description": role.description, "permissions": old_perms})),
                Some(serde_json::json!({"description": updated.description, "permissions": perms})),
            );
            audit::record_in(&txn, &self.state, entry, &call.meta).await?;
            txn.commit().await?;
            Ok(to_proto(updated, perms))
        })
        .await
    }

    async fn list_roles(&self, req: Request<pb::ListRolesRequest>) -> Result<Response<pb::ListRolesResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("role:read")?;
            let r = req.into_inner();
            let limit = wework_kit::pagination::page_size(r.page.as_ref())?;
            let cursor = super::page_cursor(r.page.as_ref())?;
            let conn = self.state.db.reader();
            let tid = call.target_tenant(&r.tenant_id)?;
            let (rows, next) = store::list_roles(conn, &tid, cursor, limit).await?;
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let mut perms = store::role_permissions(conn, &ids).await?;
            let roles = rows
                .into_iter()
                .map(|r| {
                    let p = perms.remove(&r.id).unwrap_or_default();
                    to_proto(r, p)
                })
                .collect();
            Ok(pb::ListRolesResponse { roles, page: Some(super::next_page(next)) })
        })
        .await
    }

    async fn delete_role(
        &self,
        req: Request<pb::DeleteRoleRequest>,
    ) -> Result<Response<pb::DeleteRoleResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("role:delete")?;
            let role = self.role_in_scope(&call, &req.get_ref().role_id).await?;
            if role.is_system {
                return Err(Error::precondition("SYSTEM_ROLE", "system roles cannot be deleted"));
            }
            let tid = role.tenant_id.clone();
            let txn = self.state.db.writer().begin().await?;
            let holders = store::delete_role(&txn, &tid, &role.id).await?;
            let entry = Entry::by(&call, &tid, "role.delete", "role", &role.id)
                .values(Some(serde_json::json!({"name": role.name})), None);
            audit::record_in(&txn, &self.state, entry, &call.meta).await?;
            txn.commit().await?;
            let keys: Vec<String> = holders.iter().map(|u| super::users::cache_key(&tid, u)).collect();
            self.state.cache.invalidate(&keys).await;
            Ok(pb::DeleteRoleResponse {})
        })
        .await
    }

    async fn assign_role(
        &self,
        req: Request<pb::AssignRoleRequest>,
    ) -> Result<Response<pb::AssignRoleResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("role:assign")?;
            let r = req.into_inner();
            let (user, role) = self.grant_pair(&call, &r.user_id, &r.role_id).await?;
            if role.name == wework_kit::auth::claims::SUPER_ADMIN_ROLE && !call.principal.is_super_admin() {
                return Err(Error::PermissionDenied("cannot assign super_admin".into()));
            }
            let now = self.state.clock.now();
            let expires_at = opt_from_ts("expires_at", r.expires_at.as_ref())?;
            if expires_at.is_some_and(|e| e <= now) {
                return Err(Error::invalid("expires_at", "must be in the future"));
            }
            let perms = self.role_perms(&role.id).await?;
            self.check_grantable(&call, &perms)?;
            let tid = user.tenant_id.clone();
            let txn = self.state.db.writer().begin().await?;
            store::assign_role(&txn, &tid, &user.id, &role.id, call.principal.user_id.as_deref(), expires_at, now)
                .await?;
            let entry = Entry::by(&call, &tid, "role.assign", "user", &user.id)
                .values(None, Some(serde_json::json!({"role": role.name, "expires_at": expires_at})));
            audit::record_in(&txn, &self.state, entry, &call.meta).await?;
            txn.commit().await?;
            self.state.cache.invalidate(&[super::users::cache_key(&tid, &user.id)]).await;
            Ok(pb::AssignRoleResponse {})
        })
        .await
    }

    async fn revoke_role(
        &self,
        req: Request<pb::RevokeRoleRequest>,
    ) -> Result<Response<pb::RevokeRoleResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("role:assign")?;
            let r = req.into_inner();
            let (user, role) = self.grant_pair(&call, &r.user_id, &r.role_id).await?;
            let tid = user.tenant_id.clone();
            let txn = self.state.db.writer().begin().await?;
            if !store::revoke_role(&txn, &tid, &user.id, &role.id).await? {
                return Err(Error::NotFound("role assignment"));
            }
            let entry = Entry::by(&call, &tid, "role.revoke", "user", &user.id)
                .values(Some(serde_json::json!({"role": role.name})), None);
            audit::record_in(&txn, &self.state, entry, &call.meta).await?;
            txn.commit().await?;
            self.state.cache.invalidate(&[super::users::cache_key(&tid, &user.id)]).await;
            Ok(pb::RevokeRoleResponse {})
        })
        .await
    }

    async fn get_effective_permissions(
        &self,
        req: Request<pb::GetEffectivePermissionsRequest>,
    ) -> Result<Response<pb::GetEffectivePermissionsResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            let requested = req.get_ref().user_id.trim();
            let (tid, user_id) = if requested.is_empty() || Some(requested) == call.principal.user_id.as_deref() {
                (call.principal.tenant_id.clone(), call.user_id()?.to_owned())
            } else {
                call.require("role:read")?;
                let user = self.user_in_scope(&call, requested).await?;
                (user.tenant_id, user.id)
            };
            let now = self.state.clock.now();
            let conn = self.state.db.reader();
            let roles = store::active_roles_of_user(conn, &tid, &user_id, now).await?;
            let permissions = store::effective_permissions(conn, &tid, &user_id, now).await?;
            Ok(pb::GetEffectivePermissionsResponse { roles: roles.into_iter().map(|(_, n)| n).collect(), permissions })
        })
        .await
    }

    async fn check_permission(
        &self,
        req: Request<pb::CheckPermissionRequest>,
    ) -> Result<Response<pb::CheckPermissionResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            let r = req.into_inner();
            let wanted = r.permission.trim();
            rbac::validate_permission(wanted).map_err(|e| e.in_field("permission"))?;
            let requested = r.user_id.trim();
            if requested.is_empty() || Some(requested) == call.principal.user_id.as_deref() {
                return Ok(pb::CheckPermissionResponse { allowed: call.principal.can(wanted) });
            }
            let user = if call.principal.is_service() {
                store::find_user_any_tenant(self.state.db.reader(), requested).await?.ok_or(Error::NotFound("user"))?
            } else {
                call.require("role:read")?;
                self.user_in_scope(&call, requested).await?
            };
            let perms =
                store::effective_permissions(self.state.db.reader(), &user.tenant_id, &user.id, self.state.clock.now())
                    .await?;
            Ok(pb::CheckPermissionResponse {
                allowed: perms.iter().any(|g| wework_kit::auth::permission_matches(g, wanted)),
            })
        })
        .await
    }

    async fn list_permissions(
        &self,
        req: Request<pb::ListPermissionsRequest>,
    ) -> Result<Response<pb::ListPermissionsResponse>, Status> {
        respond(async {
            self.state.call(&req).await?;
            let permissions = rbac::CATALOGUE
                .iter()
                .map(|(name, description)| pb::Permission {
                    name: (*name).to_owned(),
                    description: (*description).to_owned(),
                })
                .collect();
            Ok(pb::ListPermissionsResponse { permissions })
        })
        .await
    }
}
