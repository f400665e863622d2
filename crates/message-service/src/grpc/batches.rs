//! `BatchService` (`batch:read`, `batch:write`), within the caller's tenant:
//! create ([`super::batch_create`]), the status machine of
//! [`crate::domain::batch`] (an illegal move is FAILED_PRECONDITION naming
//! the current status), and reads whose counters are derived from the
//! batch's messages. Pause holds the batch's pending messages
//! (`next_attempt_at = NULL`), resume makes them due now, cancel cancels
//! them (their quota is given back) and the receivers not fed yet — each in
//! the transaction of the status change.

use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tonic::{Request, Response, Status};
use wework_proto::message::{self as pb, batch_service_server::BatchService, batch_service_server::BatchServiceServer};

use super::batch_convert::{batch_views, receiver_to_proto, status_of};
use super::context::Caller;
use super::{Api, batch_create, page, respond};
use crate::domain::FieldError;
use crate::domain::batch::{BatchAction, BatchStatus, transition};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::batches::{self as db, StatusChange};
use crate::store::entity::batch;
use crate::store::receivers::{self, ReceiverFilter};

/// A CSV import may be up to 8 MiB; tonic's default limit is 4 MiB.
const MAX_REQUEST_BYTES: usize = 10 << 20;

/// The service, accepting requests as large as an import may be.
pub fn service(api: Api) -> BatchServiceServer<Api> {
    BatchServiceServer::new(api).max_decoding_message_size(MAX_REQUEST_BYTES)
}

async fn visible(state: &AppState, caller: &Caller, id: &str) -> Result<batch::Model> {
    db::find_batch(state.db.writer(), id.trim(), caller.row_scope().as_deref()).await?.ok_or(Error::NotFound("batch"))
}

async fn view(state: &AppState, row: batch::Model) -> Result<pb::Batch> {
    batch_views(state, state.db.writer(), std::slice::from_ref(&row)).await?.pop().ok_or(Error::NotFound("batch"))
}

/// Start, pause, resume or cancel: one conditional status change and what
/// it does to the batch's messages, in one transaction.
async fn act(state: &AppState, caller: &Caller, id: &str, action: BatchAction) -> Result<pb::Batch> {
    caller.require("batch:write")?;
    let row = visible(state, caller, id).await?;
    let from = status_of(&row)?;
    let to = transition(from, action).map_err(|m| Error::precondition("BATCH_STATUS", m))?;
    let now = state.clock.now();
    let mut change = StatusChange::default();
    match action {
        BatchAction::Start => change.start_time = Some(now),
        BatchAction::Resume => change.error_message = Some(None),
        BatchAction::Cancel => change.end_time = Some(now),
        BatchAction::Pause => {}
    }
    let txn = state.db.writer().begin().await?;
    if !db::change_status(&txn, &row.id, from, to, change, now).await? {
        txn.rollback().await?;
        // Someone moved it first: answer for the status it has now.
        let current = visible(state, caller, id).await?;
        let message = transition(status_of(&current)?, action)
            .err()
            .unwrap_or_else(|| "the batch changed meanwhile; retry".to_owned());
        return Err(Error::precondition("BATCH_STATUS", message));
    }
    let mut cancelled = 0;
    match action {
        BatchAction::Pause => {
            db::hold_messages(&txn, &row.id, now).await?;
        }
        BatchAction::Resume => {
            db::release_messages(&txn, &row.id, now).await?;
        }
        BatchAction::Cancel => {
            cancelled = db::cancel_rest(&txn, &row.id, now).await?;
            db::save_counts(&txn, &row).await?;
        }
        BatchAction::Start => {}
    }
    txn.commit().await?;
    if cancelled > 0 {
        state.quota.release(&row.tenant_id, u32::try_from(cancelled).unwrap_or(u32::MAX)).await;
    }
    let operation = match action {
        BatchAction::Start => "batch.start",
        BatchAction::Pause => "batch.pause",
        BatchAction::Resume => "batch.resume",
        BatchAction::Cancel => "batch.cancel",
    };
    let entry = caller.audit(&row.tenant_id, operation, "batch", &row.id);
    state.audit.record(entry.values(Some(json!({"status": from.as_str()})), Some(json!({"status": to.as_str()}))));
    view(state, visible(state, caller, id).await?).await
}

async fn list(state: &AppState, caller: &Caller, r: &pb::ListBatchesRequest) -> Result<pb::ListBatchesResponse> {
    caller.require("batch:read")?;
    let (limit, cursor) = page(r.page.as_ref())?;
    let status = match r.status {
        0 => None,
        v => Some(BatchStatus::from_proto(v).ok_or_else(|| FieldError::new("status", "unknown status"))?),
    };
    let filter = db::BatchFilter {
        tenant_id: caller.tenant_scope("")?,
        status,
        account_id: Some(r.account_id.trim().to_owned()).filter(|a| !a.is_empty()),
    };
    let (rows, next) = db::list_batches(state.db.reader(), &filter, cursor.as_ref(), limit).await?;
    Ok(pb::ListBatchesResponse {
        batches: batch_views(state, state.db.reader(), &rows).await?,
        page: Some(wework_kit::pagination::next_page(next)),
    })
}

/// The page token of `ListReceivers`: the last `seq` of the page.
#[derive(Serialize, Deserialize)]
struct SeqCursor {
    s: i64,
}

async fn list_receivers(
    state: &AppState,
    caller: &Caller,
    r: &pb::ListReceiversRequest,
) -> Result<pb::ListReceiversResponse> {
    caller.require("batch:read")?;
    let row = visible(state, caller, &r.batch_id).await?;
    let limit = wework_kit::pagination::page_size(r.page.as_ref())?;
    let token = r.page.as_ref().map(|p| p.page_token.as_str()).unwrap_or_default();
    let after: Option<SeqCursor> = wework_kit::pagination::decode_token(token)?;
    use pb::ReceiverStatus as R;
    let filter = match R::try_from(r.status) {
        Ok(R::Unspecified) => None,
        Ok(R::Pending) => Some(ReceiverFilter::Pending),
        Ok(R::Queued) => Some(ReceiverFilter::Queued),
        Ok(R::Sent) => Some(ReceiverFilter::Sent),
        Ok(R::Delivered) => Some(ReceiverFilter::Delivered),
        Ok(R::Failed) => Some(ReceiverFilter::Failed),
        Ok(R::Cancelled) => Some(ReceiverFilter::Cancelled),
        Err(_) => return Err(FieldError::new("status", "unknown receiver status").into()),
    };
    let (rows, next) = receivers::list_receivers(state.db.reader(), &row.id, filter, after.map(|c| c.s), limit).await?;
    let next = next.map(|s| wework_kit::pagination::encode_token(&SeqCursor { s }));
    Ok(pb::ListReceiversResponse {
        receivers: rows.iter().map(|(r, m)| receiver_to_proto(r, m.as_ref())).collect(),
        page: Some(wework_kit::pagination::page_response(next)),
    })
}

#[tonic::async_trait]
impl BatchService for Api {
    async fn create_batch(
        &self,
        req: Request<pb::CreateBatchRequest>,
    ) -> Result<Response<pb::CreateBatchResponse>, Status> {
        respond(async { batch_create::create(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn start_batch(&self, req: Request<pb::BatchRef>) -> Result<Response<pb::Batch>, Status> {
        respond(async {
            act(&self.state, &self.state.caller(&req).await?, &req.get_ref().id, BatchAction::Start).await
        })
        .await
    }

    async fn pause_batch(&self, req: Request<pb::BatchRef>) -> Result<Response<pb::Batch>, Status> {
        respond(async {
            act(&self.state, &self.state.caller(&req).await?, &req.get_ref().id, BatchAction::Pause).await
        })
        .await
    }

    async fn resume_batch(&self, req: Request<pb::BatchRef>) -> Result<Response<pb::Batch>, Status> {
        respond(async {
            act(&self.state, &self.state.caller(&req).await?, &req.get_ref().id, BatchAction::Resume).await
        })
        .await
    }

    async fn cancel_batch(&self, req: Request<pb::BatchRef>) -> Result<Response<pb::Batch>, Status> {
        respond(async {
            act(&self.state, &self.state.caller(&req).await?, &req.get_ref().id, BatchAction::Cancel).await
        })
        .await
    }

    async fn get_batch(&self, req: Request<pb::BatchRef>) -> Result<Response<pb::Batch>, Status> {
        respond(async {
            let caller = self.state.caller(&req).await?;
            caller.require("batch:read")?;
            let row = visible(&self.state, &caller, &req.get_ref().id).await?;
            view(&self.state, row).await
        })
        .await
    }

    async fn list_batches(
        &self,
        req: Request<pb::ListBatchesRequest>,
    ) -> Result<Response<pb::ListBatchesResponse>, Status> {
        respond(async { list(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn list_receivers(
        &self,
        req: Request<pb::ListReceiversRequest>,
    ) -> Result<Response<pb::ListReceiversResponse>, Status> {
        respond(async { list_receivers(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }
}
