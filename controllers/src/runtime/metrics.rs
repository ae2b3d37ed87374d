//! Prometheus metrics of controllers and work queues, named as controller-runtime and
//! client-go name them, registered into a registry the caller passes in (no globals).

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The `controller` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabel {
    /// The controller's name.
    pub controller: String,
}

/// The `controller` and `result` labels of `controller_runtime_reconcile_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// The controller's name.
    pub controller: String,
    /// `success`, `error`, `requeue_after` or `panic`.
    pub result: String,
}

/// The `name` label of the work queue metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabel {
    /// The queue's (= its controller's) name.
    pub name: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn seconds_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_1, 2.0, 24))
}

/// The metric families shared by every controller registered with one registry. Clone
/// it into each controller's [`Config`](super::Config); each reports under its name.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// `controller_runtime_reconcile_total{controller,result}`.
    pub reconciles: Family<ResultLabels, Counter>,
    /// `controller_runtime_reconcile_errors_total{controller}`.
    pub errors: Family<ControllerLabel, Counter>,
    /// `controller_runtime_reconcile_time_seconds{controller}`.
    pub reconcile_time: Histograms<ControllerLabel>,
    /// `workqueue_depth{name}`: keys waiting to be handed out.
    pub depth: Family<QueueLabel, Gauge>,
    /// `workqueue_adds_total{name}`.
    pub adds: Family<QueueLabel, Counter>,
    /// `workqueue_retries_total{name}`: rate-limited re-queues.
    pub retries: Family<QueueLabel, Counter>,
    /// `workqueue_queue_duration_seconds{name}`: from queued to handed out.
    pub queue_duration: Histograms<QueueLabel>,
    /// `workqueue_work_duration_seconds{name}`: from handed out to done.
    pub work_duration: Histograms<QueueLabel>,
}

impl Metrics {
    /// Registers the families in `registry`.
    pub fn register(registry: &mut Registry) -> Metrics {
        let m = Metrics {
            reconciles: Family::default(),
            errors: Family::default(),
            reconcile_time: Family::new_with_constructor(seconds_histogram),
            depth: Family::default(),
            adds: Family::default(),
            retries: Family::default(),
            queue_duration: Family::new_with_constructor(seconds_histogram),
            work_duration: Family::new_with_constructor(seconds_histogram),
        };
        registry.register(
            "controller_runtime_reconcile",
            "Reconciles per controller and result",
            m.reconciles.clone(),
        );
        registry.register(
            "controller_runtime_reconcile_errors",
            "Reconcile errors per controller",
            m.errors.clone(),
        );
        registry.register(
            "controller_runtime_reconcile_time_seconds",
            "Time per reconcile",
            m.reconcile_time.clone(),
        );
        registry.register(
            "workqueue_depth",
            "Current depth of a work queue",
            m.depth.clone(),
        );
        registry.register(
            "workqueue_adds",
            "Adds handled by a work queue",
            m.adds.clone(),
        );
        registry.register(
            "workqueue_retries",
            "Rate-limited re-queues handled by a work queue",
            m.retries.clone(),
        );
        registry.register(
            "workqueue_queue_duration_seconds",
            "How long a key waits in a work queue before it is handed out",
            m.queue_duration.clone(),
        );
        registry.register(
            "workqueue_work_duration_seconds",
            "How long processing a key takes",
            m.work_duration.clone(),
        );
        m
    }

    /// The view of one queue named `name`.
    pub fn queue(&self, name: &str) -> QueueMetrics {
        let label = QueueLabel {
            name: name.to_owned(),
        };
        QueueMetrics {
            depth: self.depth.get_or_create(&label).clone(),
            adds: self.adds.get_or_create(&label).clone(),
            retries: self.retries.get_or_create(&label).clone(),
            queue_duration: self.queue_duration.get_or_create(&label).clone(),
            work_duration: self.work_duration.get_or_create(&label).clone(),
        }
    }

    /// Records one reconcile of `controller`.
    pub(crate) fn reconciled(&self, controller: &str, result: &str, took: Duration) {
        self.reconciles
            .get_or_create(&ResultLabels {
                controller: controller.to_owned(),
                result: result.to_owned(),
            })
            .inc();
        let label = ControllerLabel {
            controller: controller.to_owned(),
        };
        if result == "error" || result == "panic" {
            self.errors.get_or_create(&label).inc();
        }
        self.reconcile_time
            .get_or_create(&label)
            .observe(took.as_secs_f64());
    }
}

/// The metrics of one work queue.
#[derive(Clone, Debug)]
pub struct QueueMetrics {
    pub(crate) depth: Gauge,
    pub(crate) adds: Counter,
    pub(crate) retries: Counter,
    pub(crate) queue_duration: Histogram,
    pub(crate) work_duration: Histogram,
}
