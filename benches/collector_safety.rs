//! What the collector's safety steps cost per `collect`: the context limits' walk and the
//! default redaction, on a realistic MCP tool-call context (about 600 bytes, nested, with
//! two secrets), against the same collect with a null context and with redaction off.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mcpstore_errors::{ErrorCollector, McpStoreError, Redactor};
use serde_json::{Value, json};

fn tool_call_context() -> Value {
    json!({
        "operation": "call_tool",
        "service": "search",
        "tool": "web_search",
        "arguments": {
            "query": "rust error handling with retries and fallbacks",
            "max_results": 10,
            "filters": {"language": "en", "safe": true, "domains": ["docs.rs", "github.com"]},
            "headers": [{"name": "X-Api-Key", "value": "sk-live-0123456789"}],
            "api_key": "sk-live-0123456789abcdef",
        },
        "attempt": 3,
        "elapsed_ms": 1520,
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    })
}

fn full(collector: ErrorCollector) -> ErrorCollector {
    let error = McpStoreError::tool_execution_failed("web_search", "upstream 502", None);
    for _ in 0..collector.max_errors() {
        collector.collect(&error, tool_call_context());
    }
    collector
}

fn collect_with_context(c: &mut Criterion) {
    let mut group = c.benchmark_group("collect_safety");
    group.throughput(Throughput::Elements(1));
    let error = McpStoreError::tool_execution_failed("web_search", "upstream 502", None);
    let context = tool_call_context();

    let default = full(ErrorCollector::new(1000));
    group.bench_function("null_context", |b| {
        b.iter(|| default.collect(black_box(&error), Value::Null))
    });
    let off = full(
        ErrorCollector::builder()
            .max_errors(1000)
            .redact(Redactor::off())
            .build(),
    );
    group.bench_function("null_context_redaction_off", |b| {
        b.iter(|| off.collect(black_box(&error), Value::Null))
    });
    // The context is cloned in every variant, so the differences are the collector's work.
    group.bench_function("clone_context_only", |b| {
        b.iter(|| black_box(context.clone()))
    });
    group.bench_function("tool_context_default", |b| {
        b.iter(|| default.collect(black_box(&error), context.clone()))
    });
    group.bench_function("tool_context_redaction_off", |b| {
        b.iter(|| off.collect(black_box(&error), context.clone()))
    });
    group.finish();
}

criterion_group!(benches, collect_with_context);
criterion_main!(benches);
