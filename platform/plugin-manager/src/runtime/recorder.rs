//! Batched writes of call records, usage counts and plugin log lines.
//!
//! Routing does not wait for these writes: callers put items on a bounded
//! channel with `try_send`, and one background task writes them
//! every [`FLUSH_INTERVAL`] or once [`BATCH_ROWS`] items are waiting. When
//! the channel is full the item is dropped and counted.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use civic311_store::{InstallId, NewCallRecord, NewPluginLogLine, Store, TenantId, UsageDelta};
use tokio::sync::{mpsc, oneshot};

/// Time between writes while items are waiting.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(200);

/// Items that trigger a write before the interval ends.
pub const BATCH_ROWS: usize = 500;

/// Capacity of the channel before new items are dropped. NOTE: sized as an
/// estimate of a few seconds of calls on a busy node, not measured.
const CHANNEL_CAPACITY: usize = 20_000;

/// One row or count for the background writer.
#[derive(Debug)]
enum Item {
    Call { tenant: TenantId, record: NewCallRecord },
    Usage { tenant: TenantId, install: InstallId, day: NaiveDate, delta: UsageDelta },
    Log { tenant: TenantId, line: NewPluginLogLine },
}

enum Command {
    Item(Item),
    Flush(oneshot::Sender<()>),
}

/// Sends items to the background writer; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    sender: mpsc::Sender<Command>,
    dropped: Arc<AtomicU64>,
}

impl Recorder {
    /// Starts the background writer on the current Tokio runtime. It stops
    /// after writing what is left once every clone of the recorder is dropped.
    pub fn start(store: Store) -> Recorder {
        let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
        tokio::spawn(run_writer(store, receiver));
        Recorder {
            sender,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Queues the record of one plugin call.
    pub fn call(&self, tenant: TenantId, record: NewCallRecord) {
        self.send(Item::Call { tenant, record });
    }

    /// Queues an addition to the install's usage of the current UTC day.
    pub fn usage(&self, tenant: TenantId, install: InstallId, delta: UsageDelta) {
        let day = Utc::now().date_naive();
        self.send(Item::Usage { tenant, install, day, delta });
    }

    /// Queues one log line that a plugin wrote.
    pub fn log(&self, tenant: TenantId, line: NewPluginLogLine) {
        self.send(Item::Log { tenant, line });
    }

    /// Waits until every item queued before this call is written (or failed
    /// and logged).
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.sender.send(Command::Flush(done)).await.is_err() {
            return;
        }
        let _ = written.await;
    }

    /// Returns the number of items dropped because the channel was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn send(&self, item: Item) {
        match self.sender.try_send(Command::Item(item)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                // One warning per 1,000 drops keeps an overload from flooding the log.
                if dropped % 1_000 == 1 {
                    tracing::warn!(dropped, "plugin call recorder is full; dropping call records, usage and log lines");
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::warn!("plugin call recorder has stopped; dropping a call record, usage count or log line");
            }
        }
    }
}

/// Receives items until every sender is gone, writing a batch at each tick,
/// at [`BATCH_ROWS`] items and at each flush request.
async fn run_writer(store: Store, mut receiver: mpsc::Receiver<Command>) {
    let mut batch = Batch::default();
    let mut ticker = tokio::time::interval(FLUSH_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    loop {
        tokio::select! {
            command = receiver.recv() => match command {
                Some(Command::Item(item)) => {
                    batch.push(item);
                    if batch.len() >= BATCH_ROWS {
                        batch.write(&store).await;
                    }
                }
                Some(Command::Flush(done)) => {
                    batch.write(&store).await;
                    let _ = done.send(());
                }
                None => break,
            },
            _ = ticker.tick() => batch.write(&store).await,
        }
    }

    batch.write(&store).await;
    tracing::debug!("plugin call recorder stopped");
}

/// Items waiting to be written, grouped for one statement per install.
#[derive(Default)]
struct Batch {
    calls: BTreeMap<(TenantId, InstallId), Vec<NewCallRecord>>,
    logs: BTreeMap<(TenantId, InstallId), Vec<NewPluginLogLine>>,
    usage: HashMap<(TenantId, InstallId, NaiveDate), UsageDelta>,
    items: usize,
}

impl Batch {
    fn push(&mut self, item: Item) {
        self.items += 1;
        match item {
            Item::Call { tenant, record } => self.calls.entry((tenant, record.install)).or_default().push(record),
            Item::Log { tenant, line } => self.logs.entry((tenant, line.install)).or_default().push(line),
            Item::Usage { tenant, install, day, delta } => {
                let total = self.usage.entry((tenant, install, day)).or_default();
                total.calls += delta.calls;
                total.work_orders += delta.work_orders;
                total.inspections += delta.inspections;
            }
        }
    }

    fn len(&self) -> usize {
        self.items
    }

    /// Writes and empties the batch. A failed write is logged with its
    /// tenant and install and its rows are lost, because retrying could
    /// block the channel behind a database outage.
    async fn write(&mut self, store: &Store) {
        if self.items == 0 {
            return;
        }
        let batch = std::mem::take(self);

        for ((tenant, install), records) in batch.calls {
            if let Err(error) = store.scoped(tenant).record_calls(&records).await {
                tracing::error!(tenant.id = tenant.0, install.id = install.0, rows = records.len(), %error, "failed to write plugin call records");
            }
        }
        for ((tenant, install), lines) in batch.logs {
            if let Err(error) = store.scoped(tenant).append_plugin_logs(&lines).await {
                tracing::error!(tenant.id = tenant.0, install.id = install.0, rows = lines.len(), %error, "failed to write plugin log lines");
            }
        }
        for ((tenant, install, day), delta) in batch.usage {
            if let Err(error) = store.scoped(tenant).add_usage(install, day, delta).await {
                tracing::error!(tenant.id = tenant.0, install.id = install.0, %day, %error, "failed to add plugin usage");
            }
        }
    }
}
