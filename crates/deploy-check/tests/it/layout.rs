//! How the manifests hang together: kustomizations and the files they list,
//! Secrets without values, one migration Job per schema, and Services,
//! Ingresses, HPAs and PDBs that point at things that exist.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_norway::Value;

use crate::helpers::{Failures, at, rel, root, scalar, seq_at, str_at, wework_image, yaml_files};
use crate::k8s::{EnvSource, Manifests, container_ports, containers, pod_spec, resolve_port, schemas, selects};

#[test]
fn kustomizations_list_existing_files_and_every_manifest_is_listed() {
    let m = Manifests::load();
    let mut f = Failures::default();
    let mut listed = BTreeSet::new();
    for (dir, k) in &m.kustomizations {
        let here = format!("{}/kustomization.yaml", rel(dir));
        for r in seq_at(k, "resources").iter().filter_map(Value::as_str) {
            let path = dir.join(r);
            let ok = path.is_file() || path.join("kustomization.yaml").is_file();
            f.check(ok, format!("{here}: resources entry {r:?} is neither a file nor a kustomization directory"));
            if let Ok(p) = path.canonicalize() {
                listed.insert(p);
            }
        }
        for p in seq_at(k, "patches").iter().filter_map(|p| str_at(p, "path")) {
            let path = dir.join(p);
            f.check(path.is_file(), format!("{here}: patches path {p:?} does not exist"));
            if let Ok(p) = path.canonicalize() {
                listed.insert(p);
            }
        }
        // Generators may read files that are deliberately not committed
        // (secrets): then a committed `<file>.example` must show their shape.
        for generator in ["secretGenerator", "configMapGenerator"] {
            for g in seq_at(k, generator) {
                for field in ["envs", "files"] {
                    for file in seq_at(g, field).iter().filter_map(Value::as_str) {
                        let file = file.rsplit('=').next().unwrap_or(file);
                        let path = dir.join(file);
                        let example = dir.join(format!("{file}.example"));
                        f.check(
                            path.is_file() || example.is_file(),
                            format!("{here}: {generator}.{field} {file:?}: neither it nor {file}.example exists"),
                        );
                    }
                }
                for literal in seq_at(g, "literals").iter().filter_map(Value::as_str) {
                    if generator == "secretGenerator" {
                        let value = literal.split_once('=').map_or("", |(_, v)| v);
                        f.check(
                            is_placeholder(value),
                            format!("{here}: secretGenerator literal {literal:?} is a real value"),
                        );
                    }
                }
            }
        }
    }
    for file in yaml_files(&root().join("deploy/k8s")) {
        if file.file_name().is_some_and(|n| n == "kustomization.yaml") {
            continue;
        }
        let listed_here = file.canonicalize().is_ok_and(|p| listed.contains(&p));
        f.check(listed_here, format!("{}: not listed in any kustomization.yaml (resources or patches)", rel(&file)));
    }
    f.assert_none("kustomizations");
}

/// Values a committed Secret may hold: empty or an obvious placeholder.
fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    v.is_empty() || v.contains("CHANGE_ME") || v.contains("change-me") || (v.starts_with('<') && v.ends_with('>'))
}

#[test]
fn no_secret_is_committed_with_values() {
    let m = Manifests::load();
    let mut f = Failures::default();
    for doc in crate::helpers::k8s_docs().iter().filter(|d| d.kind() == "Secret") {
        for field in ["data", "stringData"] {
            for (k, v) in at(&doc.value, field).and_then(Value::as_mapping).into_iter().flatten() {
                let value = scalar(v).unwrap_or_default();
                f.check(
                    is_placeholder(&value),
                    format!(
                        "{}: {field}.{} holds a value; keep secrets out of the repository",
                        doc.at(),
                        k.as_str().unwrap_or("?")
                    ),
                );
            }
        }
    }
    // Generated Secrets read *.env files: those must be ignored by git.
    for (dir, k) in &m.kustomizations {
        if seq_at(k, "secretGenerator").is_empty() {
            continue;
        }
        let ignore = std::fs::read_to_string(dir.join(".gitignore")).unwrap_or_default();
        f.check(
            ignore.lines().any(|l| l.trim() == "*.env"),
            format!("{}/.gitignore must ignore *.env (the secretGenerator's real values)", rel(dir)),
        );
    }
    f.assert_none("committed secrets");
}

#[test]
fn one_migration_job_per_schema_and_deployments_do_not_migrate() {
    let m = Manifests::load();
    let mut f = Failures::default();
    let mut jobs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for doc in m.of_kind("Job") {
        for c in containers(doc) {
            let args: Vec<&str> = seq_at(c, "args").iter().filter_map(Value::as_str).collect();
            let Some(bin) = str_at(c, "image").and_then(wework_image) else { continue };
            if args != ["migrate"] {
                f.push(format!(
                    "{}: a Job of {bin} must run `{bin} migrate` (args: [migrate]), found {args:?}",
                    doc.at()
                ));
                continue;
            }
            let env = m.container_env(c, &mut Vec::new());
            f.check(
                env.get("WEWORK__DATABASE__URL") == Some(&EnvSource::Secret),
                format!("{}: WEWORK__DATABASE__URL must come from a Secret", doc.at()),
            );
            jobs.entry(bin.trim_end_matches("-service").to_owned()).or_default().push(doc.at());
        }
        let restart = pod_spec(doc).and_then(|s| str_at(s, "restartPolicy"));
        f.check(
            matches!(restart, Some("Never" | "OnFailure")),
            format!("{}: restartPolicy must be Never or OnFailure", doc.at()),
        );
    }
    for schema in schemas() {
        let found = jobs.remove(&schema).unwrap_or_default();
        f.check(found.len() == 1, format!("schema {schema}: expected one migration Job, found {found:?}"));
    }
    f.check(jobs.is_empty(), format!("migration Jobs for schemas that do not exist (migrations/<schema>): {jobs:?}"));
    for doc in m.of_kind("Deployment").filter(|d| d.name() != "gateway") {
        for c in seq_at(pod_spec(doc).unwrap_or(&Value::Null), "containers") {
            let env = m.container_env(c, &mut Vec::new());
            f.check(
                env.get("WEWORK__DATABASE__RUN_MIGRATIONS") == Some(&EnvSource::Literal("false".into())),
                format!(
                    "{}: WEWORK__DATABASE__RUN_MIGRATIONS must be \"false\" (the migration Job migrates)",
                    doc.at()
                ),
            );
            f.check(
                env.get("WEWORK__DATABASE__URL") == Some(&EnvSource::Secret),
                format!("{}: WEWORK__DATABASE__URL must come from a Secret", doc.at()),
            );
        }
    }
    f.assert_none("migrations");
}

#[test]
fn every_deployment_has_an_hpa_and_a_pdb_that_target_it() {
    let m = Manifests::load();
    let mut f = Failures::default();
    let deployments: BTreeSet<&str> = m.of_kind("Deployment").map(|d| d.name()).collect();
    let mut scaled = BTreeSet::new();
    for hpa in m.of_kind("HorizontalPodAutoscaler") {
        let kind = str_at(&hpa.value, "spec.scaleTargetRef.kind");
        let name = str_at(&hpa.value, "spec.scaleTargetRef.name").unwrap_or("");
        f.check(
            kind == Some("Deployment") && deployments.contains(name),
            format!("{}: spec.scaleTargetRef {kind:?}/{name} is not a Deployment of deploy/k8s", hpa.at()),
        );
        scaled.insert(name);
    }
    let mut budgeted = BTreeSet::new();
    for pdb in m.of_kind("PodDisruptionBudget") {
        let selector = at(&pdb.value, "spec.selector.matchLabels").unwrap_or(&Value::Null);
        let matched: Vec<&str> = m.of_kind("Deployment").filter(|d| selects(selector, d)).map(|d| d.name()).collect();
        f.check(!matched.is_empty(), format!("{}: spec.selector.matchLabels selects no Deployment", pdb.at()));
        budgeted.extend(matched);
    }
    for d in &deployments {
        f.check(scaled.contains(d), format!("Deployment {d}: no HorizontalPodAutoscaler targets it"));
        f.check(budgeted.contains(d), format!("Deployment {d}: no PodDisruptionBudget selects it"));
    }
    f.assert_none("HPA / PDB");
}

#[test]
fn services_and_ingresses_point_at_existing_ports() {
    let m = Manifests::load();
    let mut f = Failures::default();
    let mut service_ports: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for svc in m.of_kind("Service") {
        let selector = at(&svc.value, "spec.selector").unwrap_or(&Value::Null);
        let pods: Vec<_> = m.of_kind("Deployment").filter(|d| selects(selector, d)).collect();
        f.check(!pods.is_empty(), format!("{}: spec.selector selects no Deployment", svc.at()));
        let names = service_ports.entry(svc.name()).or_default();
        for port in seq_at(&svc.value, "spec.ports") {
            let name = str_at(port, "name").unwrap_or("");
            names.insert(name.to_owned());
            let target = at(port, "targetPort").or_else(|| at(port, "port")).unwrap_or(&Value::Null);
            for pod in &pods {
                let ok = containers(pod).iter().any(|c| resolve_port(target, &container_ports(c)).is_some());
                f.check(
                    ok,
                    format!(
                        "{}: port {name:?} targetPort {target:?} is not a container port of {}",
                        svc.at(),
                        pod.name()
                    ),
                );
            }
        }
    }
    for ing in m.of_kind("Ingress") {
        for path in seq_at(&ing.value, "spec.rules").iter().flat_map(|r| seq_at(r, "http.paths")) {
            let svc = str_at(path, "backend.service.name").unwrap_or("");
            let port = str_at(path, "backend.service.port.name").unwrap_or("");
            let exists = service_ports.get(svc).is_some_and(|p| p.contains(port));
            f.check(exists, format!("{}: backend {svc}:{port} is not a named port of a Service", ing.at()));
        }
    }
    f.assert_none("Service / Ingress ports");
}

#[test]
fn an_overlay_and_its_migrations_deploy_the_same_images() {
    let m = Manifests::load();
    let mut f = Failures::default();
    let images = |k: &Value| -> BTreeMap<String, (Option<String>, Option<String>)> {
        seq_at(k, "images")
            .iter()
            .map(|i| {
                let field = |n: &str| at(i, n).and_then(scalar);
                (field("name").unwrap_or_default(), (field("newName"), field("newTag")))
            })
            .collect()
    };
    let mut overlays = 0;
    for (dir, k) in &m.kustomizations {
        let migrations: PathBuf = dir.join("migrations");
        let Some(mk) = m.kustomizations.get(&migrations) else { continue };
        overlays += 1;
        for (name, job_image) in images(mk) {
            f.check(
                images(k).get(&name) == Some(&job_image),
                format!(
                    "{}/kustomization.yaml: image {name} differs from migrations/ ({job_image:?}): migrate and roll out the same release",
                    rel(dir)
                ),
            );
        }
    }
    f.check(
        overlays >= 2,
        format!("expected overlays with a migrations/ directory (dev, production), found {overlays}"),
    );
    f.assert_none("overlay images");
}
