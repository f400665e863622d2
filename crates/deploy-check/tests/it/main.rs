//! One integration binary checking the deployment manifests against each
//! other and against the code: deploy/k8s (kustomize), docker-compose.yml
//! and the Grafana dashboard. Every failure names the file and the field.

mod compose;
mod dashboard;
mod helpers;
mod k8s;
mod layout;
mod workloads;
