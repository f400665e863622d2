use super::*;

fn perms(list: &[&str]) -> Vec<String> {
    list.iter().map(|p| (*p).to_owned()).collect()
}

fn role(name: &str) -> SystemRole {
    system_roles().into_iter().find(|r| r.name == name).expect("seeded role")
}

#[test]
fn catalogue_is_valid_and_unique() {
    let mut seen = BTreeSet::new();
    for (p, description) in CATALOGUE {
        assert!(validate_permission(p).is_ok(), "{p}");
        assert!(!p.contains('*'), "{p} is concrete");
        assert!(!description.is_empty());
        assert!(seen.insert(*p), "duplicate {p}");
    }
    for p in PLATFORM_ONLY {
        assert!(seen.contains(p), "{p} in catalogue");
    }
}

#[test]
fn system_roles_shape() {
    let names: Vec<&str> = system_roles().iter().map(|r| r.name).collect();
    assert_eq!(names, [OWNER, ADMIN, OPERATOR, VIEWER]);
    for r in system_roles().iter().chain([&super_admin_role()]) {
        assert!(is_system_role(r.name));
        assert_eq!(normalize_permissions(&r.permissions).map(|p| p.len()), Ok(r.permissions.len()), "{}", r.name);
        for p in &r.permissions {
            let known = CATALOGUE.iter().any(|(c, _)| permission_matches(p, c));
            assert!(known, "{} grants {p}, which matches nothing in the catalogue", r.name);
        }
    }
    assert_eq!(role(OWNER).permissions, ["*"]);
    assert_eq!(super_admin_role().permissions, ["*"]);
    assert_eq!(super_admin_role().name, SUPER_ADMIN_ROLE);
    assert!(!is_system_role("ops"));
}

#[test]
fn admin_has_everything_but_platform_powers() {
    let admin = role(ADMIN).permissions;
    for (p, _) in CATALOGUE {
        let expected = !PLATFORM_ONLY.contains(p);
        assert_eq!(is_subset(&admin, &perms(&[p])), expected, "{p}");
    }
    assert!(admin.len() < 30, "compacted: {admin:?}");
    assert!(is_subset(&admin, &perms(&["user:create", "role:assign", "api_key:create"])));
}

#[test]
fn compaction_keeps_exactly_the_same_grants_today() {
    let op = role(OPERATOR).permissions;
    for (p, _) in CATALOGUE {
        assert_eq!(is_subset(&op, &perms(&[p])), OPERATOR_PERMISSIONS.contains(p), "{p}");
    }
    assert!(op.contains(&"message:*".to_owned()));
    assert!(!op.contains(&"account:*".to_owned()), "operators may not delete accounts");
    // A resource with a platform power is never widened.
    assert_eq!(compact(&["quota:read"]), ["quota:read"]);
    assert_eq!(compact(&["tenant:read", "tenant:update"]), ["tenant:read", "tenant:update"]);
}

#[test]
fn operator_runs_accounts_but_not_people() {
    let op = role(OPERATOR).permissions;
    assert!(is_subset(&op, &perms(&["message:send", "account:login", "batch:write", "statistics:read"])));
    for p in ["user:create", "role:assign", "api_key:create", "tenant:update", "account:delete"] {
        assert!(!is_subset(&op, &perms(&[p])), "{p}");
    }
}

#[test]
fn no_seeded_role_below_owner_holds_a_platform_power() {
    for r in system_roles().into_iter().filter(|r| r.name != OWNER) {
        for p in PLATFORM_ONLY {
            assert!(!is_subset(&r.permissions, &perms(&[p])), "{} holds {p}", r.name);
        }
    }
    for p in ["business_system:read", "business_system:write"] {
        assert!(PLATFORM_ONLY.contains(&p), "business systems are platform-wide: {p}");
    }
}

#[test]
fn viewer_only_reads() {
    let viewer = role(VIEWER).permissions;
    assert!(viewer.iter().all(|p| p.ends_with(":read")));
    for (p, _) in CATALOGUE {
        let expected = p.ends_with(":read") && !PLATFORM_ONLY.contains(p);
        assert_eq!(is_subset(&viewer, &perms(&[p])), expected, "{p}");
    }
    assert!(is_subset(&viewer, &perms(&["user:read", "message:read", "tenant:read"])));
    assert!(!is_subset(&viewer, &perms(&["message:send"])));
}

#[test]
fn permission_syntax() {
    for ok in ["*", "user:read", "user:*", "*:read", "api_key:reset_password"] {
        assert!(validate_permission(ok).is_ok(), "{ok}");
    }
    for bad in ["", "user", "User:read", "user:", ":read", "user:read:x", "user-x:read", "*:*", "us er:read", "a1:b"] {
        assert_eq!(validate_permission(bad).expect_err(bad).field, "permissions");
    }
    assert!(validate_permission(&format!("{}:read", "a".repeat(60))).is_err());
}

#[test]
fn normalize_sorts_and_dedupes() {
    assert_eq!(
        normalize_permissions(&perms(&[" user:read", "audit:read", "user:read"])),
        Ok(perms(&["audit:read", "user:read"]))
    );
    assert!(normalize_permissions(&perms(&["user:read", "bad"])).is_err());
}

#[test]
fn subset_with_wildcards() {
    assert!(is_subset(&perms(&["*"]), &perms(&["*", "user:*", "tenant:create"])));
    assert!(is_subset(&perms(&["user:*"]), &perms(&["user:read", "user:*"])));
    assert!(!is_subset(&perms(&["user:read"]), &perms(&["user:*"])), "narrow grant does not cover a wildcard");
    assert!(is_subset(&perms(&["*:read"]), &perms(&["user:read", "*:read"])));
    assert!(!is_subset(&perms(&["*:read"]), &perms(&["user:*"])));
    assert!(!is_subset(&perms(&["user:*"]), &perms(&["*"])));
    assert!(is_subset(&[], &[]));
    assert!(!is_subset(&[], &perms(&["user:read"])));
}

#[test]
fn merge_is_sorted_union() {
    let a = perms(&["user:read", "message:send"]);
    let b = perms(&["message:send", "audit:read"]);
    assert_eq!(merge_permissions([a.as_slice(), b.as_slice()]), perms(&["audit:read", "message:send", "user:read"]));
}
