//! Manual and import receivers of a new batch, written in the batch's
//! transaction `batch_chunk` rows at a time: a manual list is checked
//! receiver by receiver (errors name `targets.manual.receivers[i]…`), an
//! import is streamed from the CSV (never held as models at once).
//! Duplicates and broken rows are skipped and reported as row errors.

use std::collections::{BTreeMap, HashMap};

use wework_proto::message::{self as pb, create_batch_response::RowError};

use super::template_convert as conv;
use crate::domain::FieldError;
use crate::domain::content::MAX_TEXT_CHARS;
use crate::domain::import::{self, ImportReader, MAX_CONVERSATION_ID_CHARS};
use crate::domain::template::TemplateSpec;
use crate::error::{Error, Result};
use crate::store::{self, entity::batch, receivers::NewReceiver};

/// Row errors returned at most; one more line then says how many were left out.
pub const MAX_ROW_ERRORS: usize = 1_000;
/// Field errors of one request returned at most.
const MAX_FIELD_ERRORS: usize = 100;
const MAX_RECEIVER_NAME_CHARS: usize = 200;

/// Receivers ready to write, and the rows that were skipped.
pub struct Accepted {
    pub errors: Vec<RowError>,
    more_errors: usize,
}

impl Accepted {
    pub fn new() -> Self {
        Self { errors: Vec::new(), more_errors: 0 }
    }

    fn skip(&mut self, line: u32, field: &str, message: String) {
        if self.errors.len() < MAX_ROW_ERRORS {
            self.errors.push(RowError { line, field: field.to_owned(), message });
        } else {
            self.more_errors += 1;
        }
    }

    pub fn into_errors(mut self) -> Vec<RowError> {
        if self.more_errors > 0 {
            let message = format!("{} more rows were skipped (not listed)", self.more_errors);
            self.errors.push(RowError { line: 0, field: String::new(), message });
        }
        self.errors
    }
}
pub fn invalid(mut errors: Vec<FieldError>) -> Error {
    errors.truncate(MAX_FIELD_ERRORS);
    Error::Invalid(errors)
}

/// Writes the manual list in chunks; `None` never (the total otherwise).
/// Each receiver is checked (errors name `targets.manual.receivers[i]…`);
/// a repeated conversation is a row error (line = 1-based position).
pub async fn write_manual<C: sea_orm::ConnectionTrait>(
    db: &C,
    row: &batch::Model,
    list: &[pb::targets::Receiver],
    spec: Option<&TemplateSpec>,
    chunk: usize,
    accepted: &mut Accepted,
) -> Result<Option<u64>> {
    let mut errors = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut ready = Vec::with_capacity(list.len().min(chunk));
    let mut total = 0u64;
    for (i, r) in list.iter().enumerate() {
        let at = format!("targets.manual.receivers[{i}]");
        let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let checked = manual_receiver(r, spec).map_err(|e| e.into_iter().map(|e| e.at(&at)).collect::<Vec<_>>());
        let receiver = match checked {
            Ok(receiver) => receiver,
            Err(e) => {
                errors.extend(e);
                continue;
            }
        };
        if let Some(first) = seen.get(r.conversation_id.trim()) {
            accepted.skip(line, "conversation_id", format!("duplicate of receivers[{first}]"));
            continue;
        }
        seen.insert(r.conversation_id.trim(), i);
        if errors.is_empty() {
            ready.push(receiver);
        }
        if ready.len() >= chunk {
            total +=
                store::receivers::insert_receivers(db, &row.tenant_id, &row.id, seq(total), &ready, row.created_at)
                    .await?;
            ready.clear();
        }
    }
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    total +=
        store::receivers::insert_receivers(db, &row.tenant_id, &row.id, seq(total), &ready, row.created_at).await?;
    Ok(Some(total))
}

fn seq(written: u64) -> i64 {
    i64::try_from(written).unwrap_or(i64::MAX)
}

fn manual_receiver(r: &pb::targets::Receiver, spec: Option<&TemplateSpec>) -> Result<NewReceiver, Vec<FieldError>> {
    let mut errors = Vec::new();
    let id = conv::text("conversation_id", &r.conversation_id, 1, MAX_CONVERSATION_ID_CHARS)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let chat_type = match pb::ChatType::try_from(r.chat_type) {
        Ok(pb::ChatType::Unspecified | pb::ChatType::Private) => "private",
        Ok(pb::ChatType::Group) => "group",
        Err(_) => {
            errors.push(FieldError::new("chat_type", "unknown chat type"));
            "private"
        }
    };
    let name = conv::text("name", &r.name, 0, MAX_RECEIVER_NAME_CHARS).map_err(|e| errors.push(e)).unwrap_or_default();
    let mut names: Vec<&String> = r.variables.keys().collect();
    names.sort();
    for key in names {
        let field = format!("variables.{}", key.chars().take(64).collect::<String>());
        match spec {
            None => errors.push(FieldError::new(field, "variables need a template")),
            Some(s) if s.get(key).is_none() => errors.push(FieldError::new(field, "not declared by the template")),
            Some(_) if r.variables[key].chars().count() > MAX_TEXT_CHARS => {
                errors.push(FieldError::new(field, format!("must be at most {MAX_TEXT_CHARS} characters")));
            }
            Some(_) => {}
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let variables: BTreeMap<String, String> =
        r.variables.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.clone(), v.clone())).collect();
    Ok(NewReceiver { conversation_id: id, chat_type, name, variables })
}

/// Streams the CSV into receivers, `chunk` rows per insert. The header's
/// variable columns must be the template's (and cover its required
/// variables without a default); rows are checked by the importer.
pub async fn write_import<C: sea_orm::ConnectionTrait>(
    db: &C,
    row: &batch::Model,
    csv: &str,
    spec: Option<&TemplateSpec>,
    chunk: usize,
    accepted: &mut Accepted,
) -> Result<Option<u64>> {
    const FIELD: &str = "targets.import.csv";
    let mut reader = ImportReader::new(csv)?;
    let columns: Vec<String> = reader.variable_names().map(str::to_owned).collect();
    let mut errors = Vec::new();
    for column in &columns {
        match spec {
            None => {
                errors.push(FieldError::new(FIELD, format!("column `{column}` is a variable: it needs a template")))
            }
            Some(s) if s.get(column).is_none() => {
                errors.push(FieldError::new(FIELD, format!("column `{column}` is not a variable of the template")));
            }
            Some(_) => {}
        }
    }
    for v in spec.map(|s| s.variables()).unwrap_or_default() {
        if v.required && v.default.is_none() && !columns.contains(&v.name) {
            errors.push(FieldError::new(FIELD, format!("the template requires `{}`: add a column", v.name)));
        }
    }
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    let mut total = 0u64;
    let mut ready = Vec::with_capacity(chunk.min(reader.total_rows()));
    loop {
        ready.clear();
        for item in reader.by_ref() {
            match item {
                Ok(r) => ready.push(imported(r)),
                Err(e) => accepted.skip(e.line, &e.field, e.message),
            }
            if ready.len() >= chunk {
                break;
            }
        }
        if ready.is_empty() {
            return Ok(Some(total));
        }
        total +=
            store::receivers::insert_receivers(db, &row.tenant_id, &row.id, seq(total), &ready, row.created_at).await?;
    }
}

fn imported(r: import::ImportedReceiver) -> NewReceiver {
    let chat_type = match r.chat_type {
        wework_client::protocol::ChatType::Group => "group",
        wework_client::protocol::ChatType::Private => "private",
    };
    let name = r.name.chars().take(MAX_RECEIVER_NAME_CHARS).collect();
    NewReceiver { conversation_id: r.conversation_id, chat_type, name, variables: r.variables }
}
