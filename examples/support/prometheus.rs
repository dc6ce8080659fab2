//! The Prometheus demo (feature `metrics`): the crate's metrics recorded by
//! `metrics-exporter-prometheus`, served in the Prometheus text format on a loopback port,
//! and scraped back with a plain HTTP GET and a Prometheus text parser.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use mcpstore_errors::{
    CircuitBreaker, CircuitBreakerConfig, ErrorCollector, FallbackChain, Jitter, McpStoreError,
    ResponseCache, RetryConfig, RetryManager, SlidingWindow, VirtualSleeper, metrics, retry,
};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The most of a request's head the server reads: a scrape's head is a few hundred bytes.
const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// Installs the Prometheus recorder as the process's global recorder, with the crate's metric
/// descriptions and buckets for the retry delays (in seconds).
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(metrics::RETRY_DELAY.to_owned()),
            &[0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0],
        )?
        .install_recorder()?;
    metrics::describe_metrics();
    Ok(handle)
}

/// Serves `handle`'s rendering at `GET /metrics` on 127.0.0.1, on a port the system picks;
/// returns the address. Runs until the runtime stops.
pub async fn serve(handle: PrometheusHandle) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let handle = handle.clone();
            tokio::spawn(async move {
                // A client that goes away mid-request only ends its own connection.
                let _ = answer(stream, &handle).await;
            });
        }
    });
    Ok(address)
}

async fn answer(mut stream: TcpStream, handle: &PrometheusHandle) -> io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = stream.read(&mut buf).await?;
        if read == 0 || head.len() + read > MAX_REQUEST_HEAD {
            return Ok(());
        }
        head.extend_from_slice(&buf[..read]);
    }
    let (status, body) = if head.starts_with(b"GET /metrics ") {
        ("200 OK", handle.render())
    } else {
        ("404 Not Found", String::new())
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// `GET /metrics` from `address`: the body of a 200 answer, or an error.
pub async fn scrape(address: SocketAddr) -> io::Result<String> {
    let mut stream = TcpStream::connect(address).await?;
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| io::Error::other("no end of the response head"))?;
    if !head.starts_with("HTTP/1.1 200 ") {
        return Err(io::Error::other(format!(
            "unexpected answer: {}",
            head.lines().next().unwrap_or_default()
        )));
    }
    Ok(body.to_owned())
}

/// Parses a scrape in the Prometheus text format.
pub fn parse(text: &str) -> io::Result<prometheus_parse::Scrape> {
    prometheus_parse::Scrape::parse(text.lines().map(|line| Ok(line.to_owned())))
}

/// A service that fails its first `failures` calls.
#[retry(max_attempts = 3, delay = "1ms", jitter = false)]
async fn list_tools(failures: &mut u32) -> Result<Vec<&'static str>, McpStoreError> {
    if *failures > 0 {
        *failures -= 1;
        return Err(McpStoreError::connection("connection refused"));
    }
    Ok(vec!["read_file", "write_file"])
}

/// Runs calls that exercise every metric: retried calls that succeed at once, after retries,
/// or not at all; fallbacks served by a cache, by a default, or not at all; a breaker
/// that opens; errors collected until the rate alert fires.
pub async fn run_calls() {
    // Virtual time: the retries' delays are recorded, not waited.
    let sleeper = Arc::new(VirtualSleeper::new());
    let manager = RetryManager::new(
        RetryConfig::new()
            .max_attempts(3)
            .base_delay(Duration::from_millis(100))
            .jitter(Jitter::None)
            .sleeper(sleeper),
    )
    .operation("call_tool")
    .retry_if_retryable();
    let _ = manager.execute(|| Ok::<_, McpStoreError>("first time"));
    let mut calls = 0;
    let _ = manager.execute(|| {
        calls += 1;
        if calls < 3 {
            Err(McpStoreError::service_timeout("fs", Duration::from_secs(5)))
        } else {
            Ok("third time")
        }
    });
    let _ = manager.execute(|| Err::<(), _>(McpStoreError::tool_not_found("grep", Some("fs"))));

    let _ = list_tools(&mut 1).await;
    let _ = list_tools(&mut 5).await;

    let chain = FallbackChain::<str, Vec<String>, McpStoreError>::new()
        .operation("get_service_tools")
        .cache(ResponseCache::new(Duration::from_secs(600), 100))
        .default_value(Vec::new());
    let _ = chain.execute("filesystem", |name| Ok(vec![format!("{name}.read_file")]));
    let _ = chain.execute("filesystem", |_| Err(McpStoreError::connection("down")));
    let _ = chain.execute("web", |_| Err(McpStoreError::connection("down")));
    let cache_only = FallbackChain::<str, Vec<String>, McpStoreError>::new()
        .operation("get_prompts")
        .cache(ResponseCache::new(Duration::from_secs(600), 100));
    let _ = cache_only.execute("web", |_| Err(McpStoreError::connection("down")));

    let breaker = CircuitBreaker::new(
        "filesystem",
        CircuitBreakerConfig::new()
            .window(SlidingWindow::Count(4))
            .minimum_calls(4),
    );
    for _ in 0..4 {
        let _ = breaker.call(|| Err::<(), _>(McpStoreError::connection("refused")));
    }

    let collector = ErrorCollector::builder().alert_threshold(3).build();
    for _ in 0..4 {
        collector.collect(
            &McpStoreError::service_not_found("weather"),
            serde_json::Value::Null,
        );
    }
    collector.collect(&std::fmt::Error, serde_json::Value::Null);
}
