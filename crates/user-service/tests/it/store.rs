//! The store against real databases: a fresh SQLite file always, and a
//! throwaway MariaDB/MySQL database too when `WEWORK_TEST_MYSQL_URL` is set.
//! Each test runs its body once per backend.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, TransactionTrait};
use user_migration::{Migrator, MigratorTrait};
use user_service::store::{self, Cursor, NewRole, NewSession, NewTenant, NewUser, UserFilter};

/// A migrated database that cleans up after itself (`finish`).
struct TestDb {
    db: DatabaseConnection,
    name: &'static str,
    _dir: Option<tempfile::TempDir>,
    drop_sql: Option<(DatabaseConnection, String)>,
}

impl TestDb {
    async fn finish(self) {
        self.db.close().await.unwrap();
        if let Some((admin, sql)) = self.drop_sql {
            admin.execute_unprepared(&sql).await.unwrap();
        }
    }
}

async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("user.db").display());
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(8).map_sqlx_sqlite_opts(|o| {
        o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal).busy_timeout(std::time::Duration::from_secs(10))
    });
    let db = Database::connect(opts).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    TestDb { db, name: "sqlite", _dir: Some(dir), drop_sql: None }
}

async fn mysql(url: &str) -> TestDb {
    let admin = Database::connect(url).await.unwrap();
    let name = format!("t_store_{}", uuid::Uuid::now_v7().simple());
    admin.execute_unprepared(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4")).await.unwrap();
    let base = url.rsplit_once('/').map_or(url, |(b, _)| b);
    let mut opts = ConnectOptions::new(format!("{base}/{name}"));
    opts.max_connections(16);
    let db = Database::connect(opts).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    TestDb { db, name: "mysql", _dir: None, drop_sql: Some((admin, format!("DROP DATABASE `{name}`"))) }
}

async fn backends() -> Vec<TestDb> {
    let mut out = vec![sqlite().await];
    if let Ok(url) = std::env::var("WEWORK_TEST_MYSQL_URL") {
        out.push(mysql(&url).await);
    }
    out
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()
}

async fn tenant<C: ConnectionTrait>(db: &C, code: &str) -> store::TenantModel {
    store::insert_tenant(
        db,
        NewTenant {
            id: store::new_id(),
            tenant_code: code.to_owned(),
            name: format!("Tenant {code}"),
            max_accounts: 10,
            max_daily_messages: 100,
            webhook_url: None,
            config: Some(serde_json::json!({"region": "cn"})),
            created_at: t0(),
        },
    )
    .await
    .unwrap()
}

async fn user<C: ConnectionTrait>(db: &C, tenant_id: &str, username: &str, at: DateTime<Utc>) -> store::UserModel {
    store::insert_user(
        db,
        NewUser {
            id: store::new_id(),
            tenant_id: tenant_id.to_owned(),
            username: username.to_owned(),
            email: Some(format!("{username}@example.com")),
            phone: None,
            display_name: username.to_uppercase(),
            password_hash: "$argon2id$fake".to_owned(),
            created_at: at,
        },
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn daily_quota_never_over_grants_under_concurrency() {
    for t in backends().await {
        let db = Arc::new(t.db.clone());
        let tn = tenant(&*db, "quota").await;
        let (limit, n) = (100_i64, 3_i64);
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let db = db.clone();
                let tid = tn.id.clone();
                tokio::spawn(
                    async move { store::reserve_daily_messages(&*db, &tid, "2026-11-23", n, limit, t0()).await },
                )
            })
            .collect();
        let mut granted = 0;
        for task in tasks {
            let r = task.await.unwrap().unwrap();
            assert!(r.used <= limit, "{}: used {} over limit", t.name, r.used);
            granted += i64::from(r.granted);
        }
        assert_eq!(granted, limit / n, "{}: every reservation that fits is granted, none more", t.name);
        assert_eq!(store::daily_used(&*db, &tn.id, "2026-11-23").await.unwrap(), granted * n, "{}", t.name);
        // Another day and another tenant are separate counters.
        assert_eq!(store::daily_used(&*db, &tn.id, "2026-11-24").await.unwrap(), 0);
        store::release_daily_messages(&*db, &tn.id, "2026-11-23", 10).await.unwrap();
        assert_eq!(store::daily_used(&*db, &tn.id, "2026-11-23").await.unwrap(), granted * n - 10);
        store::release_daily_messages(&*db, &tn.id, "2026-11-23", 1_000).await.unwrap();
        assert_eq!(store::daily_used(&*db, &tn.id, "2026-11-23").await.unwrap(), 0, "{}: never below zero", t.name);
        drop(db);
        t.finish().await;
    }
}

#[tokio::test]
async fn users_are_scoped_by_tenant() {
    for t in backends().await {
        let db = &t.db;
        let (a, b) = (tenant(db, "a").await, tenant(db, "b").await);
        let u = user(db, &a.id, "alice", t0()).await;
        assert!(store::find_user(db, &b.id, &u.id).await.unwrap().is_none(), "{}", t.name);
        assert_eq!(store::find_user(db, &a.id, &u.id).await.unwrap().unwrap().id, u.id);
        let changes = store::UserChanges { display_name: Some("Mallory".into()), ..Default::default() };
        assert!(store::update_user(db, &b.id, &u.id, changes, t0()).await.unwrap().is_none());
        assert!(!store::soft_delete_user(db, &b.id, &u.id, t0()).await.unwrap());
        assert!(store::find_user_for_login(db, &b.id, "alice").await.unwrap().is_none());
        assert!(store::list_users(db, &b.id, &UserFilter::default(), t0(), None, 10).await.unwrap().0.is_empty());
        assert_eq!(store::count_users(db, &a.id).await.unwrap(), 1);
        assert_eq!(store::count_users(db, &b.id).await.unwrap(), 0);
        // Same username in another tenant is fine; twice in one tenant is not.
        user(db, &b.id, "alice", t0()).await;
        let dup = store::insert_user(
            db,
            NewUser {
                id: store::new_id(),
                tenant_id: a.id.clone(),
                username: "alice".into(),
                email: None,
                phone: None,
                display_name: "x".into(),
                password_hash: "x".into(),
                created_at: t0(),
            },
        )
        .await;
        assert!(dup.is_err(), "{}: duplicate username accepted", t.name);
        t.finish().await;
    }
}

#[tokio::test]
async fn keyset_pages_cover_every_row_once_in_order() {
    for t in backends().await {
        let db = &t.db;
        let tn = tenant(db, "pages").await;
        let mut all = Vec::new();
        for i in 0..7 {
            all.push(user(db, &tn.id, &format!("u{i}"), t0() + Duration::milliseconds(i * 1500 + 123)).await);
        }
        // Two rows in the same instant: the id breaks the tie.
        for name in ["same1", "same2"] {
            all.push(user(db, &tn.id, name, t0() + Duration::seconds(3)).await);
        }
        all.sort_by(|x, y| (y.created_at, &y.id).cmp(&(x.created_at, &x.id)));
        let mut seen = Vec::new();
        let mut cursor: Option<Cursor> = None;
        for page in 0.. {
            let (rows, next) = store::list_users(db, &tn.id, &UserFilter::default(), t0(), cursor, 4).await.unwrap();
            assert!(rows.len() <= 4);
            seen.extend(rows.into_iter().map(|u| u.id));
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
            assert!(page < 5, "pagination does not terminate");
        }
        let want: Vec<String> = all.iter().map(|u| u.id.clone()).collect();
        assert_eq!(seen, want, "{}", t.name);
        // An exact multiple of the page size ends without an empty extra page.
        let (rows, next) = store::list_users(db, &tn.id, &UserFilter::default(), t0(), None, 9).await.unwrap();
        assert_eq!((rows.len(), next), (9, None), "{}", t.name);
        // Text filter, case-insensitive, wildcards literal.
        let q = UserFilter { query: Some("SAME".into()), ..Default::default() };
        assert_eq!(store::list_users(db, &tn.id, &q, t0(), None, 10).await.unwrap().0.len(), 2);
        let q = UserFilter { query: Some("%".into()), ..Default::default() };
        assert!(store::list_users(db, &tn.id, &q, t0(), None, 10).await.unwrap().0.is_empty(), "{}", t.name);
        t.finish().await;
    }
}

async fn session<C: ConnectionTrait>(
    db: &C,
    tn: &str,
    uid: &str,
    hash: &str,
    at: DateTime<Utc>,
) -> store::SessionModel {
    store::insert_session(
        db,
        NewSession {
            id: store::new_id(),
            tenant_id: tn.to_owned(),
            user_id: uid.to_owned(),
            refresh_token_hash: hash.to_owned(),
            access_token_hash: None,
            device: Some("cli".into()),
            ip: Some("127.0.0.1".into()),
            user_agent: Some("x".repeat(600)),
            created_at: at,
            expires_at: at + Duration::days(30),
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn refresh_rotation_is_compare_and_set() {
    for t in backends().await {
        let db = &t.db;
        let tn = tenant(db, "sess").await;
        let u = user(db, &tn.id, "bob", t0()).await;
        let (h1, h2, h3) = ("a".repeat(64), "b".repeat(64), "c".repeat(64));
        let s = session(db, &tn.id, &u.id, &h1, t0()).await;
        assert_eq!(s.user_agent.as_deref().map(str::len), Some(512));
        let later = t0() + Duration::minutes(5);
        assert!(store::rotate_refresh(db, &s.id, &h1, &h2, later).await.unwrap(), "{}", t.name);
        assert!(!store::rotate_refresh(db, &s.id, &h1, &h3, later).await.unwrap(), "{}: stale hash won", t.name);
        let row = store::find_session(db, &s.id).await.unwrap().unwrap();
        assert_eq!(row.refresh_token_hash, h2);
        assert_eq!(row.previous_refresh_hash.as_deref(), Some(h1.as_str()));
        assert_eq!(row.rotated_at, Some(later), "{}: timestamps round-trip", t.name);

        let other = session(db, &tn.id, &u.id, &h3, t0() + Duration::seconds(1)).await;
        let (live, _) = store::list_active_sessions(db, &tn.id, &u.id, later, None, 10).await.unwrap();
        assert_eq!(live.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [other.id.as_str(), s.id.as_str()]);
        let wrong = tenant(db, "sess-other").await;
        assert!(!store::revoke_session(db, &wrong.id, &s.id, "x", later).await.unwrap());
        assert!(store::revoke_session(db, &tn.id, &s.id, "logout", later).await.unwrap());
        assert!(
            !store::rotate_refresh(db, &s.id, &h2, &h1, later).await.unwrap(),
            "{}: revoked session rotated",
            t.name
        );
        let revoked = store::revoke_user_sessions(db, &tn.id, &u.id, "password_reset", later).await.unwrap();
        assert_eq!(revoked, vec![other.id.clone()]);
        assert!(store::list_active_sessions(db, &tn.id, &u.id, later, None, 10).await.unwrap().0.is_empty());
        t.finish().await;
    }
}

#[tokio::test]
async fn login_bookkeeping() {
    for t in backends().await {
        let db = &t.db;
        let tn = tenant(db, "login").await;
        let u = user(db, &tn.id, "Carol", t0()).await;
        let by_email = store::find_user_for_login(db, &tn.id, "CAROL@Example.com").await.unwrap();
        assert_eq!(by_email.map(|x| x.id), Some(u.id.clone()), "{}", t.name);
        assert!(store::find_user_for_login(db, &tn.id, "Carol").await.unwrap().is_some());

        let txn = db.begin().await.unwrap();
        assert_eq!(store::increment_failed_logins(&txn, &tn.id, &u.id).await.unwrap(), 1);
        assert_eq!(store::increment_failed_logins(&txn, &tn.id, &u.id).await.unwrap(), 2);
        store::set_locked_until(&txn, &tn.id, &u.id, Some(t0() + Duration::seconds(2))).await.unwrap();
        txn.commit().await.unwrap();
        let row = store::find_user(db, &tn.id, &u.id).await.unwrap().unwrap();
        assert_eq!((row.failed_login_count, row.locked_until), (2, Some(t0() + Duration::seconds(2))));
        store::record_login_success(db, &tn.id, &u.id, Some("10.0.0.1"), t0()).await.unwrap();
        let row = store::find_user(db, &tn.id, &u.id).await.unwrap().unwrap();
        assert_eq!((row.failed_login_count, row.locked_until), (0, None));
        assert_eq!(row.last_login_ip.as_deref(), Some("10.0.0.1"));

        store::set_two_factor(db, &tn.id, &u.id, true, Some("sealed".into())).await.unwrap();
        assert!(store::set_two_factor_last_step(db, &tn.id, &u.id, 100).await.unwrap());
        assert!(!store::set_two_factor_last_step(db, &tn.id, &u.id, 100).await.unwrap(), "{}: replay", t.name);
        assert!(!store::set_two_factor_last_step(db, &tn.id, &u.id, 99).await.unwrap());
        assert!(store::set_two_factor_last_step(db, &tn.id, &u.id, 101).await.unwrap());

        // Soft delete frees the username and email for a new user.
        assert!(store::soft_delete_user(db, &tn.id, &u.id, t0()).await.unwrap());
        assert!(store::find_user(db, &tn.id, &u.id).await.unwrap().is_none());
        assert!(store::find_user_for_login(db, &tn.id, "Carol").await.unwrap().is_none());
        let again = user(db, &tn.id, "Carol", t0()).await;
        assert_ne!(again.id, u.id);
        t.finish().await;
    }
}

#[tokio::test]
async fn roles_grants_and_effective_permissions() {
    for t in backends().await {
        let db = &t.db;
        let tn = tenant(db, "rbac").await;
        let u = user(db, &tn.id, "dave", t0()).await;
        let v = user(db, &tn.id, "erin", t0()).await;
        let role = |name: &str, perms: &[&str]| NewRole {
            id: store::new_id(),
            tenant_id: tn.id.clone(),
            name: name.to_owned(),
            description: String::new(),
            is_system: false,
            permissions: perms.iter().map(|p| (*p).to_owned()).collect(),
            created_at: t0(),
        };
        let ops = store::insert_role(db, role("operator", &["message:*", "account:read", "message:*"])).await.unwrap();
        let view = store::insert_role(db, role("viewer", &["account:read"])).await.unwrap();
        let later = t0() + Duration::hours(2);
        store::assign_role(db, &tn.id, &u.id, &ops.id, None, Some(t0() + Duration::hours(1)), t0()).await.unwrap();
        store::assign_role(db, &tn.id, &u.id, &view.id, None, None, t0()).await.unwrap();
        store::assign_role(db, &tn.id, &v.id, &ops.id, Some(&u.id), None, t0()).await.unwrap();

        let perms = store::effective_permissions(db, &tn.id, &u.id, t0()).await.unwrap();
        assert_eq!(perms, ["account:read", "message:*"], "{}", t.name);
        let perms = store::effective_permissions(db, &tn.id, &u.id, later).await.unwrap();
        assert_eq!(perms, ["account:read"], "{}: expired grant still counts", t.name);
        let roles = store::active_roles_of_user(db, &tn.id, &u.id, later).await.unwrap();
        assert_eq!(roles, [(view.id.clone(), "viewer".to_owned())]);
        // Re-assigning updates the expiry.
        store::assign_role(db, &tn.id, &u.id, &ops.id, None, None, later).await.unwrap();
        assert_eq!(store::active_roles_of_user(db, &tn.id, &u.id, later).await.unwrap().len(), 2, "{}", t.name);

        let f = UserFilter { role: Some("operator".into()), ..Default::default() };
        let (rows, _) = store::list_users(db, &tn.id, &f, later, None, 10).await.unwrap();
        assert_eq!(rows.len(), 2);
        let names = store::role_names_for_users(db, &tn.id, &[u.id.clone(), v.id.clone()], later).await.unwrap();
        assert_eq!(names[&u.id], ["operator", "viewer"]);
        assert_eq!(names[&v.id], ["operator"]);

        let other = tenant(db, "rbac-other").await;
        assert!(store::find_role(db, &other.id, &ops.id).await.unwrap().is_none());
        assert!(store::delete_role(db, &other.id, &ops.id).await.unwrap().is_empty());
        store::replace_role_permissions(db, &ops.id, &["task:run".to_owned()]).await.unwrap();
        let map = store::role_permissions(db, &[ops.id.clone(), view.id.clone()]).await.unwrap();
        assert_eq!(map[&ops.id], ["task:run"]);
        let mut holders = store::delete_role(db, &tn.id, &ops.id).await.unwrap();
        holders.sort();
        let mut want = vec![u.id.clone(), v.id.clone()];
        want.sort();
        assert_eq!(holders, want);
        assert!(store::effective_permissions(db, &tn.id, &v.id, later).await.unwrap().is_empty(), "{}", t.name);
        assert!(!store::revoke_role(db, &tn.id, &v.id, &ops.id).await.unwrap());
        assert!(store::revoke_role(db, &tn.id, &u.id, &view.id).await.unwrap());

        let entries = [("user:read".to_owned(), "Read users".to_owned()), ("user:write".to_owned(), "w".to_owned())];
        store::insert_permission_catalogue(db, &entries).await.unwrap();
        let entries = [("user:read".to_owned(), "Read users v2".to_owned())];
        store::insert_permission_catalogue(db, &entries).await.unwrap();
        let cat = store::list_permission_catalogue(db).await.unwrap();
        assert_eq!(cat.len(), 2, "{}", t.name);
        assert_eq!(
            (cat[0].resource.as_str(), cat[0].action.as_str(), cat[0].description.as_str()),
            ("user", "read", "Read users v2")
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn tenants_keys_audit_and_signing_keys() {
    for t in backends().await {
        let db = &t.db;
        let tn = tenant(db, "Acme").await;
        assert_eq!(tn.config_value().unwrap(), Some(serde_json::json!({"region": "cn"})));
        assert_eq!(store::find_tenant_by_code(db, "Acme").await.unwrap().map(|x| x.id), Some(tn.id.clone()));
        let changes = store::TenantChanges {
            webhook_url: Some(Some("https://h".into())),
            config: Some(None),
            ..Default::default()
        };
        let up = store::update_tenant(db, &tn.id, changes, t0()).await.unwrap().unwrap();
        assert_eq!((up.webhook_url.as_deref(), up.config.as_deref()), (Some("https://h"), None));
        let s = store::set_tenant_status(db, &tn.id, store::STATUS_SUSPENDED, Some("unpaid".into()), t0())
            .await
            .unwrap()
            .unwrap();
        assert!(!store::tenant_is_active(&s) && store::tenant_not_deleted(&s));
        let f = store::TenantFilter { query: Some("acm".into()), status: Some(store::STATUS_SUSPENDED.into()) };
        assert_eq!(store::list_tenants(db, &f, None, 10).await.unwrap().0.len(), 1, "{}", t.name);

        let key = store::insert_api_key(
            db,
            store::NewApiKey {
                id: store::new_id(),
                tenant_id: tn.id.clone(),
                created_by: store::new_id(),
                name: "ci".into(),
                prefix: "wk_abc".into(),
                key_hash: "f".repeat(64),
                permissions: vec!["message:send".into()],
                expires_at: None,
                created_at: t0(),
            },
        )
        .await
        .unwrap();
        assert_eq!(key.permissions, ["message:send"]);
        assert_eq!(store::find_api_key_by_prefix(db, "wk_abc").await.unwrap().map(|k| k.id), Some(key.id.clone()));
        let other = tenant(db, "other").await;
        assert!(store::revoke_api_key(db, &other.id, &key.id, t0()).await.unwrap().is_none());
        let revoked = store::revoke_api_key(db, &tn.id, &key.id, t0()).await.unwrap().unwrap();
        assert_eq!(revoked.status, store::STATUS_REVOKED);
        let active = store::list_api_keys(db, &tn.id, Some(store::STATUS_ACTIVE), None, 10).await.unwrap().0;
        assert!(active.is_empty(), "{}", t.name);

        for (i, op) in ["user.create", "user.delete", "user.create"].iter().enumerate() {
            store::insert_audit(
                db,
                store::NewAudit {
                    id: store::new_id(),
                    tenant_id: tn.id.clone(),
                    user_id: None,
                    principal_kind: store::PRINCIPAL_SERVICE.into(),
                    actor: Some("service test".into()),
                    operation: (*op).into(),
                    resource_type: "user".into(),
                    resource_id: Some(format!("u{i}")),
                    old_value: None,
                    new_value: Some(serde_json::json!({"i": i})),
                    result: store::RESULT_SUCCESS.into(),
                    error_message: None,
                    ip: None,
                    user_agent: None,
                    request_id: Some("req".into()),
                    service: "user".into(),
                    created_at: t0() + Duration::seconds(i as i64),
                },
            )
            .await
            .unwrap();
        }
        let f = store::AuditFilter {
            operation: Some("user.create".into()),
            since: Some(t0() + Duration::seconds(1)),
            ..Default::default()
        };
        let (rows, _) = store::list_audit(db, &tn.id, &f, None, 10).await.unwrap();
        assert_eq!(rows.len(), 1, "{}", t.name);
        assert_eq!(rows[0].new_value_json().unwrap(), Some(serde_json::json!({"i": 2})));
        assert!(store::list_audit(db, &other.id, &store::AuditFilter::default(), None, 10).await.unwrap().0.is_empty());

        let sk = |id: &str, at| store::NewSigningKey {
            id: id.into(),
            private_key: "enc".into(),
            public_key: "pub".into(),
            created_at: at,
        };
        store::insert_signing_key(db, sk("k1", t0())).await.unwrap();
        assert_eq!(store::active_signing_key(db).await.unwrap().map(|k| k.id), Some("k1".into()));
        let rotate_at = t0() + Duration::days(1);
        let txn = db.begin().await.unwrap();
        assert_eq!(store::retire_active_keys(&txn, rotate_at, rotate_at + Duration::hours(1)).await.unwrap(), 1);
        store::insert_signing_key(&txn, sk("k2", rotate_at)).await.unwrap();
        txn.commit().await.unwrap();
        let ids = |v: Vec<store::SigningKeyRow>| v.into_iter().map(|k| k.id).collect::<Vec<_>>();
        assert_eq!(ids(store::published_signing_keys(db, rotate_at).await.unwrap()), ["k2", "k1"]);
        assert_eq!(ids(store::published_signing_keys(db, rotate_at + Duration::hours(2)).await.unwrap()), ["k2"]);
        assert_eq!(store::active_signing_key(db).await.unwrap().map(|k| k.id), Some("k2".into()), "{}", t.name);
        t.finish().await;
    }
}
