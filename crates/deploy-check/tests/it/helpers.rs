//! Loading the manifests and the workspace facts they are checked against,
//! and a collector of failures that names the file and the field.

use std::collections::BTreeSet;
use std::fmt::Display;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_norway::Value;

/// The workspace root (two levels above this crate).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root exists")
}

/// `path` relative to the workspace root, for messages.
pub fn rel(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}

/// One YAML document of a file.
pub struct Doc {
    pub file: PathBuf,
    pub value: Value,
}

impl Doc {
    pub fn kind(&self) -> &str {
        str_at(&self.value, "kind").unwrap_or("")
    }

    pub fn name(&self) -> &str {
        str_at(&self.value, "metadata.name").unwrap_or("")
    }

    /// `file: Kind/name`, the prefix of every message about this document.
    pub fn at(&self) -> String {
        format!("{}: {}/{}", rel(&self.file), self.kind(), self.name())
    }
}

/// Every `*.yaml` / `*.yml` file under `dir`, sorted.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot read {}: {e}", d.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Every document of a (multi-document) YAML file, merge keys (`<<`) applied.
pub fn load(path: &Path) -> Vec<Doc> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", rel(path)));
    let mut docs = Vec::new();
    for (i, de) in serde_norway::Deserializer::from_str(&text).enumerate() {
        let mut value = Value::deserialize(de)
            .unwrap_or_else(|e| panic!("{}: document {} is not valid YAML: {e}", rel(path), i + 1));
        value.apply_merge().unwrap_or_else(|e| panic!("{}: document {}: bad merge key: {e}", rel(path), i + 1));
        if !value.is_null() {
            docs.push(Doc { file: path.to_path_buf(), value });
        }
    }
    docs
}

/// Every document of every manifest under `deploy/k8s` (kustomization files included).
pub fn k8s_docs() -> Vec<Doc> {
    yaml_files(&root().join("deploy/k8s")).iter().flat_map(|f| load(f)).collect()
}

/// The value at a dotted path (`spec.template.spec`); numeric segments index sequences.
pub fn at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| match key.parse::<usize>() {
        Ok(i) if v.is_sequence() => v.get(i),
        _ => v.get(key),
    })
}

pub fn str_at<'a>(value: &'a Value, path: &str) -> Option<&'a str> {
    at(value, path).and_then(Value::as_str)
}

/// The sequence at `path`, empty when absent.
pub fn seq_at<'a>(value: &'a Value, path: &str) -> &'a [Value] {
    at(value, path).and_then(Value::as_sequence).map_or(&[], Vec::as_slice)
}

/// A scalar as text (`8080`, `"8080"`, `true`).
pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The port of a `host:port` listen address.
pub fn port_of(addr: &str) -> Option<u16> {
    addr.rsplit(':').next()?.parse().ok()
}

/// Names of the binaries the workspace builds: packages with `src/main.rs`
/// and every `[[bin]]`, read from `crates/*/Cargo.toml`.
pub fn workspace_binaries() -> BTreeSet<String> {
    let mut bins = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("crates")).expect("crates/") {
        let dir = entry.expect("entry").path();
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else { continue };
        let mut section = String::new();
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.to_owned();
            } else if let Some(name) = line.strip_prefix("name").map(str::trim).and_then(|l| l.strip_prefix('=')) {
                let name = name.trim().trim_matches('"').to_owned();
                if section == "[[bin]]" || (section == "[package]" && dir.join("src/main.rs").exists()) {
                    bins.insert(name);
                }
            }
        }
    }
    bins
}

/// `wework/<binary>` of an image reference (`registry/wework/x:tag` → `x`),
/// or `None` when it is not a `wework/…` image.
pub fn wework_image(image: &str) -> Option<&str> {
    let without_tag = image.split('@').next().unwrap_or(image);
    let without_tag = match without_tag.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => name,
        _ => without_tag,
    };
    without_tag.strip_prefix("wework/")
}

/// Environment variable names that carry secrets: they must come from a
/// Secret. `KEY_PREFIX` (a cache namespace) and `*_TTL_SECS` (token
/// lifetimes) only look like it.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let looks = ["SECRET", "PASSWORD", "KEY", "TOKEN"].iter().any(|w| upper.contains(w));
    looks && !upper.ends_with("KEY_PREFIX") && !upper.ends_with("_TTL_SECS")
}

/// Collects every failure of a check, then fails once listing them all.
#[derive(Default)]
pub struct Failures(Vec<String>);

impl Failures {
    pub fn check(&mut self, ok: bool, message: impl Display) {
        if !ok {
            self.0.push(message.to_string());
        }
    }

    pub fn push(&mut self, message: impl Display) {
        self.0.push(message.to_string());
    }

    pub fn assert_none(self, what: &str) {
        assert!(self.0.is_empty(), "{what}: {} problem(s)\n  - {}", self.0.len(), self.0.join("\n  - "));
    }
}
