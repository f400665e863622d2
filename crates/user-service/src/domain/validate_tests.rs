use super::*;

#[test]
fn tenant_code_rules() {
    assert_eq!(TenantCode::parse(" acme-1 ").map(TenantCode::into_inner), Ok("acme-1".to_owned()));
    for bad in ["ab", "1acme", "Acme", "ac_me", "acme-", &"a".repeat(33), "", "platform"] {
        let err = TenantCode::parse(bad).expect_err(bad);
        assert_eq!(err.field, "tenant_code");
    }
    assert_eq!(TenantCode::platform().as_str(), "platform");
}

#[test]
fn username_rules() {
    assert!(Username::parse("Alice.B-c_9").is_ok());
    assert!(Username::parse(&"a".repeat(64)).is_ok());
    for bad in ["ab", "al ice", "alice!", &"a".repeat(65), "名字名字"] {
        assert_eq!(Username::parse(bad).expect_err(bad).field, "username");
    }
}

#[test]
fn email_is_lowercased_and_shaped() {
    assert_eq!(Email::parse(" Alice@Example.COM ").map(Email::into_inner), Ok("alice@example.com".to_owned()));
    for bad in ["", "alice", "a@b", "a@@b.c", "a@b@c.d", "@b.c", "a b@c.d", "a@.c", "a@b.", "a@b..c"] {
        assert_eq!(Email::parse(bad).expect_err(bad).field, "email");
    }
    let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(190));
    assert!(Email::parse(&long).is_err(), "over 254");
    assert_eq!(Email::parse_optional("  "), Ok(None));
}

#[test]
fn phone_is_normalised() {
    assert_eq!(Phone::parse("+86 138-0013-8000").map(Phone::into_inner), Ok("+8613800138000".to_owned()));
    assert_eq!(Phone::parse("12345").map(Phone::into_inner), Ok("12345".to_owned()));
    for bad in ["1234", "++12345", "12a45", &"1".repeat(21), "+"] {
        assert_eq!(Phone::parse(bad).expect_err(bad).field, "phone");
    }
    assert_eq!(Phone::parse_optional(""), Ok(None));
}

#[test]
fn display_name_rules() {
    assert_eq!(DisplayName::parse(" 张三 ").map(DisplayName::into_inner), Ok("张三".to_owned()));
    assert!(DisplayName::parse("").is_ok());
    assert!(DisplayName::parse(&"é".repeat(64)).is_ok());
    assert!(DisplayName::parse(&"é".repeat(65)).is_err());
    assert_eq!(DisplayName::parse("evil\u{1b}[31m").expect_err("control").field, "display_name");
}

#[test]
fn role_name_rules() {
    assert!(RoleName::parse("ops-team_2").is_ok());
    for bad in ["a", "Ops", "ops team", "super_admin", &"a".repeat(65)] {
        assert_eq!(RoleName::parse(bad).expect_err(bad).field, "name");
    }
    assert_eq!(RoleName::super_admin().as_str(), SUPER_ADMIN_ROLE);
}

#[test]
fn webhook_url_rules() {
    for ok in ["https://example.com/hook?x=1", "http://10.0.0.1:8080", "https://[::1]:443/a", "HTTPS://Example.com"] {
        assert!(WebhookUrl::parse(ok).is_ok(), "{ok}");
    }
    let too_long = format!("https://example.com/{}", "a".repeat(500));
    for bad in ["ftp://example.com", "https://", "https:///path", "https://user:pw@example.com", "https://a b.com"] {
        assert_eq!(WebhookUrl::parse(bad).expect_err(bad).field, "webhook_url");
    }
    assert!(WebhookUrl::parse("https://example.com:99999").is_err());
    assert!(WebhookUrl::parse("https://example.com:").is_err());
    assert!(WebhookUrl::parse(&too_long).is_err());
    assert_eq!(WebhookUrl::parse_optional(""), Ok(None));
}

#[test]
fn tenant_name_rules() {
    assert!(TenantName::parse("Acme Ltd.").is_ok());
    assert!(TenantName::parse(" ").is_err());
    assert!(TenantName::parse(&"x".repeat(129)).is_err());
    assert_eq!(TenantName::parse("a\nb").expect_err("control").field, "name");
}

#[test]
fn quota_bounds() {
    assert_eq!(Quota::accounts(0).map(Quota::get), Ok(0));
    assert_eq!(Quota::accounts(1_000_000).map(Quota::get), Ok(1_000_000));
    assert_eq!(Quota::accounts(1_000_001).expect_err("over").field, "max_accounts");
    assert_eq!(Quota::accounts(-1).expect_err("negative").field, "max_accounts");
    assert_eq!(Quota::daily_messages(100_000_000).map(Quota::get), Ok(100_000_000));
    assert_eq!(Quota::daily_messages(i64::MAX).expect_err("huge").field, "max_daily_messages");
}
