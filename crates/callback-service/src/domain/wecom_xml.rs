//! Reads WeCom's flat callback XML — the encrypted envelope
//! (`<xml><ToUserName/><Encrypt/><AgentID/></xml>`) and the decrypted
//! message or event — into its top-level fields.
//!
//! Contract: the document is at most [`MAX_XML_BYTES`], has one root
//! element and nothing but whitespace, comments, an XML declaration or
//! processing instructions around it. Each top-level child becomes one field:
//! its text and CDATA, concatenated, with the five predefined entities and
//! character references resolved. A DOCTYPE is refused outright, so no DTD,
//! no custom entity and no expansion bomb is ever seen; an unknown entity is
//! an error. Elements nested below a field (e.g. `SendPicsInfo/PicList`) are
//! not mapped — the raw XML is kept with the event for those. A field named
//! twice is an error, so two readers can never disagree on which one counts.

use std::collections::BTreeMap;

use quick_xml::Reader;
use quick_xml::events::Event;

/// Largest document accepted. WeCom messages are a few KiB; the bound keeps a
/// hostile body from costing more than a bounded parse.
pub const MAX_XML_BYTES: usize = 1024 * 1024;
/// Deepest nesting accepted below the root.
const MAX_DEPTH: usize = 16;

/// Why a callback body is not WeCom XML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("XML body larger than {MAX_XML_BYTES} bytes")]
    TooLarge,
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("a DOCTYPE is not allowed")]
    DocType,
    #[error("unknown entity &{0};")]
    UnknownEntity(String),
    #[error("field {0} appears twice")]
    DuplicateField(String),
    #[error("elements nested deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("no root element")]
    NoRoot,
}

/// The top-level fields of one WeCom XML document, by element name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlFields {
    /// Name of the root element (`xml` in every WeCom document).
    pub root: String,
    pub fields: BTreeMap<String, String>,
}

impl XmlFields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// Parses `xml` into its top-level fields (see the module contract).
pub fn parse(xml: &str) -> Result<XmlFields, XmlError> {
    if xml.len() > MAX_XML_BYTES {
        return Err(XmlError::TooLarge);
    }
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut out = XmlFields::default();
    // Depth 0: outside the root; 1: inside the root; 2: inside a field.
    let mut depth = 0usize;
    let mut seen_root = false;
    let mut field: Option<(String, String)> = None;
    // Whether the open field has child elements: its own text is then only
    // the indentation around them, kept trimmed.
    let mut nested = false;
    let malformed = |e: &dyn std::fmt::Display| XmlError::Malformed(e.to_string());
    loop {
        let event = reader.read_event().map_err(|e| malformed(&e))?;
        match event {
            Event::DocType(_) => return Err(XmlError::DocType),
            Event::Start(e) | Event::Empty(e) if depth == 0 && seen_root => {
                return Err(XmlError::Malformed(format!(
                    "second root element {}",
                    String::from_utf8_lossy(e.name().as_ref())
                )));
            }
            Event::Start(e) => {
                let name = decode_name(e.name().as_ref())?;
                match depth {
                    0 => {
                        seen_root = true;
                        out.root = name;
                    }
                    1 => field = Some((name, String::new())),
                    _ if depth > MAX_DEPTH => return Err(XmlError::TooDeep),
                    _ => nested = true,
                }
                depth += 1;
            }
            Event::Empty(e) => {
                let name = decode_name(e.name().as_ref())?;
                match depth {
                    0 => {
                        seen_root = true;
                        out.root = name;
                    }
                    1 => insert(&mut out, name, String::new())?,
                    _ => nested = true,
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 1
                    && let Some((name, value)) = field.take()
                {
                    let value = if nested { value.trim().to_owned() } else { value };
                    insert(&mut out, name, value)?;
                    nested = false;
                }
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|e| malformed(&e))?;
                push_text(depth, &mut field, &text)?;
            }
            Event::CData(c) => {
                let text = c.decode().map_err(|e| malformed(&e))?;
                if depth == 0 {
                    return Err(XmlError::Malformed("CDATA outside the root".into()));
                }
                push_text(depth, &mut field, &text)?;
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| malformed(&e))?;
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().map_err(|e| malformed(&e))?.map(String::from)
                } else {
                    quick_xml::escape::resolve_predefined_entity(&name).map(str::to_owned)
                };
                let text = resolved.ok_or_else(|| XmlError::UnknownEntity(name.into_owned()))?;
                if depth == 0 {
                    return Err(XmlError::Malformed("entity outside the root".into()));
                }
                push_text(depth, &mut field, &text)?;
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !seen_root {
        return Err(XmlError::NoRoot);
    }
    if depth != 0 {
        return Err(XmlError::Malformed("unclosed element".into()));
    }
    Ok(out)
}

fn decode_name(raw: &[u8]) -> Result<String, XmlError> {
    std::str::from_utf8(raw).map(str::to_owned).map_err(|e| XmlError::Malformed(e.to_string()))
}

/// Text directly inside a field is its value; text between fields or below
/// a nested element is ignored (whitespace there is formatting); anything
/// but whitespace outside the root is an error.
fn push_text(depth: usize, field: &mut Option<(String, String)>, text: &str) -> Result<(), XmlError> {
    match depth {
        0 if !text.trim().is_empty() => Err(XmlError::Malformed("text outside the root".into())),
        2 => {
            if let Some((_, value)) = field.as_mut() {
                value.push_str(text);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn insert(out: &mut XmlFields, name: String, value: String) -> Result<(), XmlError> {
    if out.fields.contains_key(&name) {
        return Err(XmlError::DuplicateField(name));
    }
    out.fields.insert(name, value);
    Ok(())
}

#[cfg(test)]
#[path = "wecom_xml_tests.rs"]
mod tests;
