use super::*;

const TENANT: &str = "0190a000-0000-7000-8000-0000000000aa";

fn owner(raw: &str) -> EndpointOwner {
    EndpointOwner::parse("owner", raw).expect("owner")
}

#[test]
fn empty_owner_is_the_callers_default() {
    let own = format!("tenant:{TENANT}");
    assert_eq!(resolve_owner(None, Some(&own), own.clone()).expect("own"), own);
    assert_eq!(resolve_owner(None, None, "platform".to_owned()).expect("platform"), "platform");
}

#[test]
fn a_confined_caller_may_name_only_its_own_owner() {
    let own = format!("tenant:{TENANT}");
    let same = owner(&own);
    assert_eq!(resolve_owner(Some(&same), Some(&own), own.clone()).expect("same"), own);
    let other = owner("business:billing");
    let err = resolve_owner(Some(&other), Some(&own), own.clone()).expect_err("other owner");
    assert!(matches!(err, Error::PermissionDenied(_)), "{err:?}");
    assert_eq!(resolve_owner(Some(&other), None, "platform".to_owned()).expect("platform"), "business:billing");
}

#[test]
fn only_tenant_owners_carry_a_tenant() {
    assert_eq!(owner_tenant(&format!("tenant:{TENANT}")).as_deref(), Some(TENANT));
    assert_eq!(owner_tenant("business:billing"), None);
    assert_eq!(owner_tenant("platform"), None);
}

#[test]
fn disable_reason_names_the_caller() {
    let service = Actor::Platform(Box::new(wework_kit::auth::Principal::service("gateway", "")));
    assert_eq!(disabled_by(&service), "disabled by service gateway");
    let mut user = wework_kit::auth::Principal::service("gateway", TENANT);
    user.user_id = Some("u1".to_owned());
    assert_eq!(disabled_by(&Actor::Tenant(Box::new(user))), "disabled by user u1");
}

#[test]
fn status_filter_maps_the_enum_and_names_the_field() {
    assert_eq!(status_filter(0).expect("unspecified"), None);
    assert_eq!(status_filter(1).expect("enabled"), Some(status::ENABLED));
    assert_eq!(status_filter(2).expect("disabled"), Some(status::DISABLED));
    assert_eq!(status_filter(9).expect_err("unknown").field, "status");
}

#[test]
fn proto_and_audit_views_map_status_and_optional_fields() {
    let now = chrono::Utc::now();
    let row = endpoint::Model {
        id: "0190a000-0000-7000-8000-000000000001".to_owned(),
        owner: format!("tenant:{TENANT}"),
        name: "default".to_owned(),
        tenant_id: Some(TENANT.to_owned()),
        url: "https://hooks.example.com/in".to_owned(),
        signing_secret: "sealed".to_owned(),
        previous_signing_secret: None,
        previous_secret_until: None,
        status: status::DISABLED.to_owned(),
        description: None,
        failing_since: Some(now),
        disabled_reason: Some("disabled by user u1".to_owned()),
        created_at: now,
        updated_at: now,
    };
    let snapshot = audit_snapshot(&row);
    assert_eq!(snapshot["url"], "https://hooks.example.com/in");
    assert_eq!(snapshot["disabled_reason"], "disabled by user u1");
    assert!(!snapshot.to_string().contains("sealed"));
    let view = endpoint_to_proto(&row);
    assert_eq!(view.status, i32::from(pb::EndpointStatus::Disabled));
    assert_eq!(view.disabled_reason, "disabled by user u1");
    assert_eq!(view.description, "");
    assert_eq!(view.failing_since, ts(now));
    assert!(!format!("{view:?}").contains("sealed"));
}
