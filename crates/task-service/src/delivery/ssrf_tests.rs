use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn category(policy: &AddressPolicy, s: &str) -> Option<Category> {
    policy.check_ip(ip(s)).err().map(|r| r.category)
}

fn strict() -> AddressPolicy {
    AddressPolicy::default()
}

#[test]
fn refuses_every_special_purpose_ipv4_range_at_both_edges() {
    let cases = [
        ("0.0.0.0", Category::Unspecified),
        ("0.0.0.1", Category::ThisNetwork),
        ("0.255.255.255", Category::ThisNetwork),
        ("10.0.0.0", Category::Private),
        ("10.255.255.255", Category::Private),
        ("100.64.0.0", Category::SharedCgnat),
        ("100.127.255.255", Category::SharedCgnat),
        ("127.0.0.1", Category::Loopback),
        ("127.255.255.254", Category::Loopback),
        ("169.254.0.0", Category::LinkLocal),
        ("169.254.169.254", Category::LinkLocal),
        ("172.16.0.0", Category::Private),
        ("172.31.255.255", Category::Private),
        ("192.0.0.0", Category::IetfAssignment),
        ("192.0.0.255", Category::IetfAssignment),
        ("192.0.2.0", Category::Documentation),
        ("192.0.2.255", Category::Documentation),
        ("192.88.99.1", Category::Reserved),
        ("192.168.0.0", Category::Private),
        ("192.168.255.255", Category::Private),
        ("198.18.0.0", Category::Benchmarking),
        ("198.19.255.255", Category::Benchmarking),
        ("198.51.100.7", Category::Documentation),
        ("203.0.113.255", Category::Documentation),
        ("224.0.0.1", Category::Multicast),
        ("239.255.255.255", Category::Multicast),
        ("240.0.0.0", Category::Reserved),
        ("255.255.255.254", Category::Reserved),
        ("255.255.255.255", Category::Broadcast),
    ];
    for (addr, expected) in cases {
        assert_eq!(category(&strict(), addr), Some(expected), "{addr}");
    }
}

#[test]
fn allows_public_ipv4_just_outside_each_range() {
    for addr in [
        "1.1.1.1",
        "8.8.8.8",
        "9.255.255.255",
        "11.0.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "126.255.255.255",
        "128.0.0.0",
        "169.253.255.255",
        "169.255.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "192.0.1.0",
        "192.0.3.0",
        "192.167.255.255",
        "192.169.0.0",
        "198.17.255.255",
        "198.20.0.0",
        "198.51.99.255",
        "203.0.112.255",
        "223.255.255.255",
    ] {
        assert_eq!(strict().check_ip(ip(addr)), Ok(()), "{addr}");
    }
}

#[test]
fn refuses_special_purpose_ipv6_ranges() {
    let cases = [
        ("::", Category::Unspecified),
        ("::1", Category::Loopback),
        ("fc00::1", Category::Private),
        ("fdff:ffff::1", Category::Private),
        ("fec0::1", Category::Private),
        ("fe80::1", Category::LinkLocal),
        ("febf:ffff::1", Category::LinkLocal),
        ("ff02::1", Category::Multicast),
        ("ff0e::1", Category::Multicast),
        ("2001:db8::1", Category::Documentation),
        ("2001:db8:ffff::1", Category::Documentation),
        ("3fff::1", Category::Documentation),
        ("2001:2::1", Category::IetfAssignment),
        ("2001:10::1", Category::IetfAssignment),
        ("64:ff9b:1::1", Category::Private),
        ("100::1", Category::Reserved),
        ("4000::1", Category::Reserved),
        ("::ffff:0:0:1", Category::Reserved),
    ];
    for (addr, expected) in cases {
        assert_eq!(category(&strict(), addr), Some(expected), "{addr}");
    }
}

#[test]
fn allows_public_ipv6() {
    for addr in ["2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450::1", "2001:200::1"] {
        assert_eq!(strict().check_ip(ip(addr)), Ok(()), "{addr}");
    }
}

#[test]
fn looks_through_ipv6_forms_that_embed_ipv4() {
    let cases = [
        ("::ffff:127.0.0.1", "127.0.0.1", Category::Loopback),
        ("::ffff:169.254.169.254", "169.254.169.254", Category::LinkLocal),
        ("::ffff:10.1.2.3", "10.1.2.3", Category::Private),
        ("::10.1.2.3", "10.1.2.3", Category::Private),
        ("::127.0.0.1", "127.0.0.1", Category::Loopback),
        ("::2", "0.0.0.2", Category::ThisNetwork),
        ("64:ff9b::127.0.0.1", "127.0.0.1", Category::Loopback),
        ("64:ff9b::a9fe:a9fe", "169.254.169.254", Category::LinkLocal),
        ("2002:c0a8:0101::1", "192.168.1.1", Category::Private),
        ("2002:7f00:0001::", "127.0.0.1", Category::Loopback),
        // Teredo: client 10.0.0.1 stored inverted as f5ff:fffe.
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "10.0.0.1", Category::Private),
    ];
    for (addr, v4, expected) in cases {
        let refusal = strict().check_ip(ip(addr)).expect_err(addr);
        assert_eq!((refusal.category, refusal.embedded), (expected, Some(v4.parse().expect("v4"))), "{addr}");
    }
    for public in ["::ffff:8.8.8.8", "64:ff9b::808:808", "2002:0808:0808::1", "2001:0:4136:e378:8000:63bf:f7f7:f7f7"] {
        assert_eq!(strict().check_ip(ip(public)), Ok(()), "{public}");
    }
}

#[test]
fn allowlisted_subnets_pass_even_when_private_but_nothing_around_them() {
    let policy = AddressPolicy { allow: vec!["10.1.0.0/16".parse().expect("net")], allow_loopback: false };
    assert_eq!(policy.check_ip(ip("10.1.0.0")), Ok(()));
    assert_eq!(policy.check_ip(ip("10.1.255.255")), Ok(()));
    assert_eq!(policy.check_ip(ip("::ffff:10.1.2.3")), Ok(()));
    assert_eq!(category(&policy, "10.2.0.1"), Some(Category::Private));
    assert_eq!(category(&policy, "10.0.255.255"), Some(Category::Private));
    assert_eq!(category(&policy, "127.0.0.1"), Some(Category::Loopback));

    let v6 = AddressPolicy { allow: vec!["fd00:1::/32".parse().expect("net")], allow_loopback: false };
    assert_eq!(v6.check_ip(ip("fd00:1::5")), Ok(()));
    assert_eq!(category(&v6, "fd00:2::5"), Some(Category::Private));

    let loopback_net = AddressPolicy { allow: vec!["127.0.0.0/8".parse().expect("net")], allow_loopback: false };
    assert_eq!(loopback_net.check_ip(ip("127.0.0.1")), Ok(()));
    assert_eq!(category(&loopback_net, "::1"), Some(Category::Loopback));
}

#[test]
fn allow_loopback_opens_loopback_only() {
    let policy = AddressPolicy { allow: Vec::new(), allow_loopback: true };
    for addr in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
        assert_eq!(policy.check_ip(ip(addr)), Ok(()), "{addr}");
    }
    assert_eq!(category(&policy, "0.0.0.0"), Some(Category::Unspecified));
    assert_eq!(category(&policy, "::"), Some(Category::Unspecified));
    assert_eq!(category(&policy, "10.0.0.1"), Some(Category::Private));
    assert_eq!(category(&policy, "169.254.169.254"), Some(Category::LinkLocal));
    assert_eq!(category(&policy, "fe80::1"), Some(Category::LinkLocal));
}

#[test]
fn refusal_names_the_address_and_the_reason() {
    let refusal = strict().check_ip(ip("169.254.169.254")).expect_err("link-local");
    assert_eq!(refusal.to_string(), "refused: 169.254.169.254 is link-local");
    let mapped = strict().check_ip(ip("::ffff:127.0.0.1")).expect_err("mapped loopback");
    assert_eq!(mapped.to_string(), "refused: ::ffff:127.0.0.1 is loopback (embeds 127.0.0.1)");
    let named = Refusal { host: Some("localhost".into()), ..strict().check_ip(ip("::1")).expect_err("loopback") };
    assert_eq!(named.to_string(), "refused: localhost resolves to ::1, which is loopback");
}

#[test]
fn url_parser_normalises_numeric_hosts_and_literals_are_checked() {
    for (url, normalised) in [
        ("http://2130706433/", "127.0.0.1"),
        ("http://0x7f000001/", "127.0.0.1"),
        ("http://0177.0.0.1/", "127.0.0.1"),
        ("http://127.1/", "127.0.0.1"),
        ("http://127.0.0.1./", "127.0.0.1"),
        ("http://%31%32%37.0.0.1/", "127.0.0.1"),
        ("http://0/", "0.0.0.0"),
        ("http://0xa9.0xfe.0xa9.0xfe/latest", "169.254.169.254"),
    ] {
        let parsed = Url::parse(url).expect("url");
        assert_eq!(parsed.host_str(), Some(normalised), "{url}");
        assert!(strict().check_url_host(&parsed).is_err(), "{url}");
    }
    let mapped = Url::parse("http://[::ffff:127.0.0.1]:8080/").expect("url");
    assert_eq!(strict().check_url_host(&mapped).map_err(|r| r.category), Err(Category::Loopback));
    let v6 = Url::parse("http://[fe80::1]/").expect("url");
    assert_eq!(strict().check_url_host(&v6).map_err(|r| r.category), Err(Category::LinkLocal));
    // Names are left to the resolver; public literals pass.
    assert_eq!(strict().check_url_host(&Url::parse("http://localhost/").expect("url")), Ok(()));
    assert_eq!(strict().check_url_host(&Url::parse("https://8.8.8.8/").expect("url")), Ok(()));
}

#[tokio::test]
async fn resolver_refuses_names_that_only_resolve_to_refused_addresses() {
    let resolver = GuardedResolver::new(Arc::new(strict()));
    let name: Name = "localhost".parse().expect("name");
    let err = match resolver.resolve(name).await {
        Ok(addrs) => panic!("localhost resolved to {:?}", addrs.collect::<Vec<_>>()),
        Err(err) => err,
    };
    let refusal = err.downcast_ref::<Refusal>().expect("a refusal");
    assert_eq!(refusal.category, Category::Loopback);
    assert_eq!(refusal.host.as_deref(), Some("localhost"));
}

#[tokio::test]
async fn resolver_keeps_only_allowed_addresses() {
    let resolver = GuardedResolver::new(Arc::new(AddressPolicy { allow: Vec::new(), allow_loopback: true }));
    let name: Name = "localhost".parse().expect("name");
    let addrs: Vec<_> = resolver.resolve(name).await.expect("resolves").collect();
    assert!(!addrs.is_empty());
    assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
}
