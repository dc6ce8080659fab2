//! The caches: `ResponseCache` hits and misses under `String` keys looked up by `&str`, and
//! `#[fallback(cache)]` on a function of a service name (a `&str`) and a page number: the
//! success path (key, call, store) and the failure path served from the cache.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mcpstore_errors::{ResponseCache, fallback};

const TEN_MINUTES: Duration = Duration::from_secs(600);

/// Service names as an MCP store holds them.
fn services(count: usize) -> Vec<String> {
    (0..count).map(|n| format!("service-{n:04}")).collect()
}

fn response_cache(c: &mut Criterion) {
    let mut group = c.benchmark_group("response_cache");
    for entries in [16, 1024] {
        let names = services(entries);
        let cache = ResponseCache::new(TEN_MINUTES, entries);
        for name in &names {
            cache.insert(
                name.clone(),
                vec![format!("{name}.read"), format!("{name}.write")],
            );
        }
        let mut next = 0;
        group.bench_with_input(BenchmarkId::new("hit", entries), &names, |b, names| {
            b.iter(|| {
                next = (next + 1) % names.len();
                black_box(cache.get(black_box(names[next].as_str())))
            })
        });
        group.bench_with_input(BenchmarkId::new("miss", entries), &names, |b, _| {
            b.iter(|| black_box(cache.get(black_box("service-absent"))))
        });
    }
    group.finish();
}

/// Whether the service answers; not an argument, so that it is not part of the cache key.
static UP: AtomicBool = AtomicBool::new(true);

#[inline(never)]
fn list_tools(service: &str, page: u32) -> Result<Vec<String>, String> {
    if UP.load(Ordering::Relaxed) {
        Ok(vec![format!("{service}.read.{page}")])
    } else {
        Err("down".to_string())
    }
}

#[fallback(cache(capacity = 1024))]
fn cached_tools(service: &str, page: u32) -> Result<Vec<String>, String> {
    list_tools(service, page)
}

fn fallback_cache(c: &mut Criterion) {
    let mut group = c.benchmark_group("fallback_cache");
    let names = services(256);
    for name in &names {
        cached_tools(name, 1).unwrap();
    }
    let mut next = 0;
    group.bench_function("plain call (no attribute)", |b| {
        b.iter(|| {
            next = (next + 1) % names.len();
            black_box(list_tools(black_box(&names[next]), 1))
        })
    });
    group.bench_function("success: key, call, store", |b| {
        b.iter(|| {
            next = (next + 1) % names.len();
            black_box(cached_tools(black_box(&names[next]), 1))
        })
    });
    UP.store(false, Ordering::Relaxed);
    group.bench_function("failure: served from the cache", |b| {
        b.iter(|| {
            next = (next + 1) % names.len();
            black_box(cached_tools(black_box(&names[next]), 1).unwrap())
        })
    });
    UP.store(true, Ordering::Relaxed);
    group.finish();
}

criterion_group!(benches, response_cache, fallback_cache);
criterion_main!(benches);
