//! Sessions: list a user's live sessions, revoke one, revoke all. A user
//! manages their own; others' need `session:read` / `session:revoke`.

use sea_orm::TransactionTrait;
use tonic::Request;
use wework_proto::user as pb;

use super::Api;
use super::audit::{self, Entry};
use super::convert::{non_empty, ts};
use crate::error::{Error, Result};
use crate::store;

fn session_to_proto(s: store::SessionModel, current: &str) -> pb::Session {
    pb::Session {
        current: s.id == current,
        id: s.id,
        user_id: s.user_id,
        device: s.device.unwrap_or_default(),
        ip: s.ip.unwrap_or_default(),
        user_agent: s.user_agent.unwrap_or_default(),
        created_at: Some(ts(s.created_at)),
        last_activity_at: Some(ts(s.last_activity_at)),
        expires_at: Some(ts(s.expires_at)),
    }
}

impl Api {
    pub(super) async fn list_sessions_body(
        &self,
        req: Request<pb::ListSessionsRequest>,
    ) -> Result<pb::ListSessionsResponse> {
        let call = self.state.call(&req).await?;
        let r = req.into_inner();
        let tid = call.principal.tenant_id.clone();
        let user_id = match non_empty(&r.user_id) {
            Some(other) if Some(other) != call.principal.user_id.as_deref() => {
                call.require("session:read")?;
                store::find_user(self.state.db.reader(), &tid, other).await?.ok_or(Error::NotFound("user"))?.id
            }
            _ => call.user_id()?.to_owned(),
        };
        let limit = wework_kit::pagination::page_size(r.page.as_ref())?;
        let cursor = super::page_cursor(r.page.as_ref())?;
        let (rows, next) =
            store::list_active_sessions(self.state.db.reader(), &tid, &user_id, self.state.clock.now(), cursor, limit)
                .await?;
        let current = call.principal.session_id.clone().unwrap_or_default();
        Ok(pb::ListSessionsResponse {
            sessions: rows.into_iter().map(|s| session_to_proto(s, &current)).collect(),
            page: Some(super::next_page(next)),
        })
    }

    pub(super) async fn revoke_session_body(
        &self,
        req: Request<pb::RevokeSessionRequest>,
    ) -> Result<pb::RevokeSessionResponse> {
        let call = self.state.call(&req).await?;
        let sid =
            non_empty(&req.get_ref().session_id).ok_or_else(|| Error::invalid("session_id", "required"))?.to_owned();
        let tid = call.principal.tenant_id.clone();
        let session = store::find_session(self.state.db.reader(), &sid)
            .await?
            .filter(|s| s.tenant_id == tid)
            .ok_or(Error::NotFound("session"))?;
        if Some(session.user_id.as_str()) != call.principal.user_id.as_deref() {
            call.require("session:revoke")?;
        }
        let txn = self.state.db.writer().begin().await?;
        store::revoke_session(&txn, &tid, &sid, "revoked", self.state.clock.now()).await?;
        audit::record_in(&txn, &self.state, Entry::by(&call, &tid, "session.revoke", "session", &sid), &call.meta)
            .await?;
        txn.commit().await?;
        self.state.forget_sessions(&[sid]).await;
        Ok(pb::RevokeSessionResponse {})
    }

    pub(super) async fn revoke_all_sessions_body(
        &self,
        req: Request<pb::RevokeAllSessionsRequest>,
    ) -> Result<pb::RevokeAllSessionsResponse> {
        let call = self.state.call(&req).await?;
        let tid = call.principal.tenant_id.clone();
        let user_id = match non_empty(&req.get_ref().user_id) {
            Some(other) if Some(other) != call.principal.user_id.as_deref() => {
                call.require("session:revoke")?;
                store::find_user(self.state.db.reader(), &tid, other).await?.ok_or(Error::NotFound("user"))?.id
            }
            _ => call.user_id()?.to_owned(),
        };
        let txn = self.state.db.writer().begin().await?;
        let revoked = self.revoke_all(&txn, &tid, &user_id, "revoked_all").await?;
        audit::record_in(&txn, &self.state, Entry::by(&call, &tid, "session.revoke_all", "user", &user_id), &call.meta)
            .await?;
        txn.commit().await?;
        self.state.forget_sessions(&revoked).await;
        Ok(pb::RevokeAllSessionsResponse { revoked: i32::try_from(revoked.len()).unwrap_or(i32::MAX) })
    }
}
