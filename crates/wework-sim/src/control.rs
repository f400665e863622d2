//! The HTTP control surface under `/control/...`: what a test, a demo or a
//! developer's curl does to the simulated WeWork side (scan, confirm, kick,
//! ban, inbound messages, directory changes, faults) and reads back (sends,
//! callbacks, stats). JSON in, [`Envelope`] out. Unauthenticated and meant
//! for development only: the binary binds loopback by default. Each route
//! mirrors a method of [`crate::Simulator`].

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use wework_client::CallbackEnvelope;
use wework_client::callback::NewMessageData;
use wework_client::protocol::{ClientStatus, Contact, Envelope, GuidRequest, QrCode};

use crate::api::Body;
use crate::config::DirectorySpec;
use crate::error::SimResult;
use crate::faults::Faults;
use crate::lifecycle::KickReason;
use crate::messaging::Inbound;
use crate::state::{Inner, SentMessage};
use crate::stats::Stats;

type Sim = State<Arc<Inner>>;
type Reply<T> = SimResult<Json<Envelope<T>>>;

fn ok<T: Serialize>(data: T) -> Reply<T> {
    Ok(Json(Envelope::ok(data)))
}

#[derive(Deserialize)]
struct Flag {
    guid: String,
    value: bool,
}

#[derive(Deserialize)]
struct Kick {
    guid: String,
    reason: KickReason,
}

#[derive(Deserialize)]
struct SetDirectory {
    guid: String,
    #[serde(flatten)]
    spec: DirectorySpec,
}

#[derive(Deserialize)]
struct Member {
    guid: String,
    group_id: String,
    user_id: String,
}

#[derive(Deserialize)]
struct AddContact {
    guid: String,
    contact: Contact,
}

#[derive(Deserialize)]
struct UserRef {
    guid: String,
    user_id: String,
}

#[derive(Deserialize)]
struct InboundRequest {
    guid: String,
    #[serde(flatten)]
    message: Inbound,
}

#[derive(Deserialize)]
struct Rate {
    guid: String,
    per_sec: u32,
}

pub(crate) fn router(sim: Arc<Inner>) -> Router {
    Router::new()
        .route("/control/scan", post(|State(s): Sim, Body(r): Body<GuidRequest>| async move { ok(s.scan(&r.guid)?) }))
        .route(
            "/control/confirm",
            post(|State(s): Sim, Body(r): Body<GuidRequest>| async move { ok(s.confirm(&r.guid)?) }),
        )
        .route(
            "/control/require-verify",
            post(|State(s): Sim, Body(r): Body<Flag>| async move { ok(s.set_require_verify(&r.guid, r.value)?) }),
        )
        .route(
            "/control/expire-qr",
            post(|State(s): Sim, Body(r): Body<GuidRequest>| async move { ok::<QrCode>(s.expire_qr(&r.guid)?) }),
        )
        .route(
            "/control/decline",
            post(|State(s): Sim, Body(r): Body<GuidRequest>| async move { ok(s.decline(&r.guid)?) }),
        )
        .route(
            "/control/kick",
            post(|State(s): Sim, Body(r): Body<Kick>| async move { ok(s.kick(&r.guid, r.reason)?) }),
        )
        .route(
            "/control/heartbeat-loss",
            post(|State(s): Sim, Body(r): Body<GuidRequest>| async move { ok(s.heartbeat_loss(&r.guid)?) }),
        )
        .route(
            "/control/restorable",
            post(|State(s): Sim, Body(r): Body<Flag>| async move { ok(s.set_restorable(&r.guid, r.value)?) }),
        )
        .route("/control/ban", post(|State(s): Sim, Body(r): Body<GuidRequest>| async move { ok(s.ban(&r.guid)?) }))
        .route("/control/heartbeats", post(|State(s): Sim| async move { ok(s.emit_heartbeats()) }))
        .route(
            "/control/directory",
            post(|State(s): Sim, Body(r): Body<SetDirectory>| async move { ok(s.set_directory(&r.guid, r.spec)?) }),
        )
        .route(
            "/control/remove-group-member",
            post(|State(s): Sim, Body(r): Body<Member>| async move {
                ok(s.remove_group_member(&r.guid, &r.group_id, &r.user_id)?)
            }),
        )
        .route(
            "/control/add-contact",
            post(|State(s): Sim, Body(r): Body<AddContact>| async move { ok(s.add_contact(&r.guid, r.contact)?) }),
        )
        .route(
            "/control/remove-contact",
            post(|State(s): Sim, Body(r): Body<UserRef>| async move { ok(s.remove_contact(&r.guid, &r.user_id)?) }),
        )
        .route(
            "/control/inbound",
            post(|State(s): Sim, Body(r): Body<InboundRequest>| async move {
                ok::<NewMessageData>(s.inbound(&r.guid, r.message)?)
            }),
        )
        .route(
            "/control/inbound-rate",
            post(|State(s): Sim, Body(r): Body<Rate>| async move { ok(s.inbound_rate(&r.guid, r.per_sec)?) }),
        )
        .route(
            "/control/faults",
            get(|State(s): Sim| async move { ok::<Faults>(s.faults()) }).post(
                |State(s): Sim, Body(f): Body<Faults>| async move {
                    s.set_faults(f);
                    ok::<Faults>(s.faults())
                },
            ),
        )
        .route("/control/stats", get(|State(s): Sim| async move { ok::<Stats>(s.stats.snapshot()) }))
        .route(
            "/control/client",
            post(|State(s): Sim, Body(r): Body<GuidRequest>| async move { ok::<ClientStatus>(s.status(&r.guid)?) }),
        )
        .route(
            "/control/sends",
            post(|State(s): Sim, Body(r): Body<GuidRequest>| async move {
                ok::<Vec<SentMessage>>(s.with_client(&r.guid, |c| Ok(c.sends.clone()))?)
            }),
        )
        .route(
            "/control/callbacks",
            post(|State(s): Sim, Body(r): Body<GuidRequest>| async move {
                ok::<Vec<CallbackEnvelope>>(s.with_client(&r.guid, |c| Ok(c.emitted.iter().cloned().collect()))?)
            }),
        )
        .with_state(sim)
}
