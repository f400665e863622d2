//! Receiver lists imported as CSV (`Targets.Import.csv`).
//!
//! Contract:
//! - RFC 4180 with the usual tolerance: optional UTF-8 BOM; CRLF, LF or CR
//!   line ends; quoted fields may hold commas, doubled quotes and line
//!   breaks (kept verbatim); a quote inside an unquoted field is literal;
//!   blank lines (nothing at all on them) are skipped anywhere.
//! - The header row is required and must name `conversation_id`; `chat_type`
//!   (`private` | `group`, default `private`) and `name` are optional; every
//!   other column is a template variable named `[a-z][a-z0-9_]{0,31}`. A bad
//!   or repeated column name is a row error on the header's line and the
//!   column is ignored.
//! - Whole-import errors ([`FieldError`] on `targets.import.csv`): input over
//!   8 MiB, more than 100,000 data rows, no header, no `conversation_id`.
//! - Row errors (the row is skipped, one error per row: the first found):
//!   broken quoting, wrong field count, a field over 4,000 characters, empty
//!   or over-100-character `conversation_id`, bad `chat_type`, and a
//!   `conversation_id` already accepted on an earlier row.
//! - `conversation_id`, `chat_type` and `name` are trimmed; an empty variable
//!   cell is left out, so the template's default applies.
//!
//! [`ImportReader`] streams over the borrowed input, so the caller can take
//! receivers in chunks (`reader.by_ref().take(1_000)`): only the duplicate
//! check keeps anything per row, and that borrows from the input.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use wework_client::protocol::ChatType;

use super::FieldError;

#[cfg(test)]
#[path = "import_tests.rs"]
mod tests;

pub const MAX_INPUT_BYTES: usize = 8 * 1024 * 1024;
pub const MAX_ROWS: usize = 100_000;
pub const MAX_FIELD_CHARS: usize = 4_000;
pub const MAX_CONVERSATION_ID_CHARS: usize = 100;
const FIELD: &str = "targets.import.csv";

/// A skipped row. `line` is the 1-based physical line the record starts on;
/// `field` is the column name, empty when the row as a whole is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u32,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedReceiver {
    pub line: u32,
    pub conversation_id: String,
    pub chat_type: ChatType,
    pub name: String,
    pub variables: BTreeMap<String, String>,
}

/// What a header column feeds.
#[derive(Debug)]
enum Column {
    ConversationId,
    ChatType,
    Name,
    Variable,
    Ignored,
}

/// Streams receivers (and row errors, in line order) out of an import.
#[derive(Debug)]
pub struct ImportReader<'a> {
    records: Records<'a>,
    columns: Vec<(Column, String)>,
    header_errors: std::vec::IntoIter<RowError>,
    /// Accepted conversation ids and their lines, borrowed from the input
    /// unless the id was quoted with escapes.
    seen: HashMap<Cow<'a, str>, u32>,
    fields: Vec<Cow<'a, str>>,
    rows: usize,
}

impl<'a> ImportReader<'a> {
    /// Checks the whole-import limits and the header; rows are parsed lazily.
    pub fn new(csv: &'a str) -> Result<Self, FieldError> {
        if csv.len() > MAX_INPUT_BYTES {
            return Err(FieldError::new(FIELD, format!("must be at most {MAX_INPUT_BYTES} bytes (8 MiB)")));
        }
        let input = csv.strip_prefix('\u{feff}').unwrap_or(csv);
        let mut records = Records { input, pos: 0, line: 1 };
        let mut header = Vec::new();
        let Some(raw) = records.next_into(&mut header) else {
            return Err(FieldError::new(FIELD, "a header row is required"));
        };
        if let Some((_, problem)) = raw.problem {
            return Err(FieldError::new(FIELD, format!("header row: {problem}")));
        }
        let (columns, header_errors) = header_columns(&header, raw.line);
        if !columns.iter().any(|(c, _)| matches!(c, Column::ConversationId)) {
            return Err(FieldError::new(FIELD, "the header row must have a conversation_id column"));
        }
        // A quote-aware pass to count rows: cheap next to the rows' use, and
        // it lets the caller know the batch's total before reading it.
        let mut counter = records.clone();
        let mut rows = 0;
        while counter.next_into(&mut header).is_some() {
            rows += 1;
            if rows > MAX_ROWS {
                return Err(FieldError::new(FIELD, format!("must have at most {MAX_ROWS} data rows")));
            }
        }
        Ok(Self {
            records,
            columns,
            header_errors: header_errors.into_iter(),
            seen: HashMap::new(),
            fields: header,
            rows,
        })
    }

    /// Data records in the import, including those that will be row errors.
    pub fn total_rows(&self) -> usize {
        self.rows
    }

    /// The template variables the import provides, in column order.
    pub fn variable_names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().filter(|(c, _)| matches!(c, Column::Variable)).map(|(_, n)| n.as_str())
    }

    fn row(&mut self, line: u32, problem: Option<(usize, &'static str)>) -> Result<ImportedReceiver, RowError> {
        let err = |field: &str, message: String| RowError { line, field: field.to_owned(), message };
        let column_name = |i: usize| self.columns.get(i).map_or("", |(_, n)| n.as_str());
        if let Some((i, problem)) = problem {
            return Err(err(column_name(i), problem.to_owned()));
        }
        if self.fields.len() != self.columns.len() {
            let (want, got) = (self.columns.len(), self.fields.len());
            return Err(err("", format!("expected {want} fields as in the header, found {got}")));
        }
        if let Some(i) =
            self.fields.iter().position(|f| f.len() > MAX_FIELD_CHARS && f.chars().count() > MAX_FIELD_CHARS)
        {
            return Err(err(column_name(i), format!("must be at most {MAX_FIELD_CHARS} characters")));
        }
        let mut id = Cow::Borrowed("");
        let mut receiver = ImportedReceiver {
            line,
            conversation_id: String::new(),
            chat_type: ChatType::Private,
            name: String::new(),
            variables: BTreeMap::new(),
        };
        for ((column, name), value) in self.columns.iter().zip(self.fields.drain(..)) {
            match column {
                Column::ConversationId => id = trim(value),
                Column::ChatType => {
                    receiver.chat_type = match value.trim() {
                        "" => ChatType::Private,
                        v if v.eq_ignore_ascii_case("private") => ChatType::Private,
                        v if v.eq_ignore_ascii_case("group") => ChatType::Group,
                        _ => return Err(err(name, "must be private or group".into())),
                    }
                }
                Column::Name => receiver.name = value.trim().to_owned(),
                Column::Variable if !value.is_empty() => {
                    receiver.variables.insert(name.clone(), value.into_owned());
                }
                Column::Variable | Column::Ignored => {}
            }
        }
        if id.is_empty() {
            return Err(err("conversation_id", "must not be empty".into()));
        }
        if id.chars().count() > MAX_CONVERSATION_ID_CHARS {
            return Err(err("conversation_id", format!("must be at most {MAX_CONVERSATION_ID_CHARS} characters")));
        }
        if let Some(first) = self.seen.get(&id) {
            return Err(err("conversation_id", format!("duplicate of line {first}")));
        }
        receiver.conversation_id = id.clone().into_owned();
        self.seen.insert(id, line);
        Ok(receiver)
    }
}

impl Iterator for ImportReader<'_> {
    type Item = Result<ImportedReceiver, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.header_errors.next() {
            return Some(Err(e));
        }
        let raw = self.records.next_into(&mut self.fields)?;
        Some(self.row(raw.line, raw.problem))
    }
}

/// The whole import at once, for small lists and tests.
pub fn parse_import(csv: &str) -> Result<(Vec<ImportedReceiver>, Vec<RowError>), FieldError> {
    let (mut ok, mut errors) = (Vec::new(), Vec::new());
    for item in ImportReader::new(csv)? {
        match item {
            Ok(r) => ok.push(r),
            Err(e) => errors.push(e),
        }
    }
    Ok((ok, errors))
}

fn header_columns(header: &[Cow<'_, str>], line: u32) -> (Vec<(Column, String)>, Vec<RowError>) {
    let mut columns: Vec<(Column, String)> = Vec::with_capacity(header.len());
    let mut errors = Vec::new();
    for raw in header {
        let name = raw.trim();
        let column = match name {
            "conversation_id" => Column::ConversationId,
            "chat_type" => Column::ChatType,
            "name" => Column::Name,
            _ => Column::Variable,
        };
        let shown: String = name.chars().take(40).collect();
        let problem = if columns.iter().any(|(c, n)| n == name && !matches!(c, Column::Ignored)) {
            Some("duplicate column")
        } else if matches!(column, Column::Variable) && !is_variable_name(name) {
            Some("column name must match [a-z][a-z0-9_]{0,31}")
        } else {
            None
        };
        match problem {
            Some(message) => {
                errors.push(RowError { line, field: shown.clone(), message: message.into() });
                columns.push((Column::Ignored, shown));
            }
            None => columns.push((column, shown)),
        }
    }
    (columns, errors)
}

fn is_variable_name(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=32).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

fn trim(value: Cow<'_, str>) -> Cow<'_, str> {
    match value {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) if s.trim().len() == s.len() => Cow::Owned(s),
        Cow::Owned(s) => Cow::Owned(s.trim().to_owned()),
    }
}

/// A record's start line and its first quoting problem (field index, message).
struct RawRecord {
    line: u32,
    problem: Option<(usize, &'static str)>,
}

/// The RFC 4180 tokenizer: yields records' fields borrowed from the input
/// (owned only when a quoted field has doubled quotes).
#[derive(Debug, Clone)]
struct Records<'a> {
    input: &'a str,
    pos: usize,
    line: u32,
}

impl<'a> Records<'a> {
    fn next_into(&mut self, out: &mut Vec<Cow<'a, str>>) -> Option<RawRecord> {
        out.clear();
        let b = self.input.as_bytes();
        while self.pos < b.len() && matches!(b[self.pos], b'\n' | b'\r') {
            self.line_break();
        }
        if self.pos >= b.len() {
            return None;
        }
        let mut record = RawRecord { line: self.line, problem: None };
        loop {
            let index = out.len();
            if self.pos < b.len() && b[self.pos] == b'"' {
                let (field, closed) = self.quoted();
                out.push(field);
                if !closed {
                    record.problem.get_or_insert((index, "unterminated quoted field"));
                    return Some(record);
                }
                if self.pos < b.len() && !matches!(b[self.pos], b',' | b'\n' | b'\r') {
                    record.problem.get_or_insert((index, "text after a closing quote (quote the whole field)"));
                    self.unquoted();
                }
            } else {
                let field = self.unquoted();
                out.push(Cow::Borrowed(field));
            }
            if self.pos < b.len() && b[self.pos] == b',' {
                self.pos += 1;
                continue;
            }
            if self.pos < b.len() {
                self.line_break();
            }
            return Some(record);
        }
    }

    /// Consumes one CRLF, LF or CR at `pos`.
    fn line_break(&mut self) {
        let b = self.input.as_bytes();
        if b[self.pos] == b'\r' && b.get(self.pos + 1) == Some(&b'\n') {
            self.pos += 1;
        }
        self.pos += 1;
        self.line += 1;
    }

    fn unquoted(&mut self) -> &'a str {
        let b = self.input.as_bytes();
        let start = self.pos;
        while self.pos < b.len() && !matches!(b[self.pos], b',' | b'\n' | b'\r') {
            self.pos += 1;
        }
        &self.input[start..self.pos]
    }

    /// A quoted field from the opening quote at `pos`; false if unterminated.
    fn quoted(&mut self) -> (Cow<'a, str>, bool) {
        let b = self.input.as_bytes();
        self.pos += 1;
        let start = self.pos;
        let mut owned: Option<String> = None;
        let mut segment = start;
        while self.pos < b.len() {
            match b[self.pos] {
                b'"' if b.get(self.pos + 1) == Some(&b'"') => {
                    owned.get_or_insert_with(String::new).push_str(&self.input[segment..=self.pos]);
                    self.pos += 2;
                    segment = self.pos;
                }
                b'"' => {
                    let field = match owned {
                        Some(mut s) => {
                            s.push_str(&self.input[segment..self.pos]);
                            Cow::Owned(s)
                        }
                        None => Cow::Borrowed(&self.input[start..self.pos]),
                    };
                    self.pos += 1;
                    return (field, true);
                }
                b'\n' | b'\r' => self.line_break(),
                _ => self.pos += 1,
            }
        }
        let rest = &self.input[segment..];
        (owned.map_or(Cow::Borrowed(&self.input[start..]), |s| Cow::Owned(s + rest)), false)
    }
}
