//! Trace context carried inside queued work.
//!
//! A task or a message is accepted in one RPC and worked on later by a
//! worker that has no caller: without help its span would start a new
//! trace, and the trace of the request that queued the work would end at
//! the insert. So the accepting RPC stores [`current_traceparent`] with the
//! row, and the worker opens its span with [`with_parent`] on it — one trace
//! from the gateway to the webhook or the instance send.
//!
//! Contract: both use the globally installed propagator (W3C trace context,
//! see [`super::init`]); without an OpenTelemetry layer there is nothing to
//! carry, so [`current_traceparent`] is `None` and [`with_parent`] leaves the
//! span as it was. A stored value that does not parse is ignored (the span
//! keeps its own trace): queued work never fails over telemetry.

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TraceContextExt;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C header / metadata key.
pub const TRACEPARENT: &str = "traceparent";

/// The `traceparent` of the current span, to store with queued work (or send
/// as a header); `None` when no span is being exported.
pub fn current_traceparent() -> Option<String> {
    let cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = Carrier::default();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut carrier));
    carrier.0.remove(TRACEPARENT)
}

/// Parents `span` on a stored `traceparent` and returns it, so a worker's
/// span continues the trace of the request that queued the work. Call it
/// before entering the span (a parent set later is ignored).
pub fn with_parent(span: tracing::Span, traceparent: Option<&str>) -> tracing::Span {
    if let Some(value) = traceparent.filter(|v| !v.is_empty()) {
        let mut carrier = Carrier::default();
        carrier.0.insert(TRACEPARENT.to_owned(), value.to_owned());
        let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&carrier));
        if parent.span().span_context().is_valid() {
            // Fails only when no OpenTelemetry layer is installed: nothing to parent then.
            let _ = span.set_parent(parent);
        }
    }
    span
}

#[derive(Default)]
struct Carrier(HashMap<String, String>);

impl Injector for Carrier {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

impl Extractor for Carrier {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // With an exporting subscriber, the round trip is tested in
    // tests/propagation.rs (a process-wide subscriber needs its own binary).
    #[test]
    fn without_an_exporting_layer_nothing_is_carried_and_nothing_breaks() {
        assert_eq!(current_traceparent(), None);
        let span = tracing::info_span!("worker");
        let span = with_parent(span, Some("not a traceparent"));
        let span = with_parent(span, Some(""));
        let _span = with_parent(span, Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    }
}
