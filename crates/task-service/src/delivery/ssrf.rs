//! SSRF guard for outbound callbacks: which IP addresses a tenant's URL may reach.
//!
//! Contract: [`AddressPolicy::check_ip`] refuses every address that is not public unicast
//! (loopback, private, link-local, CGNAT, multicast, broadcast, unspecified, documentation,
//! benchmarking, reserved, IETF assignments) and looks through IPv6 forms that embed an IPv4
//! address (mapped, compatible, NAT64, 6to4, Teredo), unless an operator allowlisted the subnet.
//! The check runs on the address actually connected to: [`GuardedResolver`] filters DNS answers
//! inside reqwest (so a name cannot resolve to something else between check and connect), and
//! [`AddressPolicy::check_url_host`] covers IP-literal hosts, for which reqwest skips the resolver.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Which addresses outbound requests may reach beyond the public internet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Subnets an operator trusts (e.g. an internal receiver in `10.1.0.0/16`); allowed even if private.
    pub allow: Vec<IpNet>,
    /// Allows `127.0.0.0/8` and `::1` only: the all-in-one dev profile calls itself.
    pub allow_loopback: bool,
}

/// Why an address is not public unicast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Loopback,
    Private,
    LinkLocal,
    SharedCgnat,
    Multicast,
    Broadcast,
    Unspecified,
    ThisNetwork,
    Documentation,
    Benchmarking,
    Reserved,
    IetfAssignment,
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Category::Loopback => "loopback",
            Category::Private => "private",
            Category::LinkLocal => "link-local",
            Category::SharedCgnat => "carrier-grade NAT shared space",
            Category::Multicast => "multicast",
            Category::Broadcast => "broadcast",
            Category::Unspecified => "unspecified",
            Category::ThisNetwork => "\"this network\" (0.0.0.0/8)",
            Category::Documentation => "reserved for documentation",
            Category::Benchmarking => "reserved for benchmarking",
            Category::Reserved => "reserved",
            Category::IetfAssignment => "an IETF protocol assignment",
        })
    }
}

/// An address the policy will not connect to. Its text is safe to store and show to the tenant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Refusal {
    pub addr: IpAddr,
    pub category: Category,
    /// The IPv4 address an IPv6 address embeds, when that is what was refused.
    pub embedded: Option<Ipv4Addr>,
    /// The host name that resolved to `addr`, when the refusal came from DNS.
    pub host: Option<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Some(host) => write!(f, "refused: {host} resolves to {}, which is {}", self.addr, self.category)?,
            None => write!(f, "refused: {} is {}", self.addr, self.category)?,
        }
        if let Some(v4) = self.embedded {
            write!(f, " (embeds {v4})")?;
        }
        Ok(())
    }
}

impl AddressPolicy {
    /// Ok when `ip` may be connected to.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Refusal> {
        if self.allowlisted(ip) {
            return Ok(());
        }
        let refuse = |category, embedded| Err(Refusal { addr: ip, category, embedded, host: None });
        match ip {
            IpAddr::V4(v4) => match self.classify_v4(v4) {
                Some(category) => refuse(category, None),
                None => Ok(()),
            },
            IpAddr::V6(v6) => {
                if let Some(v4) = embedded_v4(v6) {
                    if self.allowlisted(IpAddr::V4(v4)) {
                        return Ok(());
                    }
                    return match self.classify_v4(v4) {
                        Some(category) => refuse(category, Some(v4)),
                        None => Ok(()),
                    };
                }
                match self.classify_v6(v6) {
                    Some(category) => refuse(category, None),
                    None => Ok(()),
                }
            }
        }
    }

    /// Checks a URL whose host is an IP literal (`http://10.0.0.1/`, `http://[::ffff:127.0.0.1]/`,
    /// and `http://2130706433/`, which the URL parser normalises to `127.0.0.1`). Names pass here:
    /// [`GuardedResolver`] checks what they resolve to.
    pub fn check_url_host(&self, url: &Url) -> Result<(), Refusal> {
        // IPv6 literals keep their brackets in `host_str`; a name never parses as an address.
        let host = url.host_str().unwrap_or_default();
        match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            Ok(ip) => self.check_ip(ip),
            Err(_) => Ok(()),
        }
    }

    fn allowlisted(&self, ip: IpAddr) -> bool {
        self.allow.iter().any(|net| net.contains(&ip))
    }

    fn classify_v4(&self, ip: Ipv4Addr) -> Option<Category> {
        let [a, b, c, _] = ip.octets();
        let category = match (a, b, c) {
            _ if ip.is_unspecified() => Category::Unspecified,
            _ if ip.is_broadcast() => Category::Broadcast,
            (0, _, _) => Category::ThisNetwork,
            (127, _, _) if self.allow_loopback => return None,
            (127, _, _) => Category::Loopback,
            (10, _, _) | (172, 16..=31, _) | (192, 168, _) => Category::Private,
            (100, 64..=127, _) => Category::SharedCgnat,
            (169, 254, _) => Category::LinkLocal,
            (192, 0, 0) => Category::IetfAssignment,
            (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Category::Documentation,
            (198, 18..=19, _) => Category::Benchmarking,
            // Deprecated 6to4 relay anycast (RFC 7526).
            (192, 88, 99) => Category::Reserved,
            (224..=239, _, _) => Category::Multicast,
            (240..=255, _, _) => Category::Reserved,
            _ => return None,
        };
        Some(category)
    }

    fn classify_v6(&self, ip: Ipv6Addr) -> Option<Category> {
        let s = ip.segments();
        let category = match s {
            _ if ip.is_unspecified() => Category::Unspecified,
            _ if ip.is_loopback() && self.allow_loopback => return None,
            _ if ip.is_loopback() => Category::Loopback,
            [0xff00..=0xffff, ..] => Category::Multicast,
            [0xfe80..=0xfebf, ..] => Category::LinkLocal,
            // Deprecated site-local fec0::/10 addressed private networks, like unique-local.
            [0xfc00..=0xfdff, ..] | [0xfec0..=0xfeff, ..] => Category::Private,
            // NAT64 local-use prefix (RFC 8215) translates into the operator's own networks.
            [0x64, 0xff9b, 1, ..] => Category::Private,
            [0x2001, 0xdb8, ..] | [0x3fff, 0..=0x0fff, ..] => Category::Documentation,
            [0x2001, 0..=0x01ff, ..] => Category::IetfAssignment,
            // Everything outside global unicast 2000::/3 is unallocated or special-purpose.
            [first, ..] if first & 0xe000 != 0x2000 => Category::Reserved,
            _ => return None,
        };
        Some(category)
    }
}

/// The IPv4 address an IPv6 address stands for or tunnels to, if any.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        // IPv4-mapped ::ffff:a.b.c.d.
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => Some(low(hi, lo)),
        // IPv4-compatible ::a.b.c.d (deprecated); :: and ::1 are classified as IPv6.
        [0, 0, 0, 0, 0, 0, hi, lo] if !(hi == 0 && lo <= 1) => Some(low(hi, lo)),
        // NAT64 well-known prefix 64:ff9b::/96.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        // 6to4 2002:aabb:ccdd::/48.
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        // Teredo 2001:0::/32: the client's address is stored inverted in the last 32 bits.
        [0x2001, 0, _, _, _, _, hi, lo] => Some(low(!hi, !lo)),
        _ => None,
    }
}

/// DNS for reqwest that drops the addresses the policy refuses, and fails with the refusal when
/// none are left, so the connection can only go to a checked address.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: Arc<AddressPolicy>,
}

impl GuardedResolver {
    pub fn new(policy: Arc<AddressPolicy>) -> Self {
        Self { policy }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let mut allowed = Vec::new();
            let mut refusal = None;
            for addr in resolved {
                match policy.check_ip(addr.ip()) {
                    Ok(()) => allowed.push(addr),
                    Err(refused) => {
                        refusal.get_or_insert(refused);
                    }
                }
            }
            match (allowed.is_empty(), refusal) {
                (false, _) => Ok(Box::new(allowed.into_iter()) as Addrs),
                (true, Some(refused)) => Err(Refusal { host: Some(host), ..refused }.into()),
                (true, None) => Err(format!("{host} resolved to no addresses").into()),
            }
        })
    }
}

#[cfg(test)]
#[path = "ssrf_tests.rs"]
mod tests;
