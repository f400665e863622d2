//! TemplateService: CRUD with partial updates, checks that name their
//! fields, unique names per tenant, Render (missing and unknown variables,
//! the escaping rule), tenant isolation and who sees private templates.

use tonic::Code;
use wework_proto::common::PageRequest;
use wework_proto::message::{self as pb, content::Kind};

use crate::batch_support::operator;
use crate::helpers::{Tenant, TestApp, assert_code, authed, spawn_app, text, violated_fields};

fn var(name: &str, ty: pb::VariableType, required: bool, default: &str) -> pb::Variable {
    pb::Variable {
        name: name.into(),
        r#type: ty as i32,
        required,
        default_value: default.into(),
        description: String::new(),
    }
}

fn welcome(name: &str) -> pb::CreateTemplateRequest {
    pb::CreateTemplateRequest {
        name: name.into(),
        category: "marketing".into(),
        description: "Greets a new customer".into(),
        content: text("Hello {{ name }}, your code is {{code}}. {{{{literal}}"),
        variables: vec![
            var("name", pb::VariableType::String, true, ""),
            var("code", pb::VariableType::Number, false, "0"),
        ],
        preview_data: [("name".to_owned(), "Li Wei".to_owned())].into(),
        is_public: true,
        tags: vec!["vip".into(), "welcome".into(), "vip".into()],
    }
}

async fn create(app: &TestApp, token: &str, req: pb::CreateTemplateRequest) -> Result<pb::Template, tonic::Status> {
    app.templates().create_template(authed(token, req)).await.map(tonic::Response::into_inner)
}

async fn get(app: &TestApp, token: &str, id: &str) -> Result<pb::Template, tonic::Status> {
    let req = pb::GetTemplateRequest { id: id.into() };
    app.templates().get_template(authed(token, req)).await.map(tonic::Response::into_inner)
}

async fn list(app: &TestApp, t: &Tenant, req: pb::ListTemplatesRequest) -> pb::ListTemplatesResponse {
    app.templates().list_templates(authed(&t.token, req)).await.expect("list").into_inner()
}

async fn render(app: &TestApp, token: &str, req: pb::RenderRequest) -> Result<String, tonic::Status> {
    let resp = app.templates().render(authed(token, req)).await?.into_inner();
    match resp.content.and_then(|c| c.kind) {
        Some(Kind::Text(t)) => Ok(t.text),
        other => panic!("unexpected content {other:?}"),
    }
}

fn values(pairs: &[(&str, &str)]) -> std::collections::HashMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[tokio::test]
async fn templates_are_created_read_listed_updated_and_deleted() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 100).await;
    let created = create(&app, &t.token, welcome("welcome")).await.expect("create");
    assert_eq!(created.tenant_id, t.id);
    assert_eq!(created.tags, ["vip", "welcome"], "repeated tags are dropped");
    assert_eq!(created.variables.len(), 2);
    assert!(created.is_active && created.is_public);
    assert_eq!(created.usage_count, 0);
    assert_eq!(get(&app, &t.token, &created.id).await.expect("get"), created);
    let mut other = welcome("invoice");
    other.category = "billing".into();
    other.tags = vec!["billing".into()];
    let invoice = create(&app, &t.token, other).await.expect("create second");

    let all = list(&app, &t, pb::ListTemplatesRequest::default()).await;
    assert_eq!(all.templates.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["invoice", "welcome"]);
    let by = |f: fn(&mut pb::ListTemplatesRequest)| {
        let mut req = pb::ListTemplatesRequest::default();
        f(&mut req);
        req
    };
    let names = |r: pb::ListTemplatesResponse| r.templates.into_iter().map(|t| t.name).collect::<Vec<_>>();
    assert_eq!(names(list(&app, &t, by(|r| r.category = "billing".into())).await), ["invoice"]);
    assert_eq!(names(list(&app, &t, by(|r| r.tag = "VIP".into())).await), ["welcome"]);
    assert_eq!(names(list(&app, &t, by(|r| r.tag = "vi".into())).await), Vec::<String>::new(), "tags match whole");
    assert_eq!(names(list(&app, &t, by(|r| r.text = "INVO".into())).await), ["invoice"]);
    let first = list(&app, &t, by(|r| r.page = Some(PageRequest { page_size: 1, page_token: String::new() }))).await;
    let token = first.page.clone().expect("page").next_page_token;
    assert!(!token.is_empty());
    let second = list(
        &app,
        &t,
        pb::ListTemplatesRequest { page: Some(PageRequest { page_size: 1, page_token: token }), ..Default::default() },
    )
    .await;
    assert_eq!(names(first).into_iter().chain(names(second)).collect::<Vec<_>>(), ["invoice", "welcome"]);

    // Partial update: only what is set changes.
    let update = pb::UpdateTemplateRequest {
        id: invoice.id.clone(),
        name: Some("invoice-v2".into()),
        is_active: Some(false),
        set_tags: true,
        tags: vec![],
        content: text("Invoice for {{name}}"),
        ..Default::default()
    };
    let updated = app.templates().update_template(authed(&t.token, update)).await.expect("update").into_inner();
    assert_eq!((updated.name.as_str(), updated.is_active, updated.tags.len()), ("invoice-v2", false, 0));
    assert_eq!((updated.category.as_str(), updated.variables.len(), updated.is_public), ("billing", 2, true));
    assert_eq!(names(list(&app, &t, by(|r| r.active_only = true)).await), ["welcome"]);

    let req = pb::DeleteTemplateRequest { id: invoice.id.clone() };
    app.templates().delete_template(authed(&t.token, req.clone())).await.expect("delete");
    assert_code(get(&app, &t.token, &invoice.id).await, Code::NotFound);
    assert_code(app.templates().delete_template(authed(&t.token, req)).await, Code::NotFound);
}

#[tokio::test]
async fn bad_templates_are_refused_naming_every_field() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 100).await;
    let mut req = welcome(" ");
    req.content = text("Hi {{ nmae }} {{ broken");
    req.variables.push(var("Bad-Name", pb::VariableType::String, false, ""));
    req.preview_data = values(&[("code", "twelve"), ("ghost", "x")]);
    req.tags = vec!["".into()];
    let status = assert_code(create(&app, &t.token, req).await, Code::InvalidArgument);
    let fields = violated_fields(&status);
    for field in ["name", "tags[0]", "variables[2].name"] {
        assert!(fields.contains(&field.to_owned()), "{field} missing in {fields:?}");
    }
    // With valid variables, the content and the preview data are checked.
    let mut req = welcome("x");
    req.content = text("Hi {{ nmae }}");
    req.preview_data = values(&[("code", "twelve"), ("ghost", "x")]);
    let fields = violated_fields(&assert_code(create(&app, &t.token, req).await, Code::InvalidArgument));
    assert_eq!(fields, ["content.text.text"]);
    let mut req = welcome("x");
    req.preview_data = values(&[("code", "twelve"), ("ghost", "x")]);
    let fields = violated_fields(&assert_code(create(&app, &t.token, req).await, Code::InvalidArgument));
    assert_eq!(fields, ["preview_data.code", "preview_data.ghost"]);
    let mut req = welcome("x");
    req.content = None;
    assert_eq!(violated_fields(&assert_code(create(&app, &t.token, req).await, Code::InvalidArgument)), ["content"]);

    // Dropping a variable the stored content still uses is refused.
    let created = create(&app, &t.token, welcome("welcome")).await.expect("create");
    let update = pb::UpdateTemplateRequest {
        id: created.id.clone(),
        set_variables: true,
        variables: vec![var("name", pb::VariableType::String, true, "")],
        ..Default::default()
    };
    let status = assert_code(app.templates().update_template(authed(&t.token, update)).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["content.text.text"]);
}

#[tokio::test]
async fn names_are_unique_per_tenant() {
    let app = spawn_app().await;
    let acme = app.tenant("acme", 100).await;
    let globex = app.tenant("globex", 100).await;
    create(&app, &acme.token, welcome("welcome")).await.expect("first");
    assert_code(create(&app, &acme.token, welcome("welcome")).await, Code::AlreadyExists);
    create(&app, &globex.token, welcome("welcome")).await.expect("same name, other tenant");
    let other = create(&app, &acme.token, welcome("other")).await.expect("other");
    let rename = pb::UpdateTemplateRequest { id: other.id, name: Some("welcome".into()), ..Default::default() };
    assert_code(app.templates().update_template(authed(&acme.token, rename)).await, Code::AlreadyExists);
}

#[tokio::test]
async fn render_fills_values_and_names_missing_or_unknown_variables() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 100).await;
    let created = create(&app, &t.token, welcome("welcome")).await.expect("create");
    let req = |pairs: &[(&str, &str)], preview: bool| pb::RenderRequest {
        template_id: created.id.clone(),
        variables: values(pairs),
        use_preview_data: preview,
    };
    // Values are inserted literally, once; `{{{{` is a literal `{{`; the default fills `code`.
    let out = render(&app, &t.token, req(&[("name", "{{code}} & <b>")], false)).await.expect("render");
    assert_eq!(out, "Hello {{code}} & <b>, your code is 0. {{literal}}");
    assert_eq!(
        render(&app, &t.token, req(&[], true)).await.expect("preview"),
        "Hello Li Wei, your code is 0. {{literal}}"
    );
    assert_eq!(
        render(&app, &t.token, req(&[("name", "Wang")], true)).await.expect("override"),
        "Hello Wang, your code is 0. {{literal}}"
    );

    let missing = assert_code(render(&app, &t.token, req(&[], false)).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&missing), ["variables.name"]);
    let unknown =
        assert_code(render(&app, &t.token, req(&[("name", "x"), ("zzz", "1")], false)).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&unknown), ["variables.zzz"]);
    let typed = assert_code(
        render(&app, &t.token, req(&[("name", "x"), ("code", "twelve")], false)).await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&typed), ["variables.code"]);
    let long = "x".repeat(4_000);
    let grown = assert_code(render(&app, &t.token, req(&[("name", &long)], false)).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&grown), ["content.text.text"]);
}

#[tokio::test]
async fn another_tenants_templates_are_not_found() {
    let app = spawn_app().await;
    let acme = app.tenant("acme", 100).await;
    let globex = app.tenant("globex", 100).await;
    let mine = create(&app, &acme.token, welcome("welcome")).await.expect("create");
    assert_code(get(&app, &globex.token, &mine.id).await, Code::NotFound);
    assert!(list(&app, &globex, pb::ListTemplatesRequest::default()).await.templates.is_empty());
    let update = pb::UpdateTemplateRequest { id: mine.id.clone(), name: Some("stolen".into()), ..Default::default() };
    assert_code(app.templates().update_template(authed(&globex.token, update)).await, Code::NotFound);
    let delete = pb::DeleteTemplateRequest { id: mine.id.clone() };
    assert_code(app.templates().delete_template(authed(&globex.token, delete)).await, Code::NotFound);
    let render_req = pb::RenderRequest { template_id: mine.id.clone(), use_preview_data: true, ..Default::default() };
    assert_code(app.templates().render(authed(&globex.token, render_req)).await, Code::NotFound);
    assert_eq!(get(&app, &acme.token, &mine.id).await.expect("still there").name, "welcome");
    // The platform admin reaches any tenant's template.
    assert_eq!(get(&app, &app.admin, &mine.id).await.expect("platform").id, mine.id);
}

#[tokio::test]
async fn private_templates_are_seen_by_their_creator_and_the_administrators() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 100).await;
    let alice = operator(&app, &t, "acme", "alice").await;
    let bob = operator(&app, &t, "acme", "bob").await;
    let mut req = welcome("alice-private");
    req.is_public = false;
    let private = create(&app, &alice, req).await.expect("private");
    let public = create(&app, &alice, welcome("alice-public")).await.expect("public");
    assert_eq!(get(&app, &alice, &private.id).await.expect("creator").id, private.id);
    assert_eq!(get(&app, &t.token, &private.id).await.expect("tenant admin").id, private.id);
    assert_code(get(&app, &bob, &private.id).await, Code::NotFound);
    assert_eq!(get(&app, &bob, &public.id).await.expect("public").id, public.id);
    let seen = app.templates().list_templates(authed(&bob, pb::ListTemplatesRequest::default())).await.expect("list");
    assert_eq!(seen.into_inner().templates.into_iter().map(|t| t.name).collect::<Vec<_>>(), ["alice-public"]);
    // Made public, everyone in the tenant sees it.
    let update = pb::UpdateTemplateRequest { id: private.id.clone(), is_public: Some(true), ..Default::default() };
    app.templates().update_template(authed(&alice, update)).await.expect("publish");
    assert_eq!(get(&app, &bob, &private.id).await.expect("now public").id, private.id);
}

#[tokio::test]
async fn a_use_counts_and_stamps_the_template() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 100).await;
    let created = create(&app, &t.token, welcome("welcome")).await.expect("create");
    let now = app.now();
    message_service::store::templates::mark_used(app.state.db.writer(), &created.id, now).await.expect("mark used");
    message_service::store::templates::mark_used(app.state.db.writer(), &created.id, now).await.expect("mark used");
    let used = get(&app, &t.token, &created.id).await.expect("get");
    assert_eq!(used.usage_count, 2);
    assert_eq!(used.last_used_time.map(|t| t.seconds), Some(now.timestamp()));
}
