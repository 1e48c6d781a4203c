//! `loadgen drain`: receives and deletes an existing backlog (`--queue`) until `--messages` have
//! arrived or `--duration` runs out, and reports how long each receive took, window by window,
//! so a flat (or a climbing) receive latency over a long drain shows. The time from loadgen's
//! start to the first receive that returned a message is reported too: started right after a
//! server, it is that server's restart time with the backlog (connection attempts are retried).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::client::RETRY_PAUSE;
use crate::config::{CONSUMERS_MAX, WAIT_TIME_S_MAX, check_count};
use crate::payload::Stamp;
use crate::peers::{Consumer, RECEIVE_MAX, Target};
use crate::run::{Run, log_error};

/// Windows a report holds at most; a longer drain gets longer windows' worth of late data
/// folded into the last one.
const WINDOWS_MAX: usize = 10_000;
/// Receive latencies beyond this (µs) are clamped: a minute.
const RECEIVE_US_MAX: u64 = 60_000_000;

pub struct DrainOptions {
    pub consumers: usize,
    pub wait_time_s: u32,
    pub window: Duration,
}

impl DrainOptions {
    pub fn check(&self) -> Result<()> {
        check_count("consumers", self.consumers, CONSUMERS_MAX)?;
        anyhow::ensure!(
            self.wait_time_s <= WAIT_TIME_S_MAX,
            "--wait-time must be at most {WAIT_TIME_S_MAX} s"
        );
        anyhow::ensure!(
            self.window >= Duration::from_secs(1),
            "--window must be at least 1 s"
        );
        Ok(())
    }
}

/// One window of the drain: receives that ended in it.
struct Window {
    received: u64,
    receive_us: Histogram<u64>,
}

impl Window {
    fn new() -> Window {
        Window {
            received: 0,
            receive_us: Histogram::new_with_bounds(1, RECEIVE_US_MAX, 3)
                .expect("constant bounds are valid"),
        }
    }
}

#[derive(Serialize, Debug)]
pub struct WindowReport {
    pub start_s: f64,
    pub received: u64,
    pub received_per_s: f64,
    pub receive_p50_us: u64,
    pub receive_p99_us: u64,
    pub receive_max_us: u64,
}

#[derive(Serialize, Debug)]
pub struct DrainReport {
    pub mode: &'static str,
    pub endpoint: String,
    pub queue: String,
    pub consumers: usize,
    /// Messages received and deleted (a message received twice counts twice).
    pub received: u64,
    pub duration_s: f64,
    pub received_per_s: f64,
    /// From loadgen's start to the first receive that returned a message.
    pub first_receive_ms: Option<f64>,
    pub receive_errors: u64,
    pub delete_errors: u64,
    /// Every receive's request time (empty ones included), over the whole drain.
    pub receive_p50_us: u64,
    pub receive_p99_us: u64,
    pub receive_p999_us: u64,
    pub receive_max_us: u64,
    pub windows: Vec<WindowReport>,
}

struct Shared {
    started: Instant,
    window: Duration,
    expect: u64,
    received: AtomicU64,
    first_receive: Mutex<Option<Duration>>,
    windows: Mutex<Vec<Window>>,
    stop: AtomicBool,
}

impl Shared {
    fn record(&self, ended: Instant, took: Duration, messages: u64) {
        let index = (ended.duration_since(self.started).as_nanos() / self.window.as_nanos().max(1))
            as usize;
        let index = index.min(WINDOWS_MAX - 1);
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        while windows.len() <= index {
            windows.push(Window::new());
        }
        let window = &mut windows[index];
        window.received += messages;
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        window
            .receive_us
            .saturating_record(micros.clamp(1, RECEIVE_US_MAX));
    }
}

async fn consume<C: Consumer>(mut consumer: C, shared: Arc<Shared>) -> (u64, u64) {
    let (mut receive_errors, mut delete_errors) = (0, 0);
    let mut stamps: Vec<Option<Stamp>> = Vec::with_capacity(RECEIVE_MAX);
    while !shared.stop.load(Ordering::Relaxed) {
        stamps.clear();
        let began = Instant::now();
        if let Err(error) = consumer.receive(&mut stamps).await {
            log_error(format_args!("{error:#}"));
            receive_errors += 1;
            tokio::time::sleep(RETRY_PAUSE).await;
            continue;
        }
        let ended = Instant::now();
        let messages = stamps.len() as u64;
        shared.record(ended, ended - began, messages);
        if messages == 0 {
            continue;
        }
        {
            let mut first = shared
                .first_receive
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            first.get_or_insert(ended - shared.started);
        }
        delete_errors += consumer.ack().await;
        let total = shared.received.fetch_add(messages, Ordering::Relaxed) + messages;
        if total >= shared.expect {
            shared.stop.store(true, Ordering::Relaxed);
        }
    }
    delete_errors += consumer.settle().await;
    (receive_errors, delete_errors)
}

/// `loadgen drain`. `started` is loadgen's own start, before the target was prepared.
pub async fn run_drain<T: Target>(
    target: &T,
    run: Arc<Run>,
    options: DrainOptions,
    started: Instant,
) -> Result<DrainReport> {
    options.check()?;
    let shared = Arc::new(Shared {
        started,
        window: options.window,
        expect: run.settings.messages,
        received: AtomicU64::new(0),
        first_receive: Mutex::new(None),
        windows: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
    });
    let mut tasks = Vec::with_capacity(options.consumers);
    for index in 0..options.consumers {
        let consumer = target.consumer(index as u32, options.wait_time_s).await?;
        tasks.push(tokio::spawn(consume(consumer, shared.clone())));
    }
    let deadline = started + run.settings.time_limit;
    while !shared.stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shared.stop.store(true, Ordering::Relaxed);
    let (mut receive_errors, mut delete_errors) = (0, 0);
    for task in tasks {
        let (receives, deletes) = task.await?;
        receive_errors += receives;
        delete_errors += deletes;
    }
    let duration_s = started.elapsed().as_secs_f64();
    let received = shared.received.load(Ordering::Relaxed);
    let windows = std::mem::take(&mut *shared.windows.lock().unwrap_or_else(|e| e.into_inner()));
    let mut all = Window::new();
    let window_s = options.window.as_secs_f64();
    let mut reports = Vec::with_capacity(windows.len());
    for (index, window) in windows.iter().enumerate() {
        all.receive_us
            .add(&window.receive_us)
            .expect("histograms with the same bounds add");
        if window.receive_us.is_empty() {
            continue;
        }
        reports.push(WindowReport {
            start_s: index as f64 * window_s,
            received: window.received,
            received_per_s: window.received as f64 / window_s,
            receive_p50_us: window.receive_us.value_at_quantile(0.50),
            receive_p99_us: window.receive_us.value_at_quantile(0.99),
            receive_max_us: window.receive_us.max(),
        });
    }
    let first_receive_ms = *shared
        .first_receive
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    Ok(DrainReport {
        mode: "drain",
        endpoint: run.settings.endpoint.clone(),
        queue: target.queue().to_owned(),
        consumers: options.consumers,
        received,
        duration_s,
        received_per_s: if duration_s > 0.0 {
            received as f64 / duration_s
        } else {
            0.0
        },
        first_receive_ms: first_receive_ms.map(|first| first.as_secs_f64() * 1e3),
        receive_errors,
        delete_errors,
        receive_p50_us: all.receive_us.value_at_quantile(0.50),
        receive_p99_us: all.receive_us.value_at_quantile(0.99),
        receive_p999_us: all.receive_us.value_at_quantile(0.999),
        receive_max_us: all.receive_us.max(),
        windows: reports,
    })
}
