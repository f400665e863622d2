//! Message templates: content with `{{name}}` placeholders and typed
//! variables (`string`, `number`, `date` as `YYYY-MM-DD`, `url`).
//!
//! Placeholder syntax, applied to every string field of the content (text;
//! urls; file name; link title and description; mini program app id, title,
//! page path; card user id and name; location title and address; numbers such
//! as sizes and coordinates are not templated):
//! - `{{name}}`, with optional whitespace inside the braces (`{{ name }}`);
//!   `name` is `[a-z][a-z0-9_]{0,31}` and must be declared by the template.
//! - Escaping, the one rule: `{{{{` is a literal `{{`. Any other `{{` opens a
//!   placeholder; in a run of three braces the last two open it, so
//!   `{{{name}}}` renders `{value}`. A `{{` that is not a well-formed
//!   placeholder is an error (never silently literal). `}}` outside a
//!   placeholder is literal.
//!
//! Rendering inserts values as plain text, once: a value containing `{{x}}`
//! stays literally `{{x}}`. The rendered content is checked with the limits of
//! [`content`](super::content), so a text that grows past 4000 characters
//! fails on `content.text.text`. An empty value counts as absent (proto maps
//! cannot tell the two apart), so the default applies.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use wework_client::protocol::MessageContent;
use wework_proto::message::{Content, Variable, VariableType};

use super::FieldError;
use super::content::{self, MessageBody};

pub const MAX_VARIABLES: usize = 50;
pub const MAX_VARIABLE_DESCRIPTION_CHARS: usize = 512;
pub const MAX_NUMBER_CHARS: usize = 32;

/// What a variable's value must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VarType {
    String,
    Number,
    Date,
    Url,
}

impl VarType {
    /// Why `value` is not of this type, or `None`.
    pub fn problem(self, value: &str) -> Option<String> {
        let ok = match self {
            Self::String => !value.contains('\0'),
            Self::Number => is_decimal(value),
            Self::Date => is_date(value),
            Self::Url => return content::url_problem(value).map(str::to_owned),
        };
        (!ok).then(|| match self {
            Self::String => "must not contain NUL characters".to_owned(),
            Self::Number => format!("must be a decimal number like -12.5 (at most {MAX_NUMBER_CHARS} characters)"),
            _ => "must be a date YYYY-MM-DD".to_owned(),
        })
    }

    /// A value of the type, to check a template's content before any real one.
    fn sample(self) -> &'static str {
        match self {
            Self::String => "x",
            Self::Number => "1",
            Self::Date => "2000-01-01",
            Self::Url => "https://example.com/",
        }
    }
}

/// One declared variable; `default` is already valid for `var_type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariableSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub var_type: VarType,
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// A template's variables, checked: names valid and unique, defaults typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TemplateSpec {
    variables: Vec<VariableSpec>,
}

impl TemplateSpec {
    /// Parses the request's variables (field `field`, usually `variables`).
    pub fn parse(variables: &[Variable], field: &str) -> Result<Self, Vec<FieldError>> {
        if variables.len() > MAX_VARIABLES {
            return Err(vec![FieldError::new(field, format!("at most {MAX_VARIABLES} variables"))]);
        }
        let mut errors = Vec::new();
        let mut specs: Vec<VariableSpec> = Vec::new();
        for (i, v) in variables.iter().enumerate() {
            let at = |name: &str, message: String| FieldError::new(format!("{field}[{i}].{name}"), message);
            if !is_name(&v.name) {
                errors.push(at("name", "must match [a-z][a-z0-9_]{0,31}".to_owned()));
            } else if specs.iter().any(|s| s.name == v.name) {
                errors.push(at("name", format!("`{}` is declared twice", v.name)));
            }
            let var_type = match VariableType::try_from(v.r#type) {
                Ok(VariableType::Unspecified | VariableType::String) => VarType::String,
                Ok(VariableType::Number) => VarType::Number,
                Ok(VariableType::Date) => VarType::Date,
                Ok(VariableType::Url) => VarType::Url,
                Err(_) => {
                    errors.push(at("type", "unknown variable type".to_owned()));
                    VarType::String
                }
            };
            let default = (!v.default_value.is_empty()).then(|| v.default_value.clone());
            if let Some(problem) = default.as_deref().and_then(|d| var_type.problem(d)) {
                errors.push(at("default_value", problem));
            }
            if v.description.chars().count() > MAX_VARIABLE_DESCRIPTION_CHARS {
                errors.push(at("description", format!("at most {MAX_VARIABLE_DESCRIPTION_CHARS} characters")));
            }
            let (name, required, description) = (v.name.clone(), v.required, v.description.clone());
            specs.push(VariableSpec { name, var_type, required, default, description });
        }
        if errors.is_empty() { Ok(Self { variables: specs }) } else { Err(errors) }
    }

    pub fn variables(&self) -> &[VariableSpec] {
        &self.variables
    }

    pub fn get(&self, name: &str) -> Option<&VariableSpec> {
        self.variables.iter().find(|v| v.name == name)
    }

    pub fn to_proto(&self) -> Vec<Variable> {
        let var_type = |t| match t {
            VarType::String => VariableType::String,
            VarType::Number => VariableType::Number,
            VarType::Date => VariableType::Date,
            VarType::Url => VariableType::Url,
        };
        self.variables
            .iter()
            .map(|v| Variable {
                name: v.name.clone(),
                r#type: var_type(v.var_type) as i32,
                required: v.required,
                default_value: v.default.clone().unwrap_or_default(),
                description: v.description.clone(),
            })
            .collect()
    }
}

/// A template's content: placeholders well-formed and declared, and valid
/// with a sample value (the default, else one of the type) in each of them.
/// Stored as the protocol content's JSON, placeholders included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TemplateContent(MessageContent);

impl TemplateContent {
    /// Parses the content field `field` of a create/update request against
    /// the template's (new) variables.
    pub fn parse(spec: &TemplateSpec, content: Option<&Content>, field: &str) -> Result<Self, Vec<FieldError>> {
        let Some(kind) = content.and_then(|c| c.kind.as_ref()) else {
            return Err(content::parse(None, field).err().unwrap_or_default());
        };
        let raw = content::from_proto(kind);
        let samples = spec
            .variables
            .iter()
            .map(|v| (v.name.as_str(), v.default.as_deref().unwrap_or(v.var_type.sample())))
            .collect::<HashMap<_, _>>();
        let (sampled, templated) = fill(&raw, field, &samples)?;
        content::validate(sampled, field).map_err(|errors| {
            let note = |e: FieldError| {
                if templated.contains(&e.field) {
                    FieldError { message: format!("{} (with sample values for its placeholders)", e.message), ..e }
                } else {
                    e
                }
            };
            errors.into_iter().map(note).collect::<Vec<_>>()
        })?;
        Ok(Self(raw))
    }

    pub fn content(&self) -> &MessageContent {
        &self.0
    }
}

/// Fills the template with `values` (field names `variables.<name>`): see the
/// module doc for the rules. Variable errors are reported without rendering,
/// since content errors caused by a bad value would only repeat them.
pub fn render(
    spec: &TemplateSpec,
    content: &TemplateContent,
    values: &HashMap<String, String>,
) -> Result<MessageBody, Vec<FieldError>> {
    let resolved = resolve(spec, values, "variables")?;
    let resolved = resolved.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (filled, _) = fill(&content.0, "content", &resolved)?;
    content::validate(filled, "content")
}

/// Checks a template's preview data (field `preview_data.<name>`): declared
/// names and values of the right type. Required ones may be left out.
pub fn check_preview_data(spec: &TemplateSpec, preview: &HashMap<String, String>) -> Vec<FieldError> {
    let mut names: Vec<&String> = preview.keys().collect();
    names.sort();
    names.into_iter().filter_map(|name| value_problem(spec, name, &preview[name], "preview_data")).collect()
}

/// The value of every declared variable (`""` for an absent optional one).
fn resolve<'a>(
    spec: &'a TemplateSpec,
    values: &HashMap<String, String>,
    field: &str,
) -> Result<Vec<(&'a str, String)>, Vec<FieldError>> {
    let mut names: Vec<&String> = values.keys().collect();
    names.sort();
    let mut errors: Vec<FieldError> =
        names.into_iter().filter_map(|name| value_problem(spec, name, &values[name], field)).collect();
    let mut resolved = Vec::with_capacity(spec.variables.len());
    for v in &spec.variables {
        let given = values.get(&v.name).filter(|s| !s.is_empty());
        match given.or(v.default.as_ref()) {
            Some(value) => resolved.push((v.name.as_str(), value.clone())),
            None if v.required => errors.push(FieldError::new(
                format!("{field}.{}", v.name),
                "required by the template (no value and no default)",
            )),
            None => resolved.push((v.name.as_str(), String::new())),
        }
    }
    if errors.is_empty() { Ok(resolved) } else { Err(errors) }
}

fn value_problem(spec: &TemplateSpec, name: &str, value: &str, field: &str) -> Option<FieldError> {
    // The name comes from the caller: keep the field path short.
    let path = format!("{field}.{}", name.chars().take(64).collect::<String>());
    match spec.get(name) {
        None => Some(FieldError::new(path, "not declared by the template")),
        Some(_) if value.is_empty() => None,
        Some(v) => v.var_type.problem(value).map(|p| FieldError::new(path, p)),
    }
}

/// Replaces the placeholders of every string field of `raw` (paths under
/// `field`); returns the filled content and the paths that had placeholders.
fn fill(
    raw: &MessageContent,
    field: &str,
    values: &HashMap<&str, &str>,
) -> Result<(MessageContent, BTreeSet<String>), Vec<FieldError>> {
    let mut filled = raw.clone();
    let base = format!("{field}.{}", raw.kind());
    let mut errors = Vec::new();
    let mut templated = BTreeSet::new();
    for (name, text) in string_fields(&mut filled) {
        let path = format!("{base}.{name}");
        match fill_text(text, values) {
            Ok((out, used)) => {
                if used {
                    templated.insert(path);
                }
                *text = out;
            }
            Err(problems) => errors.extend(problems.into_iter().map(|p| FieldError::new(path.clone(), p))),
        }
    }
    if errors.is_empty() { Ok((filled, templated)) } else { Err(errors) }
}

/// One field filled; `Err` lists malformed and undeclared placeholders.
fn fill_text(text: &str, values: &HashMap<&str, &str>) -> Result<(String, bool), Vec<String>> {
    let mut out = String::with_capacity(text.len());
    let mut problems = Vec::new();
    let mut used = false;
    let mut rest = text;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{{{{") {
            out.push_str("{{");
            rest = after;
        } else if !tail.starts_with("{{") || tail.starts_with("{{{") {
            out.push('{');
            rest = &tail[1..];
        } else {
            let position = text.len() - tail.len();
            let inner = tail[2..].split_once("}}").map(|(inner, _)| inner).filter(|inner| is_name(inner.trim()));
            let Some(inner) = inner else {
                let at = text[..position].chars().count() + 1;
                problems.push(format!(
                    "malformed placeholder at character {at}: expected {{{{name}}}} with name [a-z][a-z0-9_]{{0,31}} \
                     (write {{{{{{{{ for a literal {{{{)"
                ));
                return Err(problems);
            };
            let name = inner.trim();
            match values.get(name) {
                Some(value) => out.push_str(value),
                None => problems.push(format!("uses `{name}`, which the template does not declare")),
            }
            used = true;
            rest = &tail[2 + inner.len() + 2..];
        }
    }
    out.push_str(rest);
    if problems.is_empty() { Ok((out, used)) } else { Err(problems) }
}

/// Every string field of the content, by its proto name.
fn string_fields(content: &mut MessageContent) -> Vec<(&'static str, &mut String)> {
    match content {
        MessageContent::Text { text } => vec![("text", text)],
        MessageContent::Image { url, .. } => vec![("url", url)],
        MessageContent::File { url, file_name, .. } => vec![("url", url), ("file_name", file_name)],
        MessageContent::Link { title, url, description, image_url } => {
            vec![("title", title), ("url", url), ("description", description), ("image_url", image_url)]
        }
        MessageContent::MiniProgram { app_id, title, page_path, thumb_url } => {
            vec![("app_id", app_id), ("title", title), ("page_path", page_path), ("thumb_url", thumb_url)]
        }
        MessageContent::Video { url, thumb_url, .. } => vec![("url", url), ("thumb_url", thumb_url)],
        MessageContent::ContactCard { user_id, name } => vec![("user_id", user_id), ("name", name)],
        MessageContent::Location { title, address, .. } => vec![("title", title), ("address", address)],
    }
}

/// `[a-z][a-z0-9_]{0,31}`.
fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `-?[0-9]+(\.[0-9]+)?`: no exponent, no NaN, nothing a locale would format.
fn is_decimal(value: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let unsigned = value.strip_prefix('-').unwrap_or(value);
    value.len() <= MAX_NUMBER_CHARS
        && match unsigned.split_once('.') {
            Some((int, frac)) => digits(int) && digits(frac),
            None => digits(unsigned),
        }
}

/// Exactly `YYYY-MM-DD` and a real day (chrono alone accepts `2024-1-5`).
fn is_date(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "template_tests.rs"]
mod tests;
