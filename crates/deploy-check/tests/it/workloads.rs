//! Deployments and Jobs: probes on the configured ports, images of workspace
//! binaries, non-root and resource-bounded containers, secrets only from
//! Secrets, and a termination grace period that covers the drain.

use serde_norway::Value;

use crate::helpers::{Failures, at, port_of, seq_at, str_at, wework_image, workspace_binaries};
use crate::k8s::{EnvSource, Manifests, container_ports, containers, pod_spec, resolve_port};

const GATEWAY: &str = "gateway";

#[test]
fn every_container_is_bounded_and_runs_as_non_root() {
    let m = Manifests::load();
    let mut f = Failures::default();
    let mut seen = 0;
    for doc in m.workloads() {
        seen += 1;
        let spec = pod_spec(doc);
        let pod_non_root = spec.and_then(|s| at(s, "securityContext.runAsNonRoot")).and_then(Value::as_bool);
        f.check(!containers(doc).is_empty(), format!("{}: spec.template.spec.containers is empty", doc.at()));
        for c in containers(doc) {
            let name = str_at(c, "name").unwrap_or("?");
            let at_c = |field: &str| format!("{}: container {name}: {field}", doc.at());
            let non_root = at(c, "securityContext.runAsNonRoot").and_then(Value::as_bool).or(pod_non_root);
            f.check(non_root == Some(true), at_c("securityContext.runAsNonRoot must be true (pod or container)"));
            for field in ["resources.requests.cpu", "resources.requests.memory", "resources.limits.memory"] {
                f.check(at(c, field).is_some(), at_c(&format!("{field} is not set")));
            }
            f.check(
                at(c, "securityContext.allowPrivilegeEscalation").and_then(Value::as_bool) == Some(false),
                at_c("securityContext.allowPrivilegeEscalation must be false"),
            );
            f.check(
                at(c, "securityContext.readOnlyRootFilesystem").and_then(Value::as_bool) == Some(true),
                at_c("securityContext.readOnlyRootFilesystem must be true"),
            );
        }
    }
    f.check(seen > 0, "no Deployment or Job found under deploy/k8s");
    f.assert_none("container hardening");
}

#[test]
fn every_image_is_a_workspace_binary() {
    let m = Manifests::load();
    let bins = workspace_binaries();
    let mut f = Failures::default();
    for doc in m.workloads() {
        for c in containers(doc) {
            let image = str_at(c, "image").unwrap_or("");
            match wework_image(image) {
                Some(bin) if bins.contains(bin) => {}
                _ => f.push(format!(
                    "{}: container {}: image {image:?} is not wework/<binary> of a workspace binary ({bins:?})",
                    doc.at(),
                    str_at(c, "name").unwrap_or("?")
                )),
            }
        }
    }
    for (dir, k) in &m.kustomizations {
        for image in seq_at(k, "images") {
            let name = str_at(image, "name").unwrap_or("");
            f.check(
                wework_image(name).is_some_and(|b| bins.contains(b)),
                format!(
                    "{}/kustomization.yaml: images[].name {name:?} is not wework/<binary>",
                    crate::helpers::rel(dir)
                ),
            );
        }
    }
    f.assert_none("images");
}

#[test]
fn every_deployment_has_readiness_and_liveness_probes() {
    let m = Manifests::load();
    let mut f = Failures::default();
    for doc in m.of_kind("Deployment") {
        for c in seq_at(pod_spec(doc).unwrap_or(&Value::Null), "containers") {
            for probe in ["readinessProbe", "livenessProbe"] {
                f.check(
                    at(c, probe).is_some_and(Value::is_mapping),
                    format!("{}: container {}: {probe} is missing", doc.at(), str_at(c, "name").unwrap_or("?")),
                );
            }
        }
    }
    f.assert_none("probes");
}

/// The port of `key` (a `host:port` address) in a container's environment.
fn env_port(env: &std::collections::BTreeMap<String, EnvSource>, key: &str) -> Option<u16> {
    match env.get(key) {
        Some(EnvSource::Literal(addr)) => port_of(addr),
        _ => None,
    }
}

#[test]
fn service_probes_use_grpc_health_on_the_configured_grpc_port() {
    let m = Manifests::load();
    let mut f = Failures::default();
    for doc in m.of_kind("Deployment").filter(|d| d.name() != GATEWAY) {
        for c in seq_at(pod_spec(doc).unwrap_or(&Value::Null), "containers") {
            let mut missing = Vec::new();
            let env = m.container_env(c, &mut missing);
            f.check(missing.is_empty(), format!("{}: envFrom names unknown ConfigMaps {missing:?}", doc.at()));
            let ports = container_ports(c);
            let Some(grpc) = env_port(&env, "WEWORK__SERVER__GRPC_ADDR") else {
                f.push(format!("{}: no WEWORK__SERVER__GRPC_ADDR in its ConfigMaps or env", doc.at()));
                continue;
            };
            f.check(
                ports.get("grpc") == Some(&grpc),
                format!(
                    "{}: containerPort named grpc must be {grpc} (WEWORK__SERVER__GRPC_ADDR), found {ports:?}",
                    doc.at()
                ),
            );
            for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
                let Some(p) = at(c, probe) else { continue };
                let port = at(p, "grpc.port").and_then(Value::as_u64);
                f.check(
                    port == Some(u64::from(grpc)),
                    format!(
                        "{}: {probe}.grpc.port must be {grpc} (WEWORK__SERVER__GRPC_ADDR), found {port:?}",
                        doc.at()
                    ),
                );
            }
            check_ops_port(doc, &env, &ports, &mut f);
        }
    }
    f.assert_none("gRPC probes");
}

/// The ops port (`/metrics`) matches WEWORK__SERVER__HTTP_ADDR, a containerPort
/// named `ops`, and the Prometheus scrape annotation.
fn check_ops_port(
    doc: &crate::helpers::Doc,
    env: &std::collections::BTreeMap<String, EnvSource>,
    ports: &std::collections::BTreeMap<String, u16>,
    f: &mut Failures,
) -> Option<u16> {
    let Some(ops) = env_port(env, "WEWORK__SERVER__HTTP_ADDR") else {
        f.push(format!("{}: no WEWORK__SERVER__HTTP_ADDR in its ConfigMaps or env", doc.at()));
        return None;
    };
    f.check(
        ports.get("ops") == Some(&ops),
        format!("{}: containerPort named ops must be {ops} (WEWORK__SERVER__HTTP_ADDR), found {ports:?}", doc.at()),
    );
    let annotations = at(&doc.value, "spec.template.metadata.annotations");
    // Keys with dots: looked up directly, not as a dotted path.
    let annotation = |key: &str| annotations.and_then(|a| a.get(key)).and_then(Value::as_str);
    let scrape = annotation("prometheus.io/scrape");
    let port = annotation("prometheus.io/port");
    f.check(scrape == Some("true"), format!("{}: pod annotation prometheus.io/scrape must be \"true\"", doc.at()));
    f.check(
        port == Some(ops.to_string().as_str()),
        format!("{}: pod annotation prometheus.io/port must be \"{ops}\", found {port:?}", doc.at()),
    );
    Some(ops)
}

#[test]
fn gateway_probes_hit_its_ops_port_and_it_serves_the_api_port() {
    let m = Manifests::load();
    let mut f = Failures::default();
    let Some(doc) = m.deployment(GATEWAY) else { panic!("deploy/k8s: no Deployment named {GATEWAY}") };
    let c = &seq_at(pod_spec(doc).unwrap_or(&Value::Null), "containers")[0];
    let mut missing = Vec::new();
    let env = m.container_env(c, &mut missing);
    f.check(missing.is_empty(), format!("{}: envFrom names unknown ConfigMaps {missing:?}", doc.at()));
    let ports = container_ports(c);
    if let Some(ops) = check_ops_port(doc, &env, &ports, &mut f) {
        for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
            let get = at(c, probe).and_then(|p| at(p, "httpGet"));
            let port = get.and_then(|g| at(g, "port")).and_then(|p| resolve_port(p, &ports));
            f.check(port == Some(ops), format!("{}: {probe}.httpGet.port must be the ops port {ops}", doc.at()));
            let got = get.and_then(|g| str_at(g, "path"));
            f.check(got == Some(path), format!("{}: {probe}.httpGet.path must be {path}, found {got:?}", doc.at()));
        }
    }
    let api = env_port(&env, "WEWORK__GATEWAY__LISTEN_ADDR");
    f.check(api.is_some(), format!("{}: no WEWORK__GATEWAY__LISTEN_ADDR", doc.at()));
    f.check(
        api.is_some() && ports.get("http") == api.as_ref(),
        format!("{}: containerPort named http must be the API port {api:?}", doc.at()),
    );
    for url in [
        "WEWORK__AUTH__USER_SERVICE_URL",
        "WEWORK__INTEGRATIONS__ACCOUNT_SERVICE_URL",
        "WEWORK__INTEGRATIONS__MESSAGE_SERVICE_URL",
        "WEWORK__INTEGRATIONS__CALLBACK_SERVICE_URL",
        "WEWORK__INTEGRATIONS__TASK_SERVICE_URL",
        "WEWORK__GATEWAY__CORS_ORIGINS",
    ] {
        f.check(matches!(env.get(url), Some(EnvSource::Literal(_))), format!("{}: {url} is not configured", doc.at()));
    }
    for secret in ["WEWORK__AUTH__INTERNAL_SECRET", "WEWORK__CACHE__REDIS_URL"] {
        f.check(env.get(secret) == Some(&EnvSource::Secret), format!("{}: {secret} must come from a Secret", doc.at()));
    }
    f.assert_none("gateway probes");
}

#[test]
fn secret_looking_variables_come_from_secrets() {
    let m = Manifests::load();
    let mut f = Failures::default();
    for doc in m.workloads() {
        for c in containers(doc) {
            for var in seq_at(c, "env") {
                let name = str_at(var, "name").unwrap_or("");
                if crate::helpers::is_secret_name(name) {
                    f.check(
                        at(var, "value").is_none() && at(var, "valueFrom.secretKeyRef").is_some(),
                        format!("{}: env {name} has a literal value; use valueFrom.secretKeyRef", doc.at()),
                    );
                }
            }
        }
    }
    for doc in m.of_kind("ConfigMap") {
        for key in
            at(&doc.value, "data").and_then(Value::as_mapping).into_iter().flatten().filter_map(|(k, _)| k.as_str())
        {
            f.check(
                !crate::helpers::is_secret_name(key),
                format!("{}: data.{key} looks like a secret; put it in a Secret", doc.at()),
            );
        }
    }
    f.assert_none("secrets in env");
}

#[test]
fn termination_grace_covers_pre_stop_drain_and_flush() {
    let m = Manifests::load();
    let mut f = Failures::default();
    for doc in m.of_kind("Deployment") {
        let grace = pod_spec(doc).and_then(|s| at(s, "terminationGracePeriodSeconds")).and_then(Value::as_u64);
        let Some(grace) = grace else {
            f.push(format!("{}: spec.template.spec.terminationGracePeriodSeconds is not set", doc.at()));
            continue;
        };
        for c in seq_at(pod_spec(doc).unwrap_or(&Value::Null), "containers") {
            let sleep = seq_at(c, "lifecycle.preStop.exec.command")
                .iter()
                .filter_map(Value::as_str)
                .next_back()
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0);
            let env = m.container_env(c, &mut Vec::new());
            let drain_ms = match env.get("WEWORK__SERVER__SHUTDOWN_GRACE_MS") {
                Some(EnvSource::Literal(ms)) => ms.parse::<u64>().unwrap_or(u64::MAX),
                _ => 10_000, // kit's ServerSettings default
            };
            // 5 s: the audit recorder's flush after the drain.
            let needed = sleep + drain_ms.div_ceil(1000) + 5;
            f.check(
                grace >= needed,
                format!(
                    "{}: terminationGracePeriodSeconds {grace} < preStop {sleep} s + shutdown_grace {drain_ms} ms + 5 s flush",
                    doc.at()
                ),
            );
        }
    }
    f.assert_none("termination grace");
}
