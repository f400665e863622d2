//! A failing instance as the user sees it: the RPC fails Unavailable, the
//! account records the failure class (never a url or token), and a
//! non-idempotent create is never retried.

use tonic::Code;
use wework_client::protocol::paths;
use wework_proto::account::AccountStatus::*;
use wework_sim::Faults;

use crate::helpers::*;

#[tokio::test]
async fn a_failing_instance_fails_the_login_visibly() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let account = app.create(&t, "Unlucky").await;
    app.sim.set_faults(Faults { error_rate: 1.0, ..Faults::default() });
    let err = assert_code(app.start_login(&t, &account.id).await, Code::Unavailable);
    assert!(!err.message().contains("127.0.0.1") && !err.message().contains(app.sim.token()), "{err:?}");
    assert_eq!(app.sim.api_calls(paths::CLIENT_CREATE), 1, "a create is never retried");

    let failed = app.get(&t, &account.id).await;
    assert_eq!(status(failed.status), Error);
    assert!(failed.error_message.contains("unavailable"), "{}", failed.error_message);
    assert!(!failed.error_message.contains("127.0.0.1") && !failed.error_message.contains(app.sim.token()));
    assert_eq!(failed.login_retry_count, 1);
    let path: Vec<_> = app.transitions(&t, &account.id).await.into_iter().map(|(_, to, _)| to).collect();
    assert_eq!(path, vec![LoggingIn, Error]);

    // Once the instance is healthy, a login from `error` works.
    app.sim.set_faults(Faults::default());
    let again = app.start_login(&t, &account.id).await.expect("login again").account.expect("account");
    assert_eq!(status(again.status), WaitingScan);
    assert!(again.error_message.is_empty());
}
