//! Propagation of install changes between platform nodes.
//!
//! With a Redis URL, each change (activation, rollback, breaker trip and
//! the like) is published as a [`PluginEvent`] on [`CHANNEL`]. Every other
//! node reloads that install from the database on receipt, unless its
//! loaded copy already has the stored `updated_at`. A subscriber that loses
//! its connection reconnects with backoff. Apart from Redis, every
//! [`RECONCILE_INTERVAL`] each node reloads the installs whose `updated_at`
//! changed, so a missed message or a change made without Redis (such as by
//! the command line on another machine) still arrives.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use civic311_store::{InstallId, Store, TenantId};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::task::AbortHandle;

use crate::error::ManagerError;
use crate::registry::InstallRegistry;

/// Redis pub/sub channel of plugin change events.
pub const CHANNEL: &str = "civic311:plugins";

/// Time between two reconcile passes against the database.
pub const RECONCILE_INTERVAL: Duration = Duration::from_secs(30);

/// First and maximum wait before reconnecting the subscriber.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One change of one install, as published on [`CHANNEL`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginEvent {
    pub tenant_id: TenantId,
    pub install_id: InstallId,
    /// Kind of change, such as `activate`, `rollback` or `breaker_open`.
    pub kind: String,
    /// The publishing process: its node id and a random suffix, so that
    /// two processes configured with the same node id still tell their
    /// events apart.
    pub origin: String,
}

/// This node's link to the others.
pub struct Cluster {
    origin: String,
    publisher: Option<Publisher>,
    tasks: Vec<AbortHandle>,
}

struct Publisher {
    client: redis::Client,
    /// Connected on first use and again after a failed publish.
    connection: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
}

impl Cluster {
    /// Starts the reconcile task and, with `redis_url`, the subscriber.
    /// Fails only on a URL that cannot be parsed. Redis being down is
    /// logged and retried, so the node starts and works alone meanwhile.
    pub async fn start(
        redis_url: Option<&str>,
        node_id: &str,
        store: Store,
        registry: Arc<InstallRegistry>,
    ) -> Result<Cluster, ManagerError> {
        let origin = format!("{node_id}/{}", random_suffix());
        let mut tasks = vec![tokio::spawn(reconcile_loop(store.clone(), Arc::clone(&registry))).abort_handle()];

        let Some(url) = redis_url.map(str::trim).filter(|url| !url.is_empty()) else {
            tracing::info!(node.origin = %origin, "no Redis URL; plugin changes stay on this node until the reconcile pass");
            return Ok(Cluster { origin, publisher: None, tasks });
        };

        let client = redis::Client::open(url).map_err(|error| {
            ManagerError::invalid("REDIS_URL", format!("{error}; use a URL such as redis://127.0.0.1:6379"))
        })?;
        let publisher = Publisher { client: client.clone(), connection: tokio::sync::Mutex::new(None) };
        if let Err(error) = publisher.connection().await {
            tracing::warn!(%error, "cannot connect to Redis to publish plugin changes yet; retrying on the next change");
        }

        tasks.push(tokio::spawn(subscribe_loop(client, origin.clone(), store, registry)).abort_handle());
        tracing::info!(node.origin = %origin, channel = CHANNEL, "plugin changes propagate through Redis");
        Ok(Cluster { origin, publisher: Some(publisher), tasks })
    }

    /// Returns the id of this process in published events.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Announces a change of `install` to the other nodes. A failure is
    /// logged, never returned: the change is stored, and the other nodes'
    /// reconcile pass picks it up.
    pub async fn publish(&self, tenant: TenantId, install: InstallId, kind: &str) {
        let Some(publisher) = &self.publisher else {
            return;
        };
        let event = PluginEvent { tenant_id: tenant, install_id: install, kind: kind.to_string(), origin: self.origin.clone() };
        let payload = serde_json::to_string(&event).expect("a plugin event always serializes");

        if let Err(error) = publisher.publish(&payload).await {
            tracing::warn!(tenant.id = tenant.0, install.id = install.0, change = kind, %error, "failed to publish a plugin change to Redis; other nodes see it at their next reconcile pass");
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Publisher {
    async fn connection(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let connection = self.client.get_multiplexed_async_connection().await?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Publishes `payload`, reconnecting once when the connection broke.
    async fn publish(&self, payload: &str) -> redis::RedisResult<()> {
        let mut connection = self.connection().await?;
        let first = redis::cmd("PUBLISH").arg(CHANNEL).arg(payload).query_async::<i64>(&mut connection).await;
        if first.is_ok() {
            return Ok(());
        }

        *self.connection.lock().await = None;
        let mut connection = self.connection().await?;
        redis::cmd("PUBLISH").arg(CHANNEL).arg(payload).query_async::<i64>(&mut connection).await?;
        Ok(())
    }
}

/// Subscribes to [`CHANNEL`] and reloads each install another process
/// changed, reconnecting with exponential backoff. After each subscribe it
/// reconciles at once, because events published before it were lost: those
/// since the start loaded every install, or since the connection broke.
async fn subscribe_loop(client: redis::Client, origin: String, store: Store, registry: Arc<InstallRegistry>) {
    let mut backoff = MIN_BACKOFF;

    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(CHANNEL).await {
                Ok(()) => {
                    backoff = MIN_BACKOFF;
                    tracing::info!("subscribed to plugin changes in Redis");
                    reconcile(&store, &registry, &mut HashMap::new()).await;
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        handle_message(&message, &origin, &store, &registry).await;
                    }
                    tracing::warn!("Redis subscription to plugin changes ended; reconnecting");
                }
                Err(error) => tracing::warn!(%error, "failed to subscribe to plugin changes in Redis; retrying"),
            },
            Err(error) => tracing::warn!(%error, retry_in = ?backoff, "cannot connect to Redis for plugin changes; retrying"),
        }

        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn handle_message(message: &redis::Msg, origin: &str, store: &Store, registry: &InstallRegistry) {
    let payload: String = match message.get_payload() {
        Ok(payload) => payload,
        Err(error) => {
            tracing::warn!(%error, "ignored a plugin change message that is not text");
            return;
        }
    };
    let event: PluginEvent = match serde_json::from_str(&payload) {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(%error, "ignored a plugin change message that is not a plugin event");
            return;
        }
    };

    // This process reloaded the install before it published.
    if event.origin == origin {
        return;
    }
    if is_current(store, registry, event.install_id).await {
        tracing::debug!(install.id = event.install_id.0, from = %event.origin, "plugin install already current; event ignored");
        return;
    }
    tracing::info!(tenant.id = event.tenant_id.0, install.id = event.install_id.0, change = %event.kind, from = %event.origin, "reloading a plugin install changed on another node");
    // A failed reload is logged by the registry, which leaves the install out.
    let _ = registry.reload(event.install_id).await;
}

/// Returns whether the loaded install has the stored `updated_at`, so a
/// reload would change nothing. A repeated event, or one from a deployment
/// that shares the Redis server but not the database, then costs one read
/// and does not reset the install's breaker count.
async fn is_current(store: &Store, registry: &InstallRegistry, install: InstallId) -> bool {
    let Some(loaded) = registry.by_id(install) else {
        return false;
    };
    match store.install_by_id(install).await {
        Ok(Some(stored)) => stored.updated_at == loaded.install.updated_at && stored.tenant == loaded.tenant(),
        Ok(None) | Err(_) => false,
    }
}

async fn reconcile_loop(store: Store, registry: Arc<InstallRegistry>) {
    let mut seen = HashMap::new();
    let mut ticker = tokio::time::interval(RECONCILE_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick fires at once, right after the start loaded everything.
    ticker.tick().await;

    loop {
        ticker.tick().await;
        reconcile(&store, &registry, &mut seen).await;
    }
}

/// Reloads each install whose stored `updated_at` differs from the loaded
/// one, and each loaded install that no longer has a version to run.
/// `seen` keeps the `updated_at` last tried per install, so an install that
/// fails to load is retried once per change and not at every pass.
async fn reconcile(store: &Store, registry: &InstallRegistry, seen: &mut HashMap<InstallId, DateTime<Utc>>) {
    let stored = match store.loaded_installs().await {
        Ok(stored) => stored,
        Err(error) => {
            tracing::warn!(%error, "failed to list plugin installs for the reconcile pass");
            return;
        }
    };

    let mut reloads = Vec::new();
    for install in &stored {
        let loaded_at = registry.by_id(install.id).map(|active| active.install.updated_at);
        let stale = loaded_at != Some(install.updated_at);
        if stale && seen.get(&install.id) != Some(&install.updated_at) {
            reloads.push(install.id);
        }
        seen.insert(install.id, install.updated_at);
    }
    for (id, _) in registry.loaded() {
        if !stored.iter().any(|install| install.id == id) {
            reloads.push(id);
        }
    }

    for id in reloads {
        tracing::info!(install.id = id.0, "reconcile pass reloads a plugin install changed in the database");
        let _ = registry.reload(id).await;
    }
}

impl crate::manager::PluginManager {
    /// Runs one reconcile pass now: reloads every install whose stored
    /// `updated_at` differs from the loaded one. The cluster runs a pass
    /// every [`RECONCILE_INTERVAL`] by itself; this is for operators and tests.
    pub async fn reconcile(&self) {
        reconcile(&self.store, &self.registry, &mut HashMap::new()).await;
    }
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 4];
    // A clock-based suffix is unique enough when the random source fails.
    if getrandom::fill(&mut bytes).is_err() {
        bytes = Utc::now().timestamp_subsec_nanos().to_be_bytes();
    }
    hex::encode(bytes)
}
