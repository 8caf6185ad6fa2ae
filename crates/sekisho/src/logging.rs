//! Where log lines and traces go (issue 15, observability): log lines to standard error,
//! filtered by `log`, as text (colours only when standard error is a terminal, so files and
//! journald get no escape codes) or as one JSON object per line (`log_format = "json"`); and,
//! when `otlp_endpoint` is set, the spans (one per HTTP request, from `sekisho_web::metrics`) to
//! an OpenTelemetry collector over OTLP/HTTP.

use crate::config::{Config, LogFormat};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::io::IsTerminal;
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// What must outlive the program's work: the trace exporter, flushed by [`Telemetry::shutdown`].
#[must_use]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still queued (bounded by the exporter's timeout).
    pub fn shutdown(self) {
        if let Some(provider) = self.traces {
            if let Err(e) = provider.shutdown() {
                tracing::warn!(error = %e, "flushing the traces failed");
            }
        }
    }
}

/// Installs the subscriber. Inside the tokio runtime: the exporter's HTTP calls run on it.
pub fn init(config: &Config) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|_| "info".into());
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let lines = match config.log_format {
        LogFormat::Text => lines.with_ansi(std::io::stderr().is_terminal()).boxed(),
        LogFormat::Json => lines.json().with_ansi(false).boxed(),
    };
    let endpoint = config.otlp_endpoint.trim();
    let traces = if endpoint.is_empty() {
        None
    } else {
        Some(tracer_provider(endpoint)?)
    };
    // The `log` filter is the log lines' only: the request spans are exported whatever the log
    // level (they are `info`, and a production log is often `warn`).
    let spans = traces.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("sekisho"))
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
    });
    tracing_subscriber::registry()
        .with(lines.with_filter(filter))
        .with(spans)
        .init();
    if traces.is_some() {
        tracing::info!(endpoint, "exporting traces over OTLP");
    }
    Ok(Telemetry { traces })
}

/// Batches spans (a thread of the SDK) and posts them as OTLP protobuf to `endpoint`
/// (`https://collector:4318/v1/traces`); the SDK's `OTEL_BSP_*` variables tune the batching.
fn tracer_provider(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    let client = OtlpHttp {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?,
        runtime: tokio::runtime::Handle::try_current()
            .map_err(|_| anyhow::anyhow!("traces need the tokio runtime"))?,
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .with_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| anyhow::anyhow!("otlp_endpoint {endpoint:?}: {e}"))?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("sekisho")
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// The exporter's HTTP client: the workspace's reqwest (native TLS), run on the server's tokio
/// runtime. The SDK's batch thread is no tokio thread, so each request is spawned onto the
/// runtime and awaited from there.
#[derive(Debug)]
struct OtlpHttp {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for OtlpHttp {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let client = self.client.clone();
        let (parts, body) = request.into_parts();
        let answer = self.runtime.spawn(async move {
            let response = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, headers, body))
        });
        let (status, headers, body) = answer.await??;
        let mut response = http::Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        Ok(response)
    }
}
