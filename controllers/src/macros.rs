//! Declarations every built-in controller shares.

/// A built-in controller reconciling with a pool of workers: the settings type (its
/// doc comment given), `Default` with `$workers` workers, the `workers(n)` builder,
/// and its [`ManagedController`](crate::ManagedController) impl calling the type's own
/// `async fn run(self, client, shutdown)`.
macro_rules! worker_controller {
    ($(#[$doc:meta])* $ty:ident, name: $name:expr, workers: $workers:expr, objects: $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $ty {
            workers: usize,
        }

        impl Default for $ty {
            fn default() -> Self {
                $ty { workers: $workers }
            }
        }

        impl $ty {
            #[doc = concat!("Reconciles up to `n` ", $what, " at once.")]
            #[must_use]
            pub fn workers(mut self, n: usize) -> Self {
                self.workers = n.max(1);
                self
            }
        }

        managed_controller!($ty, $name);
    };
}

/// The [`ManagedController`](crate::ManagedController) impl of a controller type whose
/// own `async fn run(self, client, shutdown)` runs it.
macro_rules! managed_controller {
    ($ty:ty, $name:expr) => {
        impl $crate::manager::ManagedController for $ty {
            fn name(&self) -> &str {
                $name
            }

            fn run(
                self: Box<Self>,
                client: keel_core::client::Client,
                shutdown: $crate::manager::Shutdown,
            ) -> futures::future::BoxFuture<'static, ()> {
                Box::pin((*self).run(client, shutdown))
            }
        }
    };
}
