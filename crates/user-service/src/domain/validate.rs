//! Parsed request fields ("parse, don't validate").
//!
//! Contract: a value of one of these types is valid by construction; the only
//! way in is `parse` (or a named constructor for the few values the platform
//! itself creates). Each error names the proto field it came from. Strings are
//! trimmed of surrounding whitespace before checking, and stored normalised
//! (emails lowercase, phones without separators) so uniqueness checks in the
//! store compare like with like.

use std::fmt;

use wework_kit::auth::claims::{PLATFORM_TENANT_CODE, SUPER_ADMIN_ROLE};

use super::FieldError;

/// Declares a string newtype with read access; construction stays in `parse`.
macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The validated value, for storing and comparing.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Gives up the wrapper, for moving the value into a row.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn len_between(field: &'static str, s: &str, min: usize, max: usize) -> Result<(), FieldError> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(FieldError::new(field, format!("must be {min} to {max} characters long")));
    }
    Ok(())
}

string_newtype!(
    /// Short tenant handle used at login, so it must be easy to type and safe
    /// in URLs and logs.
    TenantCode
);

impl TenantCode {
    /// Parses a code a caller may choose; `platform` is reserved for the
    /// operators' own tenant and refused here.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        const F: &str = "tenant_code";
        let s = raw.trim();
        len_between(F, s, 3, 32)?;
        if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(FieldError::new(F, "must start with a lowercase letter"));
        }
        if !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(FieldError::new(F, "may contain only a-z, 0-9 and '-'"));
        }
        if s.ends_with('-') {
            return Err(FieldError::new(F, "must not end with '-'"));
        }
        if s == PLATFORM_TENANT_CODE {
            return Err(FieldError::new(F, "is reserved"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The platform tenant's code, for bootstrap only: it is the one code
    /// `parse` refuses.
    pub fn platform() -> Self {
        Self(PLATFORM_TENANT_CODE.to_owned())
    }
}

string_newtype!(
    /// Login name, unique per tenant; a restricted alphabet keeps it
    /// unambiguous in logs and free of look-alike characters.
    Username
);

impl Username {
    /// Parses a username (3–64 of `A-Z a-z 0-9 _ . -`).
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        const F: &str = "username";
        let s = raw.trim();
        len_between(F, s, 3, 64)?;
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
            return Err(FieldError::new(F, "may contain only letters, digits, '_', '.' and '-'"));
        }
        Ok(Self(s.to_owned()))
    }
}

string_newtype!(
    /// Email address, unique per tenant and usable as a login name; stored
    /// lowercase so uniqueness does not depend on case.
    Email
);

impl Email {
    /// Parses an address with a plausible shape; deliverability is not
    /// checked (that needs IO).
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        const F: &str = "email";
        let s = raw.trim().to_lowercase();
        if s.is_empty() || s.len() > 254 {
            return Err(FieldError::new(F, "must be 1 to 254 characters long"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(FieldError::new(F, "must not contain spaces"));
        }
        let mut parts = s.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(FieldError::new(F, "must contain exactly one '@'"));
        };
        if local.is_empty() || local.len() > 64 {
            return Err(FieldError::new(F, "needs a local part of 1 to 64 characters"));
        }
        if !domain.contains('.') || domain.split('.').any(str::is_empty) {
            return Err(FieldError::new(F, "needs a dotted domain"));
        }
        Ok(Self(s))
    }

    /// Treats an empty input as "no email" (the field is optional).
    pub fn parse_optional(raw: &str) -> Result<Option<Self>, FieldError> {
        optional(raw, Self::parse)
    }
}

string_newtype!(
    /// Phone number, stored as digits with an optional leading '+' so that
    /// the same number typed with spaces or dashes compares equal.
    Phone
);

impl Phone {
    /// Parses a number: optional '+', 5–20 digits; spaces and dashes dropped.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        const F: &str = "phone";
        let s = raw.trim();
        let (plus, rest) = match s.strip_prefix('+') {
            Some(rest) => ("+", rest),
            None => ("", s),
        };
        let digits: String = rest.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(FieldError::new(F, "may contain only digits, an optional leading '+', spaces and '-'"));
        }
        if !(5..=20).contains(&digits.len()) {
            return Err(FieldError::new(F, "must have 5 to 20 digits"));
        }
        Ok(Self(format!("{plus}{digits}")))
    }

    /// Treats an empty input as "no phone" (the field is optional).
    pub fn parse_optional(raw: &str) -> Result<Option<Self>, FieldError> {
        optional(raw, Self::parse)
    }
}

string_newtype!(
    /// Name shown in user interfaces; control characters are refused because
    /// they can forge log lines and break terminal output. May be empty.
    DisplayName
);

impl DisplayName {
    /// Parses a display name of at most 64 characters.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        const F: &str = "display_name";
        let s = raw.trim();
        len_between(F, s, 0, 64)?;
        no_control(F, s)?;
        Ok(Self(s.to_owned()))
    }
}

string_newtype!(
    /// Role name, unique per tenant; the super-admin name is refused so that
    /// no tenant can mint a role that crosses tenants.
    RoleName
);

impl RoleName {
    /// Parses a role name (2–64 of `a-z 0-9 _ -`).
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        const F: &str = "name";
        let s = raw.trim();
        len_between(F, s, 2, 64)?;
        if !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-')) {
            return Err(FieldError::new(F, "may contain only a-z, 0-9, '_' and '-'"));
        }
        if s == SUPER_ADMIN_ROLE {
            return Err(FieldError::new(F, "is reserved"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The platform super-admin role, for bootstrap only: it is the one name
    /// `parse` refuses.
    pub fn super_admin() -> Self {
        Self(SUPER_ADMIN_ROLE.to_owned())
    }
}

string_newtype!(
    /// Where a tenant's events are pushed. Only http(s) with a host and no
    /// credentials in the URL; whether the host is reachable or private is
    /// the delivering client's check, at send time.
    WebhookUrl
);

impl WebhookUrl {
    /// Parses an absolute http or https URL of at most 512 characters.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        const F: &str = "webhook_url";
        let s = raw.trim();
        len_between(F, s, 1, 512)?;
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(FieldError::new(F, "must not contain spaces"));
        }
        let lower = s.to_ascii_lowercase();
        let Some(rest) = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://")) else {
            return Err(FieldError::new(F, "must start with http:// or https://"));
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(FieldError::new(F, "must not contain credentials"));
        }
        let host = match authority.rsplit_once(':') {
            // An IPv6 literal has colons inside brackets; only a trailing `:digits` is a port.
            Some((host, port)) if !port.contains(']') => {
                if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) || port.parse::<u16>().is_err() {
                    return Err(FieldError::new(F, "has an invalid port"));
                }
                host
            }
            _ => authority,
        };
        if host.is_empty() || host == "[]" {
            return Err(FieldError::new(F, "must have a host"));
        }
        Ok(Self(s.to_owned()))
    }

    /// Treats an empty input as "no webhook" (the field is optional).
    pub fn parse_optional(raw: &str) -> Result<Option<Self>, FieldError> {
        optional(raw, Self::parse)
    }
}

string_newtype!(
    /// Human-readable tenant name.
    TenantName
);

impl TenantName {
    /// Parses a name of 1–128 characters without control characters.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        const F: &str = "name";
        let s = raw.trim();
        len_between(F, s, 1, 128)?;
        no_control(F, s)?;
        Ok(Self(s.to_owned()))
    }
}

/// A tenant quota. Bounded so that a typo cannot grant an effectively
/// unlimited quota and so that the value always fits an `i32` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quota(i32);

impl Quota {
    /// Highest `max_accounts` a tenant may have.
    pub const MAX_ACCOUNTS: i32 = 1_000_000;
    /// Highest `max_daily_messages` a tenant may have.
    pub const MAX_DAILY_MESSAGES: i32 = 100_000_000;

    /// Parses `max_accounts` (0..=1 000 000).
    pub fn accounts(value: i64) -> Result<Self, FieldError> {
        Self::bounded("max_accounts", value, Self::MAX_ACCOUNTS)
    }

    /// Parses `max_daily_messages` (0..=100 000 000).
    pub fn daily_messages(value: i64) -> Result<Self, FieldError> {
        Self::bounded("max_daily_messages", value, Self::MAX_DAILY_MESSAGES)
    }

    fn bounded(field: &'static str, value: i64, max: i32) -> Result<Self, FieldError> {
        match i32::try_from(value) {
            Ok(v) if (0..=max).contains(&v) => Ok(Self(v)),
            _ => Err(FieldError::new(field, format!("must be between 0 and {max}"))),
        }
    }

    /// The quota value.
    pub fn get(self) -> i32 {
        self.0
    }
}

fn no_control(field: &'static str, s: &str) -> Result<(), FieldError> {
    if s.chars().any(char::is_control) {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok(())
}

fn optional<T>(raw: &str, parse: impl Fn(&str) -> Result<T, FieldError>) -> Result<Option<T>, FieldError> {
    if raw.trim().is_empty() { Ok(None) } else { parse(raw).map(Some) }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
