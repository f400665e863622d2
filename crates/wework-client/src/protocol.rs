//! The wire types of the WeWork instance protocol (`docs/instance-protocol.md`
//! is the prose version): requests and responses of the instance's HTTP JSON
//! API, and the `{guid, notify_type, data}` callbacks it POSTs back. The
//! simulator serves exactly these types and the driver sends them, so the two
//! cannot drift apart.

use serde::{Deserialize, Serialize};

/// Every API path, relative to the instance's base url. All are `POST` with a
/// JSON body except [`paths::HEALTH`].
pub mod paths {
    pub const HEALTH: &str = "/api/v1/health";
    pub const CLIENT_CREATE: &str = "/api/v1/client/create";
    pub const CLIENT_QRCODE: &str = "/api/v1/client/qrcode";
    pub const CLIENT_VERIFY: &str = "/api/v1/client/verify";
    pub const CLIENT_LOGOUT: &str = "/api/v1/client/logout";
    pub const CLIENT_RESTORE: &str = "/api/v1/client/restore";
    pub const CLIENT_NOTIFY_URL: &str = "/api/v1/client/notify-url";
    pub const CLIENT_STATUS: &str = "/api/v1/client/status";
    pub const MESSAGE_SEND: &str = "/api/v1/message/send";
    pub const CONTACT_LIST: &str = "/api/v1/contact/list";
    pub const GROUP_LIST: &str = "/api/v1/group/list";
    pub const GROUP_MEMBERS: &str = "/api/v1/group/members";
}

/// Header carrying the instance's shared token on API calls
/// (`Authorization: Bearer <token>` is the same token).
pub const AUTHORIZATION: &str = "authorization";
/// Callback header: unix seconds the instance signed at.
pub const HEADER_TIMESTAMP: &str = "x-wework-timestamp";
/// Callback header: `v1=<hex hmac-sha256(token, "<timestamp>.<body>")>`.
pub const HEADER_SIGNATURE: &str = "x-wework-signature";
/// Callback header: a unique id per callback (the same on a re-send).
pub const HEADER_CALLBACK_ID: &str = "x-wework-callback-id";

/// Page size bounds of the list calls.
pub const MAX_PAGE_LIMIT: u32 = 500;

/// The response envelope of every API call: `code` 0 is success and `data`
/// holds the result; otherwise `code` is an [`ErrorCode`] and `message` says
/// why (never a secret). `retry_after_secs` accompanies `rate_limited`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub code: i32,
    #[serde(default)]
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl<T> Envelope<T> {
    pub fn ok(data: T) -> Self {
        Self { code: 0, message: "ok".to_owned(), data: Some(data), retry_after_secs: None }
    }

    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code: code as i32, message: message.into(), data: None, retry_after_secs: None }
    }
}

/// Error classes of the protocol. The HTTP status goes with them (shown);
/// a driver trusts the body's code first and the status when there is no body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[repr(i32)]
pub enum ErrorCode {
    /// 400: the request is malformed or names something unknown. Permanent.
    InvalidRequest = 40000,
    /// 401: the token is wrong.
    Unauthorized = 40100,
    /// 404: no client with that guid on this instance.
    UnknownClient = 40400,
    /// 409: the client is not logged in (or not in the state the call needs).
    NotLoggedIn = 40900,
    /// 403: WeWork restricted the account (banned, muted, frozen). Permanent
    /// until a human acts.
    AccountRestricted = 40300,
    /// 429: too many sends; wait `retry_after_secs`.
    RateLimited = 42900,
    /// 503: the instance (or WeWork behind it) is unavailable; retry later.
    Unavailable = 50300,
}

impl ErrorCode {
    pub fn from_code(code: i32) -> Option<Self> {
        Some(match code {
            40000 => Self::InvalidRequest,
            40100 => Self::Unauthorized,
            40400 => Self::UnknownClient,
            40900 => Self::NotLoggedIn,
            40300 => Self::AccountRestricted,
            42900 => Self::RateLimited,
            50300 => Self::Unavailable,
            _ => return None,
        })
    }

    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidRequest => 400,
            Self::Unauthorized => 401,
            Self::UnknownClient => 404,
            Self::NotLoggedIn => 409,
            Self::AccountRestricted => 403,
            Self::RateLimited => 429,
            Self::Unavailable => 503,
        }
    }
}

/// Proxy a client's WeWork connection goes through. The password travels to
/// the instance only; the platform keeps it encrypted at rest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyConfig {
    /// `socks5` or `http`.
    pub scheme: String,
    pub host: String,
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateClientRequest {
    /// Where the instance POSTs this client's callbacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyConfig>,
    /// Shown on the phone's "log in on this device?" screen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateClientResponse {
    pub guid: String,
}

/// Body of every call that only names a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuidRequest {
    pub guid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrCode {
    pub qr_url: String,
    /// Unix seconds after which the code no longer logs in.
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyCodeRequest {
    pub guid: String,
    pub code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetNotifyUrlRequest {
    pub guid: String,
    pub url: String,
}

/// Where a client is in its life, as the instance sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientState {
    /// Created, no QR code requested yet.
    Created,
    WaitingScan,
    WaitingConfirm,
    NeedVerify,
    Online,
    Offline,
    /// WeWork restricted the account.
    Restricted,
}

/// The logged-in WeWork user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub user_id: String,
    pub name: String,
    #[serde(default)]
    pub corp_id: String,
    #[serde(default)]
    pub corp_name: String,
    #[serde(default)]
    pub avatar_url: String,
    #[serde(default)]
    pub mobile: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientStatus {
    pub guid: String,
    pub state: ClientState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_info: Option<UserInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreResponse {
    pub state: ClientState,
}

/// Chat kind of a conversation id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatType {
    Private,
    Group,
}

/// What a message carries. Tagged by `msg_type` on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "msg_type", rename_all = "snake_case")]
pub enum MessageContent {
    Text {
        text: String,
    },
    Image {
        url: String,
        #[serde(default)]
        file_size: u64,
    },
    File {
        url: String,
        file_name: String,
        #[serde(default)]
        file_size: u64,
    },
    Link {
        title: String,
        url: String,
        #[serde(default)]
        description: String,
        #[serde(default)]
        image_url: String,
    },
    MiniProgram {
        app_id: String,
        title: String,
        page_path: String,
        #[serde(default)]
        thumb_url: String,
    },
    Video {
        url: String,
        #[serde(default)]
        duration_secs: u32,
        #[serde(default)]
        thumb_url: String,
    },
    ContactCard {
        user_id: String,
        #[serde(default)]
        name: String,
    },
    Location {
        latitude: f64,
        longitude: f64,
        #[serde(default)]
        title: String,
        #[serde(default)]
        address: String,
    },
}

impl MessageContent {
    /// The wire name of the type (`text`, `mini_program`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Image { .. } => "image",
            Self::File { .. } => "file",
            Self::Link { .. } => "link",
            Self::MiniProgram { .. } => "mini_program",
            Self::Video { .. } => "video",
            Self::ContactCard { .. } => "contact_card",
            Self::Location { .. } => "location",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendMessageRequest {
    pub guid: String,
    /// Our message id. The instance de-duplicates on `(guid, client_msg_id)`:
    /// a repeat returns the first send's result and sends nothing.
    pub client_msg_id: String,
    /// Conversation id: a user id for private chats, a room id for groups.
    pub chat_id: String,
    pub chat_type: ChatType,
    #[serde(flatten)]
    pub content: MessageContent,
    /// Members to @ in a group chat (`"all"` for everyone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub at_list: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessageResponse {
    /// WeWork's id of the sent message.
    pub msg_id: String,
    /// True when `client_msg_id` had been sent before and nothing new went out.
    #[serde(default)]
    pub duplicate: bool,
}

/// A page request of the list calls: start with an empty cursor, continue
/// with the last page's `next_cursor` until it is empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRequest {
    pub guid: String,
    #[serde(default)]
    pub cursor: String,
    pub limit: u32,
    /// Only for group members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub next_cursor: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub user_id: String,
    pub name: String,
    #[serde(default)]
    pub alias: String,
    #[serde(default)]
    pub avatar_url: String,
    /// `internal` (same corp) or `external` (customer).
    #[serde(default)]
    pub contact_type: String,
    #[serde(default)]
    pub corp_name: String,
    #[serde(default)]
    pub gender: i32,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub remark: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub group_id: String,
    pub name: String,
    #[serde(default)]
    pub owner_id: String,
    #[serde(default)]
    pub member_count: u32,
    #[serde(default)]
    pub notice: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMember {
    pub user_id: String,
    pub name: String,
    #[serde(default)]
    pub group_nickname: String,
    /// `owner`, `admin` or `member`.
    #[serde(default)]
    pub role: String,
    /// Unix seconds.
    #[serde(default)]
    pub joined_at: i64,
}

/// What `/api/v1/health` answers: the instance's capacity and load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceHealth {
    pub version: String,
    /// Changes whenever the instance process restarts (its clients' sessions
    /// may be gone): the platform counts restarts and checks its accounts.
    #[serde(default)]
    pub boot_id: String,
    pub clients: u32,
    pub online: u32,
}
