//! (being written) Channels to other services.

/// Supplies the `authorization: Bearer …` value for outgoing calls (a service
/// token minted by [`crate::auth`], or a caller's token passed through).
pub trait BearerSource: Send + Sync {
    /// The token without the `Bearer ` prefix; `None` sends no header.
    fn bearer(&self) -> Option<String>;
}
