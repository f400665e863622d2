//! `wework demo`: a scripted tour of a running platform through its gateway,
//! as a front end and a tenant would use it — a tenant and its operator, a
//! webhook to a local receiver, an account logged in through the simulator
//! (verify-code step included), a text, a template message, a batch, the
//! receipts, statistics and the signed webhooks. Every step prints what it
//! did; the first failure stops the tour with a non-zero exit.

mod receiver;

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::{Value, json};
use task_service::delivery::SigningSecret;

use crate::platform::{ADMIN_PASSWORD_FILE, SIM_ADDR};

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// The gateway of the running platform.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub gateway: String,
    /// The simulator's base URL (its control endpoints play the phone).
    #[arg(long, default_value_t = format!("http://{SIM_ADDR}"))]
    pub sim: String,
    /// The platform admin's password (default: data/admin-password, kept by
    /// the dev profile).
    #[arg(long, env = "WEWORK_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Receivers in the batch.
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// Give up on any one wait after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub step_timeout_secs: u64,
}

/// What the tour saw, for a test to assert on.
#[derive(Debug, Default)]
pub struct Report {
    pub text_delivered: bool,
    pub template_text: String,
    pub batch_success: u64,
    pub batch_delivered: usize,
    /// Today's statistics row: (total, sent, delivered, failed).
    pub statistics: Vec<(u64, u64, u64, u64)>,
    pub webhooks: usize,
    pub valid_signatures: usize,
    pub webhook_types: Vec<String>,
    pub seconds: f64,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    match tour(args).await {
        Ok(report) => {
            println!("\nDemo finished in {:.1} s.", report.seconds);
            Ok(())
        }
        Err(e) => {
            eprintln!("\nDEMO FAILED: {e:#}");
            Err(e)
        }
    }
}

/// Runs the tour, printing each step; the first failure is the error.
pub async fn tour(args: DemoArgs) -> anyhow::Result<Report> {
    let demo = Demo::new(args)?;
    let mut report = Report::default();
    demo.tour(&mut report).await.with_context(|| format!("after {:.1} s", demo.started.elapsed().as_secs_f64()))?;
    report.seconds = demo.started.elapsed().as_secs_f64();
    Ok(report)
}

struct Demo {
    http: reqwest::Client,
    args: DemoArgs,
    started: Instant,
}

impl Demo {
    fn new(args: DemoArgs) -> anyhow::Result<Self> {
        // reqwest is built without a default TLS provider; ring is the platform's.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
        Ok(Self { http, args, started: Instant::now() })
    }

    fn say(&self, what: impl std::fmt::Display) {
        println!("[{:>6.1}s] {what}", self.started.elapsed().as_secs_f64());
    }

    async fn tour(&self, report: &mut Report) -> anyhow::Result<()> {
        let admin_password = self.admin_password()?;
        let admin =
            self.login("platform", "admin", &admin_password).await.context("logging in as the platform admin")?;
        self.say("logged in as the platform administrator");

        let code = format!("demo{}", chrono_suffix());
        let tenant = self
            .call(
                Method::POST,
                "/tenants",
                &admin,
                json!({"tenant_code": code, "name": "Demo Co", "max_accounts": 5, "max_daily_messages": 100000}),
            )
            .await?;
        let tenant_id = str_of(&tenant, "id")?;
        // The simulator is not WeWork: the demo tenant may send as fast as the
        // throttle allows at all (600 a minute per account).
        let throttle =
            json!({"throttle": {"min_interval_ms": 0, "jitter_ms": 0, "per_minute": 600, "per_day": 100000}});
        self.call(Method::PATCH, &format!("/tenants/{tenant_id}"), &admin, json!({"config": throttle})).await?;
        let operator = json!({"tenant_id": tenant_id, "username": "operator", "email": format!("operator@{code}.example"),
            "display_name": "Demo Operator", "password": "demo-operator-passphrase", "roles": ["admin"]});
        self.call(Method::POST, "/users", &admin, operator).await?;
        let token = self.login(&code, "operator", "demo-operator-passphrase").await?;
        self.say(format!("created tenant `{code}` and its operator, logged in as the operator"));

        let receiver = receiver::Receiver::start().await?;
        let endpoint = self.call(Method::PUT, "/endpoints", &token, json!({"url": receiver.url})).await?;
        let secret = SigningSecret::parse_whsec(&str_of(&endpoint, "signing_secret")?)
            .map_err(|e| anyhow::anyhow!("signing secret: {e}"))?;
        self.say(format!("tenant webhook → {} (signing secret received once)", receiver.url));

        let account = self.call(Method::POST, "/accounts", &token, json!({"account_name": "Demo Sales"})).await?;
        let account_id = str_of(&account, "id")?;
        let login = self.call(Method::POST, &format!("/accounts/{account_id}/login"), &token, json!({})).await?;
        let guid = str_of(&login["account"], "guid")?;
        self.say(format!("account {account_id}: login started, QR code {}", login["qr_code_url"]));
        self.sim("require-verify", json!({"guid": guid, "value": true})).await?;
        self.sim("scan", json!({"guid": guid})).await?;
        self.sim("confirm", json!({"guid": guid})).await?;
        self.say("simulator: QR scanned and confirmed on the phone");
        self.wait_account(&token, &account_id, "ACCOUNT_STATUS_NEED_VERIFY").await?;
        self.say("account asks for the verify code; submitting it");
        self.call(
            Method::POST,
            &format!("/accounts/{account_id}/login/verify-code"),
            &token,
            json!({"code": "123456"}),
        )
        .await?;
        self.wait_account(&token, &account_id, "ACCOUNT_STATUS_ONLINE").await?;
        self.say("account is ONLINE");

        let text = json!({"account_id": account_id, "conversation_id": "wmDemoCustomer", "chat_type": "CHAT_TYPE_PRIVATE",
            "content": {"text": {"text": "Hello from the demo"}}, "idempotency_key": "demo-hello"});
        let sent = self.call(Method::POST, "/messages", &token, text).await?;
        let text_id = str_of(&sent["message"], "id")?;
        self.wait_message(&token, &text_id).await?;
        report.text_delivered = true;
        self.say(format!("text message {text_id} DELIVERED"));

        let template = json!({"name": "order-shipped", "content": {"text": {"text": "Hi {{ name }}, order {{ order }} shipped."}},
            "variables": [{"name": "name", "type": "VARIABLE_TYPE_STRING", "required": true},
                          {"name": "order", "type": "VARIABLE_TYPE_STRING", "required": true}]});
        let template = self.call(Method::POST, "/templates", &token, template).await?;
        let template_id = str_of(&template, "id")?;
        let templated = json!({"account_id": account_id, "conversation_id": "wmDemoCustomer", "chat_type": "CHAT_TYPE_PRIVATE",
            "template_id": template_id, "variables": {"name": "Ada", "order": "#42"}});
        let sent = self.call(Method::POST, "/messages", &token, templated).await?;
        let templated_id = str_of(&sent["message"], "id")?;
        let delivered = self.wait_message(&token, &templated_id).await?;
        report.template_text = delivered["content"]["text"]["text"].as_str().unwrap_or_default().to_owned();
        self.say(format!("template message DELIVERED: {}", delivered["content"]["text"]["text"]));

        let receivers: Vec<Value> = (0..self.args.batch_size)
            .map(|i| json!({"conversation_id": format!("wmDemoBatch{i:05}"), "chat_type": "CHAT_TYPE_PRIVATE"}))
            .collect();
        let batch = json!({"name": "demo batch", "account_id": account_id, "content": {"text": {"text": "Spring sale starts today"}},
            "targets": {"manual": {"receivers": receivers}}, "start": true});
        let batch = self.call(Method::POST, "/batches", &token, batch).await?;
        let batch_id = str_of(&batch["batch"], "id")?;
        self.say(format!("batch {batch_id}: {} receivers, started", self.args.batch_size));
        let done = self.wait_batch(&token, &batch_id).await?;
        report.batch_success = done["success_count"].as_u64().unwrap_or(0);
        self.say(format!("batch COMPLETED: {} sent, {} failed", done["success_count"], done["failed_count"]));

        let delivered = self.wait_delivered_in_batch(&token, &batch_id).await?;
        report.batch_delivered = delivered;
        self.say(format!("delivery receipts: {delivered} of {} batch messages DELIVERED", self.args.batch_size));
        let today = today_utc();
        let stats = self.get(&format!("/statistics/messages?from_date={today}&to_date={today}"), &token).await?;
        for row in stats["rows"].as_array().into_iter().flatten() {
            let n = |f: &str| row[f].as_u64().unwrap_or(0);
            report.statistics.push((n("total"), n("sent"), n("delivered"), n("failed")));
            self.say(format!(
                "statistics {}: total {}, sent {}, delivered {}, failed {}",
                row["date"], row["total"], row["sent"], row["delivered"], row["failed"]
            ));
        }

        // Each message is announced as sent and as delivered.
        let expected = 2 * (self.args.batch_size + 2);
        let deliveries = self.wait_webhooks(&receiver, expected).await?;
        let valid = deliveries.iter().filter(|d| d.signature_valid(&secret)).count();
        let mut types: Vec<String> = deliveries.iter().map(receiver::Delivery::event_type).collect();
        types.sort();
        types.dedup();
        let (n, kinds) = (deliveries.len(), types.join(", "));
        self.say(format!("webhooks received: {n} ({valid} with a valid signature), types: {kinds}"));
        (report.webhooks, report.valid_signatures) = (deliveries.len(), valid);
        report.webhook_types.clone_from(&types);
        if valid != deliveries.len() {
            bail!("{} webhook(s) failed signature verification", deliveries.len() - valid);
        }
        Ok(())
    }

    fn admin_password(&self) -> anyhow::Result<String> {
        if let Some(pw) = &self.args.admin_password {
            return Ok(pw.clone());
        }
        let path = std::path::Path::new("data").join(ADMIN_PASSWORD_FILE);
        std::fs::read_to_string(&path).map(|s| s.trim().to_owned()).with_context(|| {
            format!("no admin password: pass --admin-password or run from the directory holding {}", path.display())
        })
    }

    async fn login(&self, tenant: &str, user: &str, password: &str) -> anyhow::Result<String> {
        let body = json!({"tenant_code": tenant, "login": user, "password": password});
        let reply = self.send(Method::POST, "/auth/login", None, Some(body)).await?;
        str_of(&reply["tokens"], "access_token")
    }

    async fn call(&self, method: Method, path: &str, token: &str, body: Value) -> anyhow::Result<Value> {
        self.send(method, path, Some(token), Some(body)).await
    }

    async fn get(&self, path: &str, token: &str) -> anyhow::Result<Value> {
        self.send(Method::GET, path, Some(token), None).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}/api/v1{path}", self.args.gateway.trim_end_matches('/'));
        let mut req = self.http.request(method.clone(), &url);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.with_context(|| format!("{method} {url}: is the platform running?"))?;
        let status = res.status();
        let json: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{method} {path} → {status}: {}", json["detail"].as_str().unwrap_or("no detail"));
        }
        Ok(json)
    }

    async fn sim(&self, action: &str, body: Value) -> anyhow::Result<()> {
        let url = format!("{}/control/{action}", self.args.sim.trim_end_matches('/'));
        let res = self.http.post(&url).json(&body).send().await.with_context(|| format!("simulator {url}"))?;
        if !res.status().is_success() {
            bail!("simulator {action} → {}", res.status());
        }
        Ok(())
    }

    /// Polls `check` every 200 ms until it yields a value or the step times out.
    async fn poll<T, F, Fut>(&self, what: &str, mut check: F) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
    {
        let deadline = Instant::now() + Duration::from_secs(self.args.step_timeout_secs);
        loop {
            if let Some(v) = check().await? {
                return Ok(v);
            }
            if Instant::now() > deadline {
                bail!("timed out waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn wait_account(&self, token: &str, id: &str, status: &str) -> anyhow::Result<()> {
        self.poll(&format!("account {id} to be {status}"), || async {
            let a = self.get(&format!("/accounts/{id}"), token).await?;
            Ok((a["status"] == status).then_some(()))
        })
        .await
    }

    async fn wait_message(&self, token: &str, id: &str) -> anyhow::Result<Value> {
        self.poll(&format!("message {id} to be delivered"), || async {
            let m = self.get(&format!("/messages/{id}"), token).await?;
            match m["status"].as_str() {
                Some("MESSAGE_STATUS_DELIVERED") => Ok(Some(m)),
                Some("MESSAGE_STATUS_FAILED" | "MESSAGE_STATUS_CANCELLED") => {
                    bail!("message {id} ended {}", m["status"])
                }
                _ => Ok(None),
            }
        })
        .await
    }

    async fn wait_batch(&self, token: &str, id: &str) -> anyhow::Result<Value> {
        let mut last_report = Instant::now();
        self.poll(&format!("batch {id} to complete"), || {
            let report = last_report.elapsed() > Duration::from_secs(5);
            if report {
                last_report = Instant::now();
            }
            async move {
                let b = self.get(&format!("/batches/{id}"), token).await?;
                match b["status"].as_str() {
                    Some("BATCH_STATUS_COMPLETED") => Ok(Some(b)),
                    Some("BATCH_STATUS_FAILED" | "BATCH_STATUS_CANCELLED") => bail!("batch {id} ended {}", b["status"]),
                    _ => {
                        if report {
                            self.say(format!(
                                "  batch progress: {} of {} sent (ETA {} s)",
                                b["sent_count"], b["total_count"], b["eta_secs"]
                            ));
                        }
                        Ok(None)
                    }
                }
            }
        })
        .await
    }

    async fn wait_delivered_in_batch(&self, token: &str, batch_id: &str) -> anyhow::Result<usize> {
        self.poll("the batch's receipts", || async {
            let mut delivered = 0;
            let mut page_token = String::new();
            loop {
                let path = format!(
                    "/messages?batch_id={batch_id}&status=MESSAGE_STATUS_DELIVERED&page_size=500&page_token={page_token}"
                );
                let page = self.get(&path, token).await?;
                delivered += page["messages"].as_array().map_or(0, Vec::len);
                page_token = page["page"]["next_page_token"].as_str().unwrap_or_default().to_owned();
                if page_token.is_empty() {
                    break;
                }
            }
            Ok((delivered >= self.args.batch_size).then_some(delivered))
        })
        .await
    }

    async fn wait_webhooks(
        &self,
        receiver: &receiver::Receiver,
        at_least: usize,
    ) -> anyhow::Result<Vec<receiver::Delivery>> {
        self.poll(&format!("{at_least} webhooks"), || async {
            let got = receiver.deliveries();
            Ok((got.len() >= at_least).then_some(got))
        })
        .await
    }
}

fn str_of(v: &Value, field: &str) -> anyhow::Result<String> {
    v[field].as_str().map(str::to_owned).with_context(|| format!("the answer has no `{field}`: {v}"))
}

/// A short, increasing suffix so each tour gets a fresh tenant code.
fn chrono_suffix() -> String {
    (chrono::Utc::now().timestamp() % 100_000_000).to_string()
}

fn today_utc() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}
