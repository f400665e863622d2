//! The account status state machine of seed 001, as an explicit transition
//! table. Every status change goes through [`check_transition`]; one that is
//! not in the table is refused (FailedPrecondition to a caller, "not
//! applicable" to an instance event). Staying in the same status is not a
//! transition (no history row), e.g. a refreshed QR code while waiting.

use std::fmt;

/// Where an account is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountStatus {
    /// Added, never logged in.
    Created,
    /// A login started: an instance is being asked for a client and a QR code.
    LoggingIn,
    /// A QR code is waiting to be scanned.
    WaitingScan,
    /// Scanned; waiting for the user to confirm on the phone.
    WaitingConfirm,
    /// WeWork asked for a verification code.
    NeedVerify,
    Online,
    /// The session ended (logout, kicked, timed out, heartbeats stopped).
    Offline,
    /// Login or recovery failed for good; a human must start a login.
    Error,
    /// The watchdog (or a user) is restoring a dropped session.
    Recovering,
}

use AccountStatus::*;

/// Every allowed `from → to`. Read a row as "from X the account may go to".
pub const TRANSITIONS: &[(AccountStatus, &[AccountStatus])] = &[
    (Created, &[LoggingIn]),
    (LoggingIn, &[WaitingScan, NeedVerify, Online, Offline, Error]),
    (WaitingScan, &[WaitingConfirm, NeedVerify, Online, Offline, Error]),
    // A QR code that expires after the scan starts over at waiting_scan.
    (WaitingConfirm, &[WaitingScan, NeedVerify, Online, Offline, Error]),
    (NeedVerify, &[WaitingScan, Online, Offline, Error]),
    (Online, &[Offline, Error]),
    // A session the instance restores on its own comes back online directly.
    (Offline, &[LoggingIn, Recovering, Online, Error]),
    (Error, &[LoggingIn, Recovering, Online]),
    (Recovering, &[Online, Offline, Error, WaitingScan]),
];

impl AccountStatus {
    pub const ALL: [AccountStatus; 9] =
        [Created, LoggingIn, WaitingScan, WaitingConfirm, NeedVerify, Online, Offline, Error, Recovering];

    /// The stored (and seed) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Created => "created",
            LoggingIn => "logging_in",
            WaitingScan => "waiting_scan",
            WaitingConfirm => "waiting_confirm",
            NeedVerify => "need_verify",
            Online => "online",
            Offline => "offline",
            Error => "error",
            Recovering => "recovering",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The proto enum value (`ACCOUNT_STATUS_*`), in declaration order.
    pub fn to_proto(self) -> i32 {
        match self {
            Created => 1,
            LoggingIn => 2,
            WaitingScan => 3,
            WaitingConfirm => 4,
            NeedVerify => 5,
            Online => 6,
            Offline => 7,
            Error => 8,
            Recovering => 9,
        }
    }

    pub fn from_proto(value: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.to_proto() == value)
    }

    /// Statuses reachable from this one.
    pub fn next(self) -> &'static [AccountStatus] {
        TRANSITIONS.iter().find(|(from, _)| *from == self).map_or(&[], |(_, to)| to)
    }

    /// A login is under way (a QR code or a code may be pending).
    pub fn is_logging_in(self) -> bool {
        matches!(self, LoggingIn | WaitingScan | WaitingConfirm | NeedVerify)
    }

    /// The account has (or is getting back) a session on its instance.
    pub fn has_session(self) -> bool {
        matches!(self, Online | Recovering) || self.is_logging_in()
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an account that is {from} cannot become {to}")]
pub struct IllegalTransition {
    pub from: AccountStatus,
    pub to: AccountStatus,
}

/// What applying `to` to an account in `from` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A real transition: write it and its history row.
    Transition,
    /// Already there: update details (QR code, user info) without history.
    Stay,
}

pub fn check_transition(from: AccountStatus, to: AccountStatus) -> Result<Change, IllegalTransition> {
    if from == to {
        Ok(Change::Stay)
    } else if from.next().contains(&to) {
        Ok(Change::Transition)
    } else {
        Err(IllegalTransition { from, to })
    }
}

/// Who caused a transition, as the history records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorType {
    /// A tenant user or API key through an RPC.
    User,
    /// The instance, through its callbacks.
    System,
    /// The watchdog.
    Auto,
}

impl OperatorType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::System => "system",
            Self::Auto => "auto",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_both_spellings() {
        for s in AccountStatus::ALL {
            assert_eq!(AccountStatus::parse(s.as_str()), Some(s));
            assert_eq!(AccountStatus::from_proto(s.to_proto()), Some(s));
        }
        assert_eq!(AccountStatus::parse("deleted"), None);
        assert_eq!(AccountStatus::from_proto(0), None);
    }

    #[test]
    fn every_status_has_a_row_and_no_row_names_itself() {
        for s in AccountStatus::ALL {
            assert!(TRANSITIONS.iter().any(|(from, _)| *from == s), "{s} has no row");
            assert!(!s.next().contains(&s), "{s} lists itself");
        }
    }

    #[test]
    fn the_login_path_is_allowed() {
        let path = [Created, LoggingIn, WaitingScan, WaitingConfirm, NeedVerify, Online, Offline, Recovering, Online];
        for pair in path.windows(2) {
            assert_eq!(check_transition(pair[0], pair[1]), Ok(Change::Transition), "{} → {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn shortcuts_are_refused() {
        for (from, to) in [(Created, Online), (Created, WaitingScan), (Online, WaitingScan), (Online, LoggingIn)] {
            assert_eq!(check_transition(from, to), Err(IllegalTransition { from, to }));
        }
        assert_eq!(check_transition(Online, Online), Ok(Change::Stay));
    }

    #[test]
    fn only_created_offline_and_error_start_a_login() {
        let starters: Vec<_> = AccountStatus::ALL.into_iter().filter(|s| s.next().contains(&LoggingIn)).collect();
        assert_eq!(starters, vec![Created, Offline, Error]);
    }
}
