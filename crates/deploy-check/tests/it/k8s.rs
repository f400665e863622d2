//! What the Kubernetes manifests share: the resource documents (not patches),
//! the ConfigMaps they read, and each workload's containers and environment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_norway::Value;

use crate::helpers::{Doc, at, k8s_docs, root, scalar, seq_at, str_at};

/// Where a container's environment variable comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum EnvSource {
    Literal(String),
    /// `valueFrom.secretKeyRef`.
    Secret,
    /// Another `valueFrom` (field or resource refs).
    Other,
}

/// The parsed manifests of `deploy/k8s`.
pub struct Manifests {
    /// Documents of resource files (everything but kustomizations and patches).
    pub resources: Vec<Doc>,
    /// Every kustomization.yaml, by its directory.
    pub kustomizations: BTreeMap<PathBuf, Value>,
}

impl Manifests {
    pub fn load() -> Self {
        let mut kustomizations = BTreeMap::new();
        let mut docs = Vec::new();
        for doc in k8s_docs() {
            if doc.file.file_name().is_some_and(|n| n == "kustomization.yaml") {
                let dir = doc.file.parent().expect("file has a directory").to_path_buf();
                kustomizations.insert(dir, doc.value);
            } else {
                docs.push(doc);
            }
        }
        let patches: BTreeSet<PathBuf> = kustomizations
            .iter()
            .flat_map(|(dir, k)| {
                seq_at(k, "patches").iter().filter_map(move |p| str_at(p, "path").map(|f| dir.join(f)))
            })
            .filter_map(|p| p.canonicalize().ok())
            .collect();
        let resources = docs
            .into_iter()
            .filter(|d| !d.file.canonicalize().is_ok_and(|f| patches.contains(&f)))
            .filter(|d| d.value.is_mapping())
            .collect();
        Self { resources, kustomizations }
    }

    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Doc> + 'a {
        self.resources.iter().filter(move |d| d.kind() == kind)
    }

    /// Deployments and Jobs: everything with a pod template.
    pub fn workloads(&self) -> impl Iterator<Item = &Doc> {
        self.resources.iter().filter(|d| matches!(d.kind(), "Deployment" | "Job"))
    }

    pub fn deployment(&self, name: &str) -> Option<&Doc> {
        self.of_kind("Deployment").find(|d| d.name() == name)
    }

    /// `data` of the ConfigMap `name` in the base manifests.
    pub fn config_map(&self, name: &str) -> Option<&Value> {
        self.of_kind("ConfigMap").find(|d| d.name() == name).and_then(|d| at(&d.value, "data"))
    }

    /// The merged environment of a container: its `envFrom` ConfigMaps, then
    /// its own `env` entries (which win, as in Kubernetes). Unknown ConfigMaps
    /// are reported in `missing`.
    pub fn container_env(&self, container: &Value, missing: &mut Vec<String>) -> BTreeMap<String, EnvSource> {
        let mut env = BTreeMap::new();
        for from in seq_at(container, "envFrom") {
            if let Some(name) = str_at(from, "configMapRef.name") {
                match self.config_map(name).and_then(Value::as_mapping) {
                    Some(data) => {
                        for (k, v) in data {
                            if let (Some(k), Some(v)) = (k.as_str(), scalar(v)) {
                                env.insert(k.to_owned(), EnvSource::Literal(v));
                            }
                        }
                    }
                    None => missing.push(name.to_owned()),
                }
            }
        }
        for var in seq_at(container, "env") {
            let Some(name) = str_at(var, "name") else { continue };
            let source = match (at(var, "value").and_then(scalar), at(var, "valueFrom.secretKeyRef")) {
                (Some(v), _) => EnvSource::Literal(v),
                (None, Some(_)) => EnvSource::Secret,
                (None, None) => EnvSource::Other,
            };
            env.insert(name.to_owned(), source);
        }
        env
    }
}

/// The pod spec of a workload.
pub fn pod_spec(doc: &Doc) -> Option<&Value> {
    at(&doc.value, "spec.template.spec")
}

/// Containers and init containers of a workload.
pub fn containers(doc: &Doc) -> Vec<&Value> {
    let Some(spec) = pod_spec(doc) else { return Vec::new() };
    seq_at(spec, "containers").iter().chain(seq_at(spec, "initContainers")).collect()
}

/// `name → containerPort` of a container.
pub fn container_ports(container: &Value) -> BTreeMap<String, u16> {
    seq_at(container, "ports")
        .iter()
        .filter_map(|p| {
            let port = at(p, "containerPort")?.as_u64()?;
            Some((str_at(p, "name").unwrap_or("").to_owned(), u16::try_from(port).ok()?))
        })
        .collect()
}

/// A probe or Service port reference (`9050` or `ops`) resolved on `ports`.
pub fn resolve_port(reference: &Value, ports: &BTreeMap<String, u16>) -> Option<u16> {
    match reference {
        Value::Number(n) => n.as_u64().and_then(|p| u16::try_from(p).ok()).filter(|p| ports.values().any(|c| c == p)),
        Value::String(name) => ports.get(name.as_str()).copied(),
        _ => None,
    }
}

/// Whether `selector` (a label map) selects the pods of `deployment`.
pub fn selects(selector: &Value, deployment: &Doc) -> bool {
    let Some(wanted) = selector.as_mapping().filter(|m| !m.is_empty()) else { return false };
    let labels = at(&deployment.value, "spec.template.metadata.labels");
    wanted.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// Schemas of the workspace: `migrations/<schema>/` crates (`common` is a library).
pub fn schemas() -> BTreeSet<String> {
    std::fs::read_dir(root().join("migrations"))
        .expect("migrations/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("Cargo.toml").exists())
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
        .filter(|n| n != "common")
        .collect()
}
