//! Nothing to link: this crate exists for its integration test
//! (`tests/it`), which reads `deploy/k8s/**`, `docker-compose.yml` and
//! `deploy/grafana/*.json` and checks them against each other and against
//! the workspace (binary names, ports, metric names). Run it with
//! `cargo test -p deploy-check`.
