//! docker-compose.yml: images of workspace binaries, the gateway and the
//! simulator, the observability profile and its config files, Prometheus
//! scraping every ops port, and one MySQL schema per database URL.

use std::collections::BTreeMap;

use serde_norway::Value;

use crate::helpers::{Failures, at, load, port_of, root, scalar, seq_at, str_at, wework_image, workspace_binaries};

fn compose() -> Value {
    let mut docs = load(&root().join("docker-compose.yml"));
    assert_eq!(docs.len(), 1, "docker-compose.yml: expected one YAML document");
    docs.remove(0).value
}

fn services(compose: &Value) -> BTreeMap<String, Value> {
    at(compose, "services")
        .and_then(Value::as_mapping)
        .expect("docker-compose.yml: services")
        .iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.clone())))
        .collect()
}

fn env(service: &Value) -> BTreeMap<String, Option<String>> {
    at(service, "environment")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), scalar(v))))
        .collect()
}

#[test]
fn compose_builds_every_wework_image_from_a_workspace_binary() {
    let compose = compose();
    let bins = workspace_binaries();
    let dockerfile = std::fs::read_to_string(root().join("deploy/Dockerfile")).expect("deploy/Dockerfile");
    let mut f = Failures::default();
    for (name, svc) in services(&compose) {
        let Some(build) = at(&svc, "build") else { continue };
        let at_s = |field: &str| format!("docker-compose.yml: services.{name}.{field}");
        let arg = str_at(build, "args.SERVICE").unwrap_or("");
        f.check(bins.contains(arg), at_s(&format!("build.args.SERVICE {arg:?} is not a workspace binary")));
        f.check(
            str_at(build, "dockerfile") == Some("deploy/Dockerfile"),
            at_s("build.dockerfile must be deploy/Dockerfile"),
        );
        let image = str_at(&svc, "image").unwrap_or("");
        f.check(wework_image(image) == Some(arg), at_s(&format!("image {image:?} must be wework/{arg}")));
        if let Some(target) = str_at(build, "target") {
            f.check(
                dockerfile.contains(&format!(" AS {target}\n")),
                at_s(&format!("build.target {target:?}: no such stage")),
            );
        }
        // Every binary but the simulator answers `healthcheck`.
        let probe: Vec<&str> = seq_at(&svc, "healthcheck.test").iter().filter_map(Value::as_str).collect();
        if arg == "wework-sim" {
            f.check(
                str_at(build, "target") == Some("sim"),
                at_s("build.target must be sim (no healthcheck subcommand)"),
            );
        } else {
            f.check(
                probe == ["CMD", "/app/service", "healthcheck"],
                at_s("healthcheck.test must run /app/service healthcheck"),
            );
        }
    }
    f.assert_none("compose images");
}

#[test]
fn compose_runs_the_gateway_and_the_simulator() {
    let compose = compose();
    let services = services(&compose);
    let mut f = Failures::default();
    match services.get("gateway") {
        Some(gw) => {
            let ports: Vec<String> = seq_at(gw, "ports").iter().filter_map(scalar).collect();
            f.check(
                ports.iter().any(|p| p == "127.0.0.1:8080:8080"),
                "docker-compose.yml: services.gateway.ports must publish 127.0.0.1:8080:8080",
            );
            let env = env(gw);
            for key in [
                "WEWORK__GATEWAY__LISTEN_ADDR",
                "WEWORK__SERVER__HTTP_ADDR",
                "WEWORK__AUTH__USER_SERVICE_URL",
                "WEWORK__INTEGRATIONS__ACCOUNT_SERVICE_URL",
                "WEWORK__INTEGRATIONS__MESSAGE_SERVICE_URL",
                "WEWORK__INTEGRATIONS__CALLBACK_SERVICE_URL",
                "WEWORK__INTEGRATIONS__TASK_SERVICE_URL",
                "WEWORK__AUTH__INTERNAL_SECRET",
                "WEWORK__CACHE__REDIS_URL",
                "WEWORK__GATEWAY__CORS_ORIGINS",
            ] {
                f.check(
                    env.get(key).is_some_and(Option::is_some),
                    format!("docker-compose.yml: services.gateway.environment.{key} is not set"),
                );
            }
        }
        None => f.push("docker-compose.yml: no gateway service"),
    }
    f.check(services.contains_key("wework-sim"), "docker-compose.yml: no wework-sim service");
    for (name, svc) in &services {
        for port in seq_at(svc, "ports").iter().filter_map(scalar) {
            f.check(
                port.starts_with("127.0.0.1:"),
                format!("docker-compose.yml: services.{name}.ports {port:?} must be published on 127.0.0.1 only"),
            );
        }
        for (key, value) in env(svc) {
            if crate::helpers::is_secret_name(&key) {
                f.check(
                    value.as_deref().is_none_or(|v| v.starts_with("${")),
                    format!("docker-compose.yml: services.{name}.environment.{key} must come from ${{…}} (.env)"),
                );
            }
        }
    }
    f.assert_none("gateway and simulator");
}

#[test]
fn observability_profile_collects_traces_and_scrapes_every_ops_port() {
    let compose = compose();
    let services = services(&compose);
    let mut f = Failures::default();
    for (name, image) in [
        ("otel-collector", "otel/opentelemetry-collector-contrib"),
        ("jaeger", "jaegertracing/all-in-one"),
        ("prometheus", "prom/prometheus"),
    ] {
        let Some(svc) = services.get(name) else {
            f.push(format!("docker-compose.yml: no {name} service"));
            continue;
        };
        let profiles: Vec<&str> = seq_at(svc, "profiles").iter().filter_map(Value::as_str).collect();
        f.check(
            profiles == ["observability"],
            format!("docker-compose.yml: services.{name}.profiles must be [observability]"),
        );
        let got = str_at(svc, "image").unwrap_or("");
        f.check(
            got.starts_with(image),
            format!("docker-compose.yml: services.{name}.image must be {image}, found {got:?}"),
        );
    }
    // Every file or directory mounted from the repository exists.
    for (name, svc) in &services {
        for volume in seq_at(svc, "volumes").iter().filter_map(Value::as_str) {
            if let Some(path) = volume.strip_prefix("./") {
                let path = path.split(':').next().unwrap_or(path);
                f.check(
                    root().join(path).exists(),
                    format!("docker-compose.yml: services.{name}.volumes {volume:?}: no such path"),
                );
            }
        }
    }
    // OTLP export: the variable kit's telemetry reads, pointing at the collector when set.
    let telemetry = std::fs::read_to_string(root().join("crates/kit/src/telemetry.rs")).unwrap_or_default();
    f.check(
        telemetry.contains("\"OTEL_EXPORTER_OTLP_ENDPOINT\""),
        "crates/kit/src/telemetry.rs no longer reads OTEL_EXPORTER_OTLP_ENDPOINT: update docker-compose.yml",
    );
    let prometheus = load(&root().join("deploy/observability/prometheus.yml")).remove(0).value;
    let targets: Vec<String> = seq_at(&prometheus, "scrape_configs")
        .iter()
        .flat_map(|j| seq_at(j, "static_configs"))
        .flat_map(|s| seq_at(s, "targets"))
        .filter_map(scalar)
        .collect();
    for (name, svc) in &services {
        if at(svc, "build").is_none() || name == "wework-sim" {
            continue;
        }
        let env = env(svc);
        let ops = env.get("WEWORK__SERVER__HTTP_ADDR").cloned().flatten().and_then(|a| port_of(&a)).unwrap_or(9051);
        f.check(
            env.contains_key("OTEL_EXPORTER_OTLP_ENDPOINT"),
            format!(
                "docker-compose.yml: services.{name}.environment has no OTEL_EXPORTER_OTLP_ENDPOINT (pass-through)"
            ),
        );
        let target = format!("{name}:{ops}");
        f.check(targets.contains(&target), format!("deploy/observability/prometheus.yml: no scrape target {target}"));
    }
    f.assert_none("observability");
}

#[test]
fn every_database_url_names_a_schema_that_init_sql_creates() {
    let compose = compose();
    let init = std::fs::read_to_string(root().join("deploy/mysql/init.sql")).expect("deploy/mysql/init.sql");
    let mut f = Failures::default();
    for (name, svc) in services(&compose) {
        let Some(Some(url)) = env(&svc).get("WEWORK__DATABASE__URL").cloned() else { continue };
        let schema = url.rsplit('/').next().unwrap_or("").split('?').next().unwrap_or("").to_owned();
        let user = url.split("://").nth(1).and_then(|r| r.split(':').next()).unwrap_or("");
        f.check(
            init.contains(&format!("CREATE DATABASE IF NOT EXISTS {schema} ")),
            format!("docker-compose.yml: services.{name}: schema {schema:?} is not created by deploy/mysql/init.sql"),
        );
        f.check(
            init.contains(&format!("ON {schema}.*")) && init.contains(&format!("'{user}'@")),
            format!(
                "docker-compose.yml: services.{name}: user {user:?} is not granted {schema:?} in deploy/mysql/init.sql"
            ),
        );
    }
    f.assert_none("schemas");
}
