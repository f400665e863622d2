//! The REST surface: one line per route, each bound to one unary RPC.
//!
//! The router and the OpenAPI document are both built from this table, so a
//! route cannot be served without being documented, nor documented without
//! being served. How a request becomes the RPC's input message (the same rule
//! as `google.api.http` bindings):
//! - `{name}` path segments set the request field `name`;
//! - GET and DELETE take the other fields from the query string (`page_size`
//!   and `page_token` fill `page`, a `filter` message's fields are named
//!   without the `filter.` prefix, other nested fields as `a.b`);
//! - POST, PUT and PATCH take a JSON body: the whole request, or — with
//!   [`Route::body_field`] — one field of it (`POST /tasks` takes the task).
//!
//! Responses are the RPC's output message as JSON (proto field names).

use http::Method;

/// One REST route and the RPC behind it.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: Method,
    /// Under `/api/v1`, with `{field}` path parameters.
    pub path: &'static str,
    /// `package.Service/Method`.
    pub rpc: &'static str,
    pub body: Body,
    /// Callable without credentials (login, refresh, the public keys).
    pub public: bool,
    /// The request's `client_ip` / `user_agent` fields are set by the gateway
    /// from the connection; a client cannot choose them.
    pub client_info: bool,
    /// Takes `gateway.import_body_bytes` instead of `max_body_bytes`.
    pub large_body: bool,
}

/// Where the request message comes from besides the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// Query parameters (GET, DELETE).
    Query,
    /// The JSON body is the request message.
    Whole,
    /// The JSON body is this field of the request message.
    Field(&'static str),
}

impl Route {
    fn new(method: Method, path: &'static str, rpc: &'static str) -> Self {
        let body = if method == Method::GET || method == Method::DELETE { Body::Query } else { Body::Whole };
        Self { method, path, rpc, body, public: false, client_info: false, large_body: false }
    }

    fn body_field(mut self, field: &'static str) -> Self {
        self.body = Body::Field(field);
        self
    }

    fn public(mut self) -> Self {
        self.public = true;
        self
    }

    fn client_info(mut self) -> Self {
        self.client_info = true;
        self
    }

    fn large_body(mut self) -> Self {
        self.large_body = true;
        self
    }

    /// The full path the router serves.
    pub fn full_path(&self) -> String {
        format!("{PREFIX}{}", self.path)
    }
}

/// Every REST route lives under this prefix.
pub const PREFIX: &str = "/api/v1";

fn get(path: &'static str, rpc: &'static str) -> Route {
    Route::new(Method::GET, path, rpc)
}
fn post(path: &'static str, rpc: &'static str) -> Route {
    Route::new(Method::POST, path, rpc)
}
fn put(path: &'static str, rpc: &'static str) -> Route {
    Route::new(Method::PUT, path, rpc)
}
fn patch(path: &'static str, rpc: &'static str) -> Route {
    Route::new(Method::PATCH, path, rpc)
}
fn delete(path: &'static str, rpc: &'static str) -> Route {
    Route::new(Method::DELETE, path, rpc)
}

/// The whole REST surface, in the order the OpenAPI document lists it.
pub fn table() -> Vec<Route> {
    vec![
        // --- auth (user service)
        post("/auth/login", "wework.user.v1.AuthService/Login").public().client_info(),
        post("/auth/refresh", "wework.user.v1.AuthService/Refresh").public().client_info(),
        post("/auth/logout", "wework.user.v1.AuthService/Logout"),
        get("/auth/me", "wework.user.v1.AuthService/WhoAmI"),
        get("/auth/signing-keys", "wework.user.v1.AuthService/GetSigningKeys").public(),
        post("/auth/signing-keys/rotate", "wework.user.v1.AuthService/RotateSigningKey"),
        post("/auth/password", "wework.user.v1.UserService/ChangePassword"),
        post("/auth/totp/enroll", "wework.user.v1.AuthService/EnrollTotp"),
        post("/auth/totp/confirm", "wework.user.v1.AuthService/ConfirmTotp"),
        post("/auth/totp/disable", "wework.user.v1.AuthService/DisableTotp"),
        get("/auth/sessions", "wework.user.v1.AuthService/ListSessions"),
        delete("/auth/sessions/{session_id}", "wework.user.v1.AuthService/RevokeSession"),
        // --- tenants, users, roles, API keys, audit, quotas (user service)
        post("/tenants", "wework.user.v1.TenantService/CreateTenant"),
        get("/tenants", "wework.user.v1.TenantService/ListTenants"),
        get("/tenants/{tenant_id}", "wework.user.v1.TenantService/GetTenant"),
        patch("/tenants/{tenant_id}", "wework.user.v1.TenantService/UpdateTenant"),
        delete("/tenants/{tenant_id}", "wework.user.v1.TenantService/DeleteTenant"),
        post("/tenants/{tenant_id}/suspend", "wework.user.v1.TenantService/SuspendTenant"),
        post("/tenants/{tenant_id}/resume", "wework.user.v1.TenantService/ResumeTenant"),
        get("/tenants/{tenant_id}/quota", "wework.user.v1.QuotaService/GetQuotaUsage"),
        post("/users", "wework.user.v1.UserService/CreateUser"),
        get("/users", "wework.user.v1.UserService/ListUsers"),
        get("/users/{user_id}", "wework.user.v1.UserService/GetUser"),
        patch("/users/{user_id}", "wework.user.v1.UserService/UpdateUser"),
        delete("/users/{user_id}", "wework.user.v1.UserService/DeleteUser"),
        post("/users/{user_id}/reset-password", "wework.user.v1.UserService/ResetPassword"),
        get("/users/{user_id}/permissions", "wework.user.v1.RoleService/GetEffectivePermissions"),
        get("/users/{user_id}/permissions/check", "wework.user.v1.RoleService/CheckPermission"),
        put("/users/{user_id}/roles/{role_id}", "wework.user.v1.RoleService/AssignRole"),
        delete("/users/{user_id}/roles/{role_id}", "wework.user.v1.RoleService/RevokeRole"),
        get("/users/{user_id}/sessions", "wework.user.v1.AuthService/ListSessions"),
        post("/users/{user_id}/sessions/revoke", "wework.user.v1.AuthService/RevokeAllSessions"),
        get("/permissions", "wework.user.v1.RoleService/ListPermissions"),
        post("/roles", "wework.user.v1.RoleService/CreateRole"),
        get("/roles", "wework.user.v1.RoleService/ListRoles"),
        get("/roles/{role_id}", "wework.user.v1.RoleService/GetRole"),
        patch("/roles/{role_id}", "wework.user.v1.RoleService/UpdateRole"),
        delete("/roles/{role_id}", "wework.user.v1.RoleService/DeleteRole"),
        post("/api-keys", "wework.user.v1.ApiKeyService/CreateApiKey"),
        get("/api-keys", "wework.user.v1.ApiKeyService/ListApiKeys"),
        delete("/api-keys/{api_key_id}", "wework.user.v1.ApiKeyService/RevokeApiKey"),
        get("/audit-logs", "wework.user.v1.AuditService/ListAuditLogs"),
        // --- instances, accounts, login flow, conversations, directory (account service)
        post("/instances", "wework.account.v1.InstanceService/RegisterInstance"),
        get("/instances", "wework.account.v1.InstanceService/ListInstances"),
        get("/instances/{id}", "wework.account.v1.InstanceService/GetInstance"),
        patch("/instances/{id}", "wework.account.v1.InstanceService/UpdateInstance"),
        post("/accounts", "wework.account.v1.AccountService/CreateAccount"),
        get("/accounts", "wework.account.v1.AccountService/ListAccounts"),
        get("/accounts/{id}", "wework.account.v1.AccountService/GetAccount"),
        patch("/accounts/{id}", "wework.account.v1.AccountService/UpdateAccount"),
        delete("/accounts/{id}", "wework.account.v1.AccountService/DeleteAccount"),
        post("/accounts/{id}/login", "wework.account.v1.AccountService/StartLogin"),
        post("/accounts/{id}/login/qr", "wework.account.v1.AccountService/RefreshQr"),
        post("/accounts/{id}/login/verify-code", "wework.account.v1.AccountService/SubmitVerifyCode"),
        post("/accounts/{id}/logout", "wework.account.v1.AccountService/Logout"),
        post("/accounts/{id}/recover", "wework.account.v1.AccountService/Recover"),
        get("/accounts/{account_id}/status-history", "wework.account.v1.AccountService/ListStatusHistory"),
        get("/accounts/{account_id}/conversations", "wework.account.v1.ConversationService/ListConversations"),
        get(
            "/accounts/{account_id}/conversations/{conversation_id}",
            "wework.account.v1.ConversationService/GetConversation",
        ),
        post(
            "/accounts/{account_id}/conversations/{conversation_id}/read",
            "wework.account.v1.ConversationService/MarkConversationRead",
        ),
        put(
            "/accounts/{account_id}/conversations/{conversation_id}/pinned",
            "wework.account.v1.ConversationService/PinConversation",
        ),
        put(
            "/accounts/{account_id}/conversations/{conversation_id}/tags",
            "wework.account.v1.ConversationService/TagConversation",
        ),
        post("/accounts/{account_id}/directory/sync", "wework.account.v1.DirectoryService/SyncDirectory"),
        get("/accounts/{account_id}/contacts", "wework.account.v1.DirectoryService/ListContacts"),
        patch("/accounts/{account_id}/contacts/{user_id}", "wework.account.v1.DirectoryService/UpdateContact"),
        get("/accounts/{account_id}/groups", "wework.account.v1.DirectoryService/ListGroups"),
        get("/accounts/{account_id}/groups/{group_id}/members", "wework.account.v1.DirectoryService/ListGroupMembers"),
        // --- messages, templates, batches, statistics (message service)
        post("/messages", "wework.message.v1.MessageService/SendMessage"),
        post("/messages/bulk", "wework.message.v1.MessageService/SendMessages"),
        get("/messages", "wework.message.v1.MessageService/ListMessages"),
        get("/messages/{id}", "wework.message.v1.MessageService/GetMessage"),
        post("/messages/{id}/cancel", "wework.message.v1.MessageService/CancelMessage"),
        get("/statistics/messages", "wework.message.v1.MessageService/GetStatistics"),
        post("/templates", "wework.message.v1.TemplateService/CreateTemplate"),
        get("/templates", "wework.message.v1.TemplateService/ListTemplates"),
        get("/templates/{id}", "wework.message.v1.TemplateService/GetTemplate"),
        patch("/templates/{id}", "wework.message.v1.TemplateService/UpdateTemplate"),
        delete("/templates/{id}", "wework.message.v1.TemplateService/DeleteTemplate"),
        post("/templates/{template_id}/render", "wework.message.v1.TemplateService/Render"),
        post("/batches", "wework.message.v1.BatchService/CreateBatch").large_body(),
        get("/batches", "wework.message.v1.BatchService/ListBatches"),
        get("/batches/{id}", "wework.message.v1.BatchService/GetBatch"),
        post("/batches/{id}/start", "wework.message.v1.BatchService/StartBatch"),
        post("/batches/{id}/pause", "wework.message.v1.BatchService/PauseBatch"),
        post("/batches/{id}/resume", "wework.message.v1.BatchService/ResumeBatch"),
        post("/batches/{id}/cancel", "wework.message.v1.BatchService/CancelBatch"),
        get("/batches/{batch_id}/receivers", "wework.message.v1.BatchService/ListReceivers"),
        // --- callbacks and WeCom apps (callback service)
        get("/callback-events", "wework.callback.v1.CallbackService/ListEvents"),
        get("/callback-events/stats", "wework.callback.v1.CallbackService/GetStats"),
        post("/callback-events/replay", "wework.callback.v1.CallbackService/ReplayEvents"),
        get("/callback-events/{id}", "wework.callback.v1.CallbackService/GetEvent"),
        post("/callback-events/{id}/replay", "wework.callback.v1.CallbackService/ReplayEvent"),
        post("/wecom-apps", "wework.callback.v1.WecomAppService/RegisterApp"),
        get("/wecom-apps", "wework.callback.v1.WecomAppService/ListApps"),
        get("/wecom-apps/{id}", "wework.callback.v1.WecomAppService/GetApp"),
        patch("/wecom-apps/{id}", "wework.callback.v1.WecomAppService/UpdateApp"),
        // --- tasks, endpoints, schedules, business systems (task center)
        post("/tasks", "wework.task.v1.TaskService/CreateTask").body_field("task"),
        post("/tasks/bulk", "wework.task.v1.TaskService/BatchCreateTasks"),
        get("/tasks", "wework.task.v1.TaskService/ListTasks"),
        get("/tasks/stats", "wework.task.v1.TaskStatsService/GetTaskStats"),
        get("/tasks/{id}", "wework.task.v1.TaskService/GetTask"),
        post("/tasks/{id}/cancel", "wework.task.v1.TaskService/CancelTask"),
        post("/tasks/{id}/retry", "wework.task.v1.TaskService/RetryTask"),
        get("/tasks/{task_id}/executions", "wework.task.v1.TaskService/ListExecutions"),
        put("/endpoints", "wework.task.v1.EndpointService/UpsertEndpoint"),
        get("/endpoints", "wework.task.v1.EndpointService/ListEndpoints"),
        get("/endpoints/{id}", "wework.task.v1.EndpointService/GetEndpoint"),
        put("/endpoints/{id}/enabled", "wework.task.v1.EndpointService/SetEndpointEnabled"),
        post("/endpoints/{id}/rotate-secret", "wework.task.v1.EndpointService/RotateEndpointSecret"),
        post("/schedules", "wework.task.v1.ScheduleService/CreateSchedule"),
        get("/schedules", "wework.task.v1.ScheduleService/ListSchedules"),
        get("/schedules/{id}", "wework.task.v1.ScheduleService/GetSchedule"),
        patch("/schedules/{id}", "wework.task.v1.ScheduleService/UpdateSchedule"),
        delete("/schedules/{id}", "wework.task.v1.ScheduleService/DeleteSchedule"),
        post("/schedules/{id}/pause", "wework.task.v1.ScheduleService/PauseSchedule"),
        post("/schedules/{id}/resume", "wework.task.v1.ScheduleService/ResumeSchedule"),
        post("/schedules/{id}/trigger", "wework.task.v1.ScheduleService/TriggerSchedule"),
        post("/business-systems", "wework.task.v1.BusinessSystemService/RegisterBusinessSystem"),
        get("/business-systems", "wework.task.v1.BusinessSystemService/ListBusinessSystems"),
        get("/business-systems/{id}", "wework.task.v1.BusinessSystemService/GetBusinessSystem"),
        patch("/business-systems/{id}", "wework.task.v1.BusinessSystemService/UpdateBusinessSystem"),
        post("/business-systems/{id}/rotate-secrets", "wework.task.v1.BusinessSystemService/RotateBusinessSecrets"),
    ]
}
