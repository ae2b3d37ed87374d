//! batch/v1 workloads: `Job` and `CronJob`.

mod types;

pub use types::*;

use crate::validation::FieldError;

crate::resource! {
    /// Runs pods until a number of them succeed.
    #[resource(api_version = "batch/v1", kind = "Job", plural = "jobs", namespaced = true)]
    pub struct Job {
        /// The pods to run and when the Job is done.
        pub spec: JobSpec,
        /// The Job's progress.
        pub status: JobStatus,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::batch::job(self);
        }
        fn validate_fields(&self) -> Vec<FieldError> {
            crate::validation::batch::job(self)
        }
    }
}

crate::resource! {
    /// Creates Jobs on a cron schedule.
    #[resource(api_version = "batch/v1", kind = "CronJob", plural = "cronjobs", namespaced = true)]
    pub struct CronJob {
        /// The schedule and the Job template.
        pub spec: CronJobSpec,
        /// The runs.
        pub status: CronJobStatus,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::batch::cron_job(self);
        }
        fn validate_name(name: &str) -> Vec<String> {
            crate::validation::batch::cron_job_name(name)
        }
        fn validate_fields(&self) -> Vec<FieldError> {
            crate::validation::batch::cron_job(self)
        }
    }
}
