//! The login flow a user drives: StartLogin picks an instance with room
//! (or keeps the account's), creates the client there and fetches a QR code
//! (`created|offline|error → logging_in → waiting_scan`); RefreshQr,
//! SubmitVerifyCode, Logout and Recover. The rest of the flow (scanned,
//! confirmed, online) arrives as instance events through `ReportEvent`.

use std::sync::Arc;

use chrono::DateTime;
use wework_client::protocol::{CreateClientRequest, ProxyConfig, QrCode};
use wework_client::{ProviderError, WeworkProvider};
use wework_proto::account as pb;

use super::accounts::visible_account;
use super::context::Caller;
use super::convert::{account_to_proto, ts_opt};
use crate::domain::{AccountStatus, FieldError, validate};
use crate::error::{Error, Result};
use crate::lifecycle::{self, Cause, Decision, move_to, refused, status_of};
use crate::state::AppState;
use crate::store::{self, entity::account, entity::instance, instance_status};

/// The driver of the account's instance.
pub async fn driver_for(state: &AppState, row: &account::Model) -> Result<(Arc<dyn WeworkProvider>, instance::Model)> {
    let id = row.instance_id.as_deref().ok_or_else(|| no_session("the account has no instance yet; start a login"))?;
    let inst = store::find_instance(state.db.reader(), id).await?.ok_or_else(|| no_session("its instance is gone"))?;
    let token = state.open(&inst.token_sealed)?;
    Ok((state.providers.driver(&inst.api_url, &token), inst))
}

fn no_session(message: &str) -> Error {
    Error::precondition("NO_SESSION", message)
}

fn login_state(row: &account::Model) -> pb::LoginState {
    pb::LoginState {
        account: Some(account_to_proto(row)),
        qr_code_url: row.qr_code_url.clone().unwrap_or_default(),
        qr_expires_at: ts_opt(row.qr_expires_at),
    }
}

/// The proxy a new client gets, with its password opened.
fn client_proxy(state: &AppState, inst: &instance::Model) -> Result<Option<ProxyConfig>> {
    let Some(json) = &inst.proxy_config else {
        return Ok(None);
    };
    let mut proxy: ProxyConfig = store::from_json(json)?;
    proxy.password = inst.proxy_password_sealed.as_deref().map(|s| state.open(s)).transpose()?;
    Ok(Some(proxy))
}

/// Keeps the account's instance if it can still log in, otherwise takes a
/// slot on the best candidate. Returns the instance and whether it is new.
async fn ensure_instance(state: &AppState, row: &account::Model, region: &str) -> Result<(instance::Model, bool)> {
    if let Some(id) = &row.instance_id
        && let Some(inst) = store::find_instance(state.db.writer(), id).await?
        && inst.status != instance_status::DISABLED
    {
        return Ok((inst, false));
    }
    let now = state.clock.now();
    for candidate in store::assignment_candidates(state.db.writer(), region).await? {
        if store::take_slot(state.db.writer(), &candidate.id, now).await? {
            return Ok((candidate, true));
        }
    }
    Err(Error::ResourceExhausted("no protocol instance has room for another account".to_owned()))
}

pub async fn start(state: &AppState, caller: &Caller, r: &pb::StartLoginRequest) -> Result<pb::LoginState> {
    caller.require("account:login")?;
    let region = validate::region(&r.region)?;
    let row = visible_account(state, caller, &r.id).await?;
    crate::domain::status::check_transition(status_of(&row), AccountStatus::LoggingIn).map_err(refused)?;
    let (inst, new_slot) = ensure_instance(state, &row, &region).await?;
    let (kind, operator) = caller.operator();
    let cause = Cause::new("login started", kind, operator);
    let moved = lifecycle::update_account(state, &row.id, Some(&row.tenant_id), |current, _| {
        let (mut next, history) =
            move_to(current, AccountStatus::LoggingIn, &cause, state.clock.now()).map_err(refused)?;
        if history.is_none() {
            // Another StartLogin claimed the account between our read and this write.
            return Err(Error::precondition("LOGIN_IN_PROGRESS", "a login of this account is already starting"));
        }
        if next.instance_id.as_deref() != Some(inst.id.as_str()) {
            next.guid = None;
        }
        next.instance_id = Some(inst.id.clone());
        next.qr_code_url = None;
        next.qr_expires_at = None;
        next.next_recover_at = None;
        next.error_message = None;
        Ok(Decision::Write { row: Box::new(next), history })
    })
    .await;
    let moved = match moved {
        Ok(outcome) => outcome.into_account(),
        Err(e) => {
            if new_slot {
                store::release_slot(state.db.writer(), &inst.id, state.clock.now()).await?;
            }
            return Err(e);
        }
    };
    if new_slot && let Some(old) = row.instance_id.as_deref().filter(|old| *old != inst.id) {
        store::release_slot(state.db.writer(), old, state.clock.now()).await?;
    }
    state.audit.record(caller.audit(&row.tenant_id, "account.login.start", "account", &row.id));
    match fetch_qr(state, &moved, &inst).await {
        Ok((guid, qr)) => {
            let done = qr_issued(state, &moved.id, Some(guid), qr, "qr code issued").await?;
            Ok(login_state(&done))
        }
        Err(e) => {
            login_failed(state, &moved.id, &e).await?;
            Err(e)
        }
    }
}

/// Creates the client (or reuses the account's) and fetches its QR code. A
/// guid the instance no longer knows is replaced by a new client once.
async fn fetch_qr(state: &AppState, row: &account::Model, inst: &instance::Model) -> Result<(String, QrCode)> {
    let driver = state.providers.driver(&inst.api_url, &state.open(&inst.token_sealed)?);
    if let Some(guid) = &row.guid {
        match driver.get_qr_code(guid).await {
            Ok(qr) => return Ok((guid.clone(), qr)),
            Err(ProviderError::UnknownClient(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let req = CreateClientRequest {
        notify_url: Some(state.settings.provider.notify_url.clone()),
        proxy: client_proxy(state, inst)?,
        device_name: Some(state.settings.provider.device_name.clone()),
    };
    let guid = driver.create_client(&req).await?.guid;
    // Stored before anything else happens: the instance's first callbacks
    // for this client must already resolve to the account.
    let g = guid.clone();
    lifecycle::update_account(state, &row.id, None, move |current, _| {
        if lifecycle::status_of(current) != AccountStatus::LoggingIn {
            return Ok(Decision::Skip("the login moved on".to_owned()));
        }
        let mut next = current.clone();
        next.guid = Some(g.clone());
        Ok(Decision::Write { row: Box::new(next), history: None })
    })
    .await?;
    let qr = driver.get_qr_code(&guid).await?;
    Ok((guid, qr))
}

/// Records a QR code: `waiting_scan` (from logging_in, or back from
/// waiting_confirm), or just the new code when already waiting.
async fn qr_issued(
    state: &AppState,
    id: &str,
    guid: Option<String>,
    qr: QrCode,
    reason: &str,
) -> Result<account::Model> {
    let cause = Cause::new(reason, crate::domain::OperatorType::System, None);
    let outcome = lifecycle::update_account(state, id, None, |current, now| {
        let (mut next, history) = match move_to(current, AccountStatus::WaitingScan, &cause, now) {
            Ok(moved) => moved,
            // An event got there first (e.g. the login already succeeded).
            Err(e) => return Ok(Decision::Skip(e.to_string())),
        };
        if let Some(g) = &guid {
            next.guid = Some(g.clone());
        }
        next.qr_code_url = Some(qr.qr_url.clone());
        next.qr_expires_at = DateTime::from_timestamp(qr.expires_at, 0);
        Ok(Decision::Write { row: Box::new(next), history })
    })
    .await?;
    Ok(outcome.into_account())
}

/// A login that could not get going: `error` with the reason.
async fn login_failed(state: &AppState, id: &str, error: &Error) -> Result<()> {
    let message = match error {
        Error::Provider(p) => format!("instance: {}", p.code()),
        other => other.to_string(),
    };
    let cause = Cause::new("login failed", crate::domain::OperatorType::System, None).with_error(Some(message.clone()));
    lifecycle::update_account(state, id, None, |current, now| {
        match move_to(current, AccountStatus::Error, &cause, now) {
            Ok((mut next, history)) => {
                next.error_message = Some(message.clone());
                next.login_retry_count += 1;
                Ok(Decision::Write { row: Box::new(next), history })
            }
            Err(e) => Ok(Decision::Skip(e.to_string())),
        }
    })
    .await?;
    Ok(())
}

pub async fn refresh_qr(state: &AppState, caller: &Caller, id: &str) -> Result<pb::LoginState> {
    caller.require("account:login")?;
    let row = visible_account(state, caller, id).await?;
    if status_of(&row) != AccountStatus::WaitingScan {
        return Err(Error::precondition(
            "NOT_WAITING_FOR_SCAN",
            "only a login waiting for its scan gets a new QR code",
        ));
    }
    let guid = row.guid.clone().ok_or_else(|| no_session("the login has no client"))?;
    let (driver, _) = driver_for(state, &row).await?;
    let qr = driver.get_qr_code(&guid).await?;
    Ok(login_state(&qr_issued(state, &row.id, None, qr, "qr code refreshed").await?))
}

pub async fn submit_code(state: &AppState, caller: &Caller, r: &pb::SubmitVerifyCodeRequest) -> Result<pb::LoginState> {
    caller.require("account:login")?;
    let code = validate::verify_code(&r.code)?;
    let row = visible_account(state, caller, &r.id).await?;
    if status_of(&row) != AccountStatus::NeedVerify {
        return Err(Error::precondition("NOT_WAITING_FOR_CODE", "the login is not waiting for a verification code"));
    }
    let guid = row.guid.clone().ok_or_else(|| no_session("the login has no client"))?;
    let (driver, _) = driver_for(state, &row).await?;
    // The code itself is never recorded.
    state.audit.record(caller.audit(&row.tenant_id, "account.login.verify", "account", &row.id));
    match driver.submit_verify_code(&guid, &code).await {
        Ok(()) => Ok(login_state(&row)),
        Err(ProviderError::InvalidRequest(_)) => {
            Err(FieldError::new("code", "the verification code was not accepted").into())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn logout(state: &AppState, caller: &Caller, id: &str) -> Result<pb::Account> {
    caller.require("account:login")?;
    let row = visible_account(state, caller, id).await?;
    crate::domain::status::check_transition(status_of(&row), AccountStatus::Offline).map_err(refused)?;
    if let Some(guid) = &row.guid {
        let (driver, _) = driver_for(state, &row).await?;
        match driver.logout(guid).await {
            Ok(()) | Err(ProviderError::UnknownClient(_) | ProviderError::NotLoggedIn(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    state.audit.record(caller.audit(&row.tenant_id, "account.logout", "account", &row.id));
    let (kind, operator) = caller.operator();
    let cause = Cause::new("logged out by a user", kind, operator);
    let outcome = lifecycle::update_account(state, &row.id, Some(&row.tenant_id), |current, now| {
        let (mut next, history) = move_to(current, AccountStatus::Offline, &cause, now).map_err(refused)?;
        next.next_recover_at = None;
        next.qr_code_url = None;
        next.qr_expires_at = None;
        Ok(Decision::Write { row: Box::new(next), history })
    })
    .await?;
    Ok(account_to_proto(outcome.account()))
}

pub async fn recover(state: &AppState, caller: &Caller, id: &str) -> Result<pb::Account> {
    caller.require("account:login")?;
    let row = visible_account(state, caller, id).await?;
    crate::domain::status::check_transition(status_of(&row), AccountStatus::Recovering).map_err(refused)?;
    if row.guid.is_none() {
        return Err(no_session("the account never logged in; start a login"));
    }
    state.audit.record(caller.audit(&row.tenant_id, "account.recover", "account", &row.id));
    let (kind, operator) = caller.operator();
    let cause = Cause::new("recovery requested", kind, operator);
    let outcome = lifecycle::update_account(state, &row.id, Some(&row.tenant_id), |current, now| {
        let (mut next, history) = move_to(current, AccountStatus::Recovering, &cause, now).map_err(refused)?;
        next.recover_attempts = 0;
        next.next_recover_at = Some(now);
        Ok(Decision::Write { row: Box::new(next), history })
    })
    .await?;
    let account = crate::worker::watchdog::attempt_restore(state, outcome.account()).await?;
    Ok(account_to_proto(&account))
}
