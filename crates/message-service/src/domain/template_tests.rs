//! Unit tests of templates: variables, placeholder syntax and escaping,
//! rendering, and that every error names its field.

use std::collections::HashMap;

use wework_client::protocol::MessageContent;
use wework_proto::message::content::{self as pc, Kind};
use wework_proto::message::{Content, Variable, VariableType};

use super::*;
use crate::domain::content::MAX_TEXT_CHARS;

fn var(name: &str, ty: VariableType, required: bool, default: &str) -> Variable {
    Variable {
        name: name.into(),
        r#type: ty as i32,
        required,
        default_value: default.into(),
        description: String::new(),
    }
}

fn spec(vars: &[Variable]) -> TemplateSpec {
    TemplateSpec::parse(vars, "variables").unwrap()
}

fn text(t: &str) -> Content {
    Content { kind: Some(Kind::Text(pc::Text { text: t.into() })) }
}

fn values(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn fields(errors: Vec<FieldError>) -> Vec<String> {
    errors.into_iter().map(|e| e.field).collect()
}

/// Renders a one-text template with a single optional string variable `v`.
fn render_text(template: &str, pairs: &[(&str, &str)]) -> Result<String, Vec<FieldError>> {
    let s = spec(&[var("v", VariableType::String, false, "")]);
    let content = TemplateContent::parse(&s, Some(&text(template)), "content")?;
    match render(&s, &content, &values(pairs))?.into_content() {
        MessageContent::Text { text } => Ok(text),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn variable_names_are_checked_and_unique() {
    assert!(TemplateSpec::parse(&[var("a", VariableType::String, true, "")], "variables").is_ok());
    assert!(TemplateSpec::parse(&[var(&format!("a{}", "b".repeat(31)), VariableType::String, true, "")], "v").is_ok());
    for bad in ["", "Name", "1a", "_a", "a-b", "a b", &format!("a{}", "b".repeat(32))] {
        let err = TemplateSpec::parse(&[var(bad, VariableType::String, false, "")], "variables").unwrap_err();
        assert_eq!(fields(err), ["variables[0].name"], "{bad:?}");
    }
    let twice = [var("a", VariableType::String, false, ""), var("a", VariableType::Number, false, "")];
    assert_eq!(fields(TemplateSpec::parse(&twice, "variables").unwrap_err()), ["variables[1].name"]);
}

#[test]
fn variable_types_and_defaults() {
    let mut unknown = var("a", VariableType::String, false, "");
    unknown.r#type = 99;
    assert_eq!(fields(TemplateSpec::parse(&[unknown], "variables").unwrap_err()), ["variables[0].type"]);
    let unspecified = spec(&[var("a", VariableType::Unspecified, false, "")]);
    assert_eq!(unspecified.variables()[0].var_type, VarType::String);
    let bad_defaults = [
        var("n", VariableType::Number, false, "12a"),
        var("d", VariableType::Date, false, "2024-02-30"),
        var("u", VariableType::Url, false, "example.com"),
        var("ok", VariableType::Date, false, "2024-02-29"),
    ];
    assert_eq!(
        fields(TemplateSpec::parse(&bad_defaults, "variables").unwrap_err()),
        ["variables[0].default_value", "variables[1].default_value", "variables[2].default_value"]
    );
    let too_many: Vec<_> =
        (0..=MAX_VARIABLES).map(|i| var(&format!("v{i}"), VariableType::String, false, "")).collect();
    assert_eq!(fields(TemplateSpec::parse(&too_many, "variables").unwrap_err()), ["variables"]);
}

#[test]
fn value_types() {
    for good in ["0", "-12", "3.14", "-0.5"] {
        assert_eq!(VarType::Number.problem(good), None, "{good}");
    }
    for bad in ["", "-", "1.", ".5", "1e5", "NaN", "1,000", " 1", &"9".repeat(MAX_NUMBER_CHARS + 1)] {
        assert!(VarType::Number.problem(bad).is_some(), "{bad:?}");
    }
    for bad in ["2024-1-05", "2024-13-01", "2023-02-29", "20240101", "2024-01-01T00:00", "+202-01-01"] {
        assert!(VarType::Date.problem(bad).is_some(), "{bad:?}");
    }
    assert_eq!(VarType::Date.problem("2024-12-31"), None);
    assert_eq!(VarType::Url.problem("https://a.example/x"), None);
    assert!(VarType::Url.problem("mailto:a@b").is_some());
    assert!(VarType::String.problem("a\0").is_some());
}

#[test]
fn spec_round_trips_through_json_and_proto() {
    let vars = [var("name", VariableType::String, true, ""), var("day", VariableType::Date, false, "2024-01-01")];
    let s = spec(&vars);
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json[1]["type"], "date");
    assert_eq!(serde_json::from_value::<TemplateSpec>(json).unwrap(), s);
    assert_eq!(s.to_proto(), vars);
}

#[test]
fn placeholders_allow_inner_whitespace() {
    assert_eq!(render_text("Hi {{v}}, {{ v }}, {{\tv  }}!", &[("v", "Ann")]).unwrap(), "Hi Ann, Ann, Ann!");
}

#[test]
fn escaping_rule_four_braces_are_a_literal_pair() {
    assert_eq!(render_text("{{{{v}}", &[("v", "A")]).unwrap(), "{{v}}");
    assert_eq!(render_text("{{{{ {{v}} }}", &[("v", "A")]).unwrap(), "{{ A }}");
    assert_eq!(render_text("{{{v}}}", &[("v", "A")]).unwrap(), "{A}");
    assert_eq!(render_text("a { b } }} c", &[]).unwrap(), "a { b } }} c");
}

#[test]
fn malformed_placeholders_are_errors_on_their_field() {
    let s = spec(&[var("v", VariableType::String, false, "")]);
    for bad in ["{{", "x {{v", "{{}}", "{{ V }}", "{{a b}}", "{{ {{v}} }}", "{{v-1}}"] {
        let err = TemplateContent::parse(&s, Some(&text(bad)), "content").unwrap_err();
        assert_eq!(fields(err.clone()), ["content.text.text"], "{bad:?}");
        assert!(err[0].message.starts_with("malformed placeholder"), "{bad:?}: {}", err[0].message);
    }
    let err = TemplateContent::parse(&s, Some(&text("ok {{v}} then {{")), "content").unwrap_err();
    assert!(err[0].message.contains("character 15"), "{}", err[0].message);
}

#[test]
fn undeclared_placeholders_name_the_field_that_uses_them() {
    let s = spec(&[var("title", VariableType::String, true, "")]);
    let link = pc::Link {
        title: "{{title}}".into(),
        url: "https://a.example/{{id}}".into(),
        description: "{{who}} and {{id}}".into(),
        image_url: String::new(),
    };
    let err = TemplateContent::parse(&s, Some(&Content { kind: Some(Kind::Link(link)) }), "content").unwrap_err();
    assert_eq!(fields(err), ["content.link.url", "content.link.description", "content.link.description"]);
    // Declared but unused is fine.
    let unused = spec(&[var("a", VariableType::String, true, ""), var("b", VariableType::Number, false, "")]);
    assert!(TemplateContent::parse(&unused, Some(&text("no placeholders")), "content").is_ok());
}

#[test]
fn template_content_is_checked_with_sample_values() {
    let s = spec(&[var("name", VariableType::String, false, ""), var("page", VariableType::Url, false, "")]);
    assert_eq!(fields(TemplateContent::parse(&s, None, "content").unwrap_err()), ["content"]);
    let link = |url: &str| Content {
        kind: Some(Kind::Link(pc::Link { title: "T".into(), url: url.into(), ..Default::default() })),
    };
    assert!(TemplateContent::parse(&s, Some(&link("{{page}}")), "content").is_ok());
    assert!(TemplateContent::parse(&s, Some(&link("https://a.example/u/{{name}}")), "content").is_ok());
    let err = TemplateContent::parse(&s, Some(&link("{{name}}")), "content").unwrap_err();
    assert_eq!(fields(err.clone()), ["content.link.url"]);
    assert!(err[0].message.contains("sample values"), "{}", err[0].message);
    let err = TemplateContent::parse(&s, Some(&text(&"a".repeat(MAX_TEXT_CHARS + 1))), "content").unwrap_err();
    assert_eq!(err, [FieldError::new("content.text.text", "at most 4000 characters")]);
}

#[test]
fn render_fills_every_string_field() {
    let s = spec(&[
        var("name", VariableType::String, true, ""),
        var("id", VariableType::Number, false, "7"),
        var("file", VariableType::String, false, "report"),
    ]);
    let file = Content {
        kind: Some(Kind::File(pc::File {
            url: "https://a.example/{{id}}/{{file}}.pdf".into(),
            file_name: "{{file}} for {{name}}.pdf".into(),
            file_size: 10,
        })),
    };
    let content = TemplateContent::parse(&s, Some(&file), "content").unwrap();
    let body = render(&s, &content, &values(&[("name", "Ann"), ("id", "")])).unwrap();
    assert_eq!(
        body.content(),
        &MessageContent::File {
            url: "https://a.example/7/report.pdf".into(),
            file_name: "report for Ann.pdf".into(),
            file_size: 10
        }
    );
    let loc = Content {
        kind: Some(Kind::Location(pc::Location {
            latitude: 1.0,
            longitude: 2.0,
            title: "{{name}}'s".into(),
            address: "No. {{id}}".into(),
        })),
    };
    let content = TemplateContent::parse(&s, Some(&loc), "content").unwrap();
    let body = render(&s, &content, &values(&[("name", "Bo")])).unwrap();
    assert_eq!(crate::domain::content::summary(&body), "[location] Bo's");
}

#[test]
fn values_are_inserted_once_as_plain_text() {
    assert_eq!(render_text("<{{v}}>", &[("v", "{{v}} {{{{ }}")]).unwrap(), "<{{v}} {{{{ }}>");
}

#[test]
fn missing_required_unknown_and_invalid_values_name_the_variable() {
    let s = spec(&[
        var("name", VariableType::String, true, ""),
        var("when", VariableType::Date, true, ""),
        var("site", VariableType::Url, true, "https://a.example"),
        var("n", VariableType::Number, false, ""),
    ]);
    let content = TemplateContent::parse(&s, Some(&text("{{name}} {{when}} {{site}} {{n}}")), "content").unwrap();
    let err = render(&s, &content, &values(&[("when", "tomorrow"), ("zzz", "1"), ("n", "x"), ("name", "")]));
    let err = err.unwrap_err();
    assert_eq!(fields(err.clone()), ["variables.n", "variables.when", "variables.zzz", "variables.name"]);
    assert_eq!(err[2].message, "not declared by the template");
    assert!(err[3].message.starts_with("required"));
    // A default satisfies a required variable; an optional one renders empty.
    let ok = render(&s, &content, &values(&[("name", "A"), ("when", "2024-05-01")])).unwrap();
    assert_eq!(ok.content(), &MessageContent::Text { text: "A 2024-05-01 https://a.example".into() });
}

#[test]
fn rendered_content_is_revalidated() {
    let long = "a".repeat(MAX_TEXT_CHARS);
    let err = render_text("x{{v}}", &[("v", long.as_str())]).unwrap_err();
    assert_eq!(err, [FieldError::new("content.text.text", "at most 4000 characters")]);
    // An optional variable left out can leave the text blank.
    assert_eq!(fields(render_text("{{v}}", &[]).unwrap_err()), ["content.text.text"]);
    // A string value that breaks a url field fails on the url.
    let s = spec(&[var("path", VariableType::String, false, "")]);
    let link = pc::Link { title: "T".into(), url: "https://a.example/{{path}}".into(), ..Default::default() };
    let content = TemplateContent::parse(&s, Some(&Content { kind: Some(Kind::Link(link)) }), "content").unwrap();
    let err = render(&s, &content, &values(&[("path", "a b")])).unwrap_err();
    assert_eq!(fields(err), ["content.link.url"]);
}

#[test]
fn preview_data_is_just_values() {
    let s = spec(&[var("name", VariableType::String, true, ""), var("n", VariableType::Number, false, "")]);
    let preview = values(&[("name", "Preview"), ("n", "1.5")]);
    assert!(check_preview_data(&s, &preview).is_empty());
    let content = TemplateContent::parse(&s, Some(&text("Hi {{name}} ({{n}})")), "content").unwrap();
    assert_eq!(summary_of(render(&s, &content, &preview).unwrap()), "Hi Preview (1.5)");
    let bad = values(&[("n", "one"), ("x", "1")]);
    assert_eq!(fields(check_preview_data(&s, &bad)), ["preview_data.n", "preview_data.x"]);
}

#[test]
fn template_content_round_trips_through_json() {
    let s = spec(&[var("v", VariableType::String, true, "")]);
    let content = TemplateContent::parse(&s, Some(&text("Hi {{ v }}")), "content").unwrap();
    let json = serde_json::to_string(&content).unwrap();
    assert_eq!(json, r#"{"msg_type":"text","text":"Hi {{ v }}"}"#);
    assert_eq!(serde_json::from_str::<TemplateContent>(&json).unwrap(), content);
}

fn summary_of(body: MessageBody) -> String {
    crate::domain::content::summary(&body)
}
