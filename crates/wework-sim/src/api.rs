//! The protocol routes of `paths`, served the way a
//! real instance serves them: Bearer token auth, [`Envelope`] bodies, the
//! error code's HTTP status. A middleware counts every call per path and
//! applies the latency and error-rate faults before a handler runs.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wework_client::protocol::{
    ClientState, ClientStatus, Contact, CreateClientRequest, CreateClientResponse, Envelope, ErrorCode, Group,
    GroupMember, GuidRequest, InstanceHealth, ListRequest, Page, QrCode, RestoreResponse, SendMessageRequest,
    SendMessageResponse, SetNotifyUrlRequest, VerifyCodeRequest, paths,
};

use crate::error::{SimError, SimResult};
use crate::faults::roll;
use crate::state::Inner;
use crate::stats::lock;

type Sim = State<Arc<Inner>>;
type Reply<T> = SimResult<Json<Envelope<T>>>;

/// A JSON body whose rejection is a protocol `InvalidRequest`, not axum's
/// plain-text 4xx.
pub(crate) struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = SimError;

    async fn from_request(req: Request, state: &S) -> Result<Self, SimError> {
        Json::<T>::from_request(req, state).await.map(|Json(v)| Body(v)).map_err(|e| SimError::invalid(e.body_text()))
    }
}

fn ok<T: Serialize>(data: T) -> Reply<T> {
    Ok(Json(Envelope::ok(data)))
}

fn done() -> Reply<serde_json::Value> {
    ok(serde_json::json!({}))
}

pub(crate) fn router(sim: Arc<Inner>) -> Router {
    Router::new()
        .route(paths::HEALTH, get(health))
        .route(paths::CLIENT_CREATE, post(create))
        .route(paths::CLIENT_QRCODE, post(qrcode))
        .route(paths::CLIENT_VERIFY, post(verify))
        .route(paths::CLIENT_LOGOUT, post(logout))
        .route(paths::CLIENT_RESTORE, post(restore))
        .route(paths::CLIENT_NOTIFY_URL, post(notify_url))
        .route(paths::CLIENT_STATUS, post(status))
        .route(paths::MESSAGE_SEND, post(send))
        .route(paths::CONTACT_LIST, post(contacts))
        .route(paths::GROUP_LIST, post(groups))
        .route(paths::GROUP_MEMBERS, post(members))
        .layer(middleware::from_fn_with_state(Arc::clone(&sim), gate))
        .with_state(sim)
}

/// Counts the call, checks the token, then applies latency and error-rate
/// faults. A call refused by the error rate is not performed.
async fn gate(State(sim): Sim, req: Request, next: Next) -> Response {
    sim.stats.count_call(req.uri().path());
    let presented = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let expected = format!("Bearer {}", sim.config.token);
    if presented != Some(expected.as_str()) {
        return SimError::new(ErrorCode::Unauthorized, "wrong or missing token").into_response();
    }
    let faults = sim.faults();
    let (latency, fail) = {
        let mut rng = rand::thread_rng();
        (faults.latency(&mut rng), roll(faults.error_rate, &mut rng))
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if fail {
        return SimError::new(ErrorCode::Unavailable, "injected failure").into_response();
    }
    next.run(req).await
}

async fn health(State(sim): Sim) -> Reply<InstanceHealth> {
    let clients = lock(&sim.clients);
    let online = clients.values().filter(|c| c.state == ClientState::Online).count();
    ok(InstanceHealth {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        boot_id: sim.boot_id.clone(),
        clients: u32::try_from(clients.len()).unwrap_or(u32::MAX),
        online: u32::try_from(online).unwrap_or(u32::MAX),
    })
}

async fn create(State(sim): Sim, Body(req): Body<CreateClientRequest>) -> Reply<CreateClientResponse> {
    ok(CreateClientResponse { guid: sim.create_client(&req)? })
}

async fn qrcode(State(sim): Sim, Body(req): Body<GuidRequest>) -> Reply<QrCode> {
    ok(sim.qrcode(&req.guid)?)
}

async fn verify(State(sim): Sim, Body(req): Body<VerifyCodeRequest>) -> Reply<serde_json::Value> {
    sim.verify(&req.guid, &req.code)?;
    done()
}

async fn logout(State(sim): Sim, Body(req): Body<GuidRequest>) -> Reply<serde_json::Value> {
    sim.logout(&req.guid)?;
    done()
}

async fn restore(State(sim): Sim, Body(req): Body<GuidRequest>) -> Reply<RestoreResponse> {
    ok(RestoreResponse { state: sim.restore(&req.guid)? })
}

async fn notify_url(State(sim): Sim, Body(req): Body<SetNotifyUrlRequest>) -> Reply<serde_json::Value> {
    sim.set_notify_url(&req.guid, &req.url)?;
    done()
}

async fn status(State(sim): Sim, Body(req): Body<GuidRequest>) -> Reply<ClientStatus> {
    ok(sim.status(&req.guid)?)
}

/// The `send_timeout_ms` fault holds the response of a performed send.
async fn send(State(sim): Sim, Body(req): Body<SendMessageRequest>) -> Reply<SendMessageResponse> {
    let result = sim.send(&req);
    let hold = sim.faults().send_timeout_ms;
    if result.is_ok() && hold > 0 {
        tokio::time::sleep(Duration::from_millis(hold)).await;
    }
    ok(result?)
}

async fn contacts(State(sim): Sim, Body(req): Body<ListRequest>) -> Reply<Page<Contact>> {
    ok(sim.list_contacts(&req)?)
}

async fn groups(State(sim): Sim, Body(req): Body<ListRequest>) -> Reply<Page<Group>> {
    ok(sim.list_groups(&req)?)
}

async fn members(State(sim): Sim, Body(req): Body<ListRequest>) -> Reply<Page<GroupMember>> {
    ok(sim.list_group_members(&req)?)
}
