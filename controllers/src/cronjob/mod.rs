//! The CronJob controller.
