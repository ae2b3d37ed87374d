//! The API server's object semantics, once, above every [`Store`] backend: server-set
//! metadata, the admission chain, namespaces, optimistic concurrency, the status
//! subresource, finalizers, graceful deletion and propagation policies.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::admission::{Chain, Operation};
use super::kinds::{KindEntry, Kinds};
use super::params::{DeleteParams, PropagationPolicy};
use super::service_alloc::{InUse, ServiceNetwork};
use crate::Clock;
use crate::api::{ControllerRevision, Namespace, NamespaceStatus, Pod, Service};
use crate::error::{Error, object_name};
use crate::manifest::DynamicObject;
use crate::store::{AnyResource, Filter, Obj, Store, Write, parse_version};
use crate::validation::{FieldError, FieldPath, ValidationError};

/// The namespaces every cluster starts with.
pub const DEFAULT_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];
/// The finalizer a foreground deletion adds.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";
/// The finalizer an orphaning deletion adds.
pub const ORPHAN_FINALIZER: &str = "orphan";
/// Attempts at a fresh `generateName` name before giving up.
const GENERATE_ATTEMPTS: usize = 8;
/// The store key of namespaces.
const NAMESPACE_KEY: &str = "v1/Namespace";
const SERVICE_KEY: &str = "v1/Service";
/// The length of a uid (`8-4-4-4-12` hex digits).
const UID_LEN: usize = 36;
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// What a delete did, untyped.
pub(crate) enum Outcome {
    Gone(Obj),
    Terminating(Obj),
}

pub(crate) struct Server {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) kinds: Kinds,
    pub(crate) chain: Chain,
    pub(crate) clock: Clock,
    rng: Mutex<u64>,
    bootstrapped: tokio::sync::OnceCell<()>,
    /// Accept loopback addresses in EndpointSlices (see
    /// `ClientBuilder::allow_loopback_endpoints`).
    pub(crate) allow_loopback_endpoints: bool,
    /// Where Services' cluster IPs and node ports come from.
    pub(crate) service_network: ServiceNetwork,
    /// Held from reading the Services' allocations until a new Service is written.
    service_lock: tokio::sync::Mutex<()>,
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn version_of(obj: &dyn AnyResource) -> u64 {
    parse_version(obj.meta().resource_version.as_deref()).unwrap_or(0)
}

fn ns_of(obj: &dyn AnyResource) -> String {
    obj.meta().namespace.clone().unwrap_or_default()
}

fn name_of(obj: &dyn AnyResource) -> String {
    obj.meta().name.clone().unwrap_or_default()
}

/// The RFC 4122 version-4 uid made of the random words `a` and `b`, in a string of
/// exactly its 36 bytes (`format!` would grow the buffer to 64 and keep it, in every
/// stored object), spelled digit by digit (`8-4-4-4-12` lower-case hex).
fn uid_from(a: u64, b: u64) -> String {
    let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    let mut uid = String::with_capacity(UID_LEN);
    push_hex(&mut uid, a >> 32, 8);
    uid.push('-');
    push_hex(&mut uid, (a >> 16) & 0xFFFF, 4);
    uid.push_str("-4");
    push_hex(&mut uid, a & 0x0FFF, 3);
    uid.push('-');
    push_hex(&mut uid, b >> 48, 4);
    uid.push('-');
    push_hex(&mut uid, b & 0xFFFF_FFFF_FFFF, 12);
    uid
}

/// Appends the low `digits` hex digits of `value`, zero-padded (`{:0digits$x}`).
fn push_hex(out: &mut String, value: u64, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        let nibble = usize::try_from((value >> (4 * i)) & 0xF).unwrap_or(0);
        out.push(char::from(HEX[nibble]));
    }
}

impl Server {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        kinds: Kinds,
        chain: Chain,
        clock: Clock,
        seed: u64,
    ) -> Server {
        Server {
            store,
            kinds,
            chain,
            clock,
            rng: Mutex::new(seed),
            bootstrapped: tokio::sync::OnceCell::new(),
            allow_loopback_endpoints: false,
            service_network: ServiceNetwork::default(),
            service_lock: tokio::sync::Mutex::new(()),
        }
    }

    fn random(&self) -> u64 {
        splitmix(&mut self.rng.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// A random (seeded) RFC 4122 version-4 uid.
    pub(crate) fn new_uid(&self) -> String {
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        let a = splitmix(&mut rng);
        let b = splitmix(&mut rng);
        drop(rng);
        uid_from(a, b)
    }

    fn generated_name(&self, prefix: &str) -> String {
        let mut r = self.random();
        let mut name = String::with_capacity(prefix.len() + 5);
        name.push_str(prefix);
        for _ in 0..5 {
            name.push(char::from(
                NAME_ALPHABET[usize::try_from(r % NAME_ALPHABET.len() as u64).unwrap_or(0)],
            ));
            r /= NAME_ALPHABET.len() as u64;
        }
        name
    }

    /// Creates the default namespaces once, before the first request.
    pub(crate) async fn bootstrap(&self) -> Result<(), Error> {
        if self.bootstrapped.initialized() {
            return Ok(());
        }
        self.bootstrapped
            .get_or_try_init(|| async {
                let entry = self.kinds.typed::<Namespace>();
                for name in DEFAULT_NAMESPACES {
                    if self.store.get(&entry.key, "", name).await?.is_none() {
                        let ns = Namespace {
                            metadata: crate::meta::ObjectMeta::named(name),
                            ..Namespace::default()
                        };
                        match self.create_unchecked(&entry, Box::new(ns)).await {
                            Ok(_) | Err(Error::AlreadyExists { .. }) => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
                Ok(())
            })
            .await
            .copied()
    }

    /// Defaults, user mutation, validation and user validation.
    pub(crate) fn admit(
        &self,
        entry: &KindEntry,
        op: Operation,
        obj: &mut dyn AnyResource,
        old: Option<&dyn AnyResource>,
    ) -> Result<(), Error> {
        obj.apply_defaults_dyn();
        for hook in &self.chain.mutating {
            hook.mutate(op, obj, old)?;
        }
        let checked = match obj.as_any().downcast_ref::<DynamicObject>() {
            Some(d) => entry.validate_dynamic(d),
            None => obj.validate_dyn(),
        };
        let checked = match checked {
            Err(mut e) if self.allow_loopback_endpoints && e.kind == "EndpointSlice" => {
                e.errors.retain(|f| {
                    !(f.path.as_str().starts_with("endpoints[")
                        && f.detail.starts_with("may not be in the loopback range"))
                });
                if e.errors.is_empty() { Ok(()) } else { Err(e) }
            }
            other => other,
        };
        checked.map_err(Error::invalid)?;
        for hook in &self.chain.validating {
            hook.validate(op, obj, old)?;
        }
        Ok(())
    }

    /// Fixes the namespace of an object sent to `namespace` (`None`: cluster-wide
    /// request), clearing it for cluster-scoped kinds.
    pub(crate) fn place(
        entry: &KindEntry,
        obj: &mut dyn AnyResource,
        namespace: Option<&str>,
    ) -> Result<(), Error> {
        let meta = obj.meta_mut();
        if !entry.namespaced {
            meta.namespace = None;
            return Ok(());
        }
        match (
            meta.namespace.as_deref().filter(|n| !n.is_empty()),
            namespace,
        ) {
            (None, Some(ns)) => meta.namespace = Some(ns.to_owned()),
            (None, None) => meta.namespace = Some("default".to_owned()),
            (Some(a), Some(b)) if a != b => {
                return Err(Error::BadRequest(format!(
                    "the namespace of the provided object ({a}) does not match the namespace sent on the request ({b})"
                )));
            }
            _ => {}
        }
        Ok(())
    }

    async fn check_namespace(&self, entry: &KindEntry, ns: &str, name: &str) -> Result<(), Error> {
        match self.store.get(NAMESPACE_KEY, "", ns).await? {
            None => Err(Error::NotFound {
                resource: "namespaces".to_owned(),
                name: ns.to_owned(),
            }),
            Some(n) if n.meta().deletion_timestamp.is_some() => Err(Error::Forbidden {
                resource: entry.plural.clone(),
                name: object_name(ns, name),
                reason: format!(
                    "unable to create new content in namespace {ns} because it is being terminated"
                ),
            }),
            Some(_) => Ok(()),
        }
    }

    fn stamp_new(&self, obj: &mut dyn AnyResource) {
        let now = self.clock.now();
        let uid = self.new_uid();
        let meta = obj.meta_mut();
        meta.uid = Some(uid);
        meta.creation_timestamp = Some(now);
        meta.resource_version = None;
        meta.generation = Some(1);
        meta.deletion_timestamp = None;
        meta.deletion_grace_period_seconds = None;
        meta.self_link = None;
    }

    /// Creates one object: namespace placement is the caller's.
    ///
    /// An object with its own name (not a Service, whose addresses are allocated under
    /// a lock) takes a short path: no batch bookkeeping, no copy kept for renaming.
    pub(crate) async fn create(
        &self,
        entry: &KindEntry,
        mut obj: Box<dyn AnyResource>,
    ) -> Result<Obj, Error> {
        self.bootstrap().await?;
        let named = obj.meta().name.as_deref().is_some_and(|n| !n.is_empty());
        if !named || entry.key == SERVICE_KEY {
            return self
                .create_many(entry, vec![obj])
                .await?
                .pop()
                .unwrap_or_else(|| Err(Error::Store("no result".into())));
        }
        self.prepare_create(entry, obj.as_mut(), None, None).await?;
        self.store
            .write(vec![Write::Create(obj)])
            .await?
            .pop()
            .unwrap_or_else(|| Err(Error::Store("no result".into())))
            .map_err(|e| entry.rename(e))
    }

    async fn create_unchecked(
        &self,
        entry: &KindEntry,
        mut obj: Box<dyn AnyResource>,
    ) -> Result<Obj, Error> {
        self.stamp_new(obj.as_mut());
        self.admit(entry, Operation::Create, obj.as_mut(), None)?;
        let mut results = self.store.write(vec![Write::Create(obj)]).await?;
        results
            .pop()
            .unwrap_or_else(|| Err(Error::Store("no result".into())))
            .map_err(|e| entry.rename(e))
    }

    /// Creates many objects of one kind in one store write; each succeeds or fails alone.
    pub(crate) async fn create_many(
        &self,
        entry: &KindEntry,
        objects: Vec<Box<dyn AnyResource>>,
    ) -> Result<Vec<Result<Obj, Error>>, Error> {
        self.bootstrap().await?;
        let services = entry.key == SERVICE_KEY;
        let _allocating = if services {
            Some(self.service_lock.lock().await)
        } else {
            None
        };
        let mut in_use = if services {
            Some(self.services_in_use(None).await?)
        } else {
            None
        };
        let mut checked_ns: Vec<String> = Vec::new();
        let mut slots: Vec<Option<Result<Obj, Error>>> = Vec::with_capacity(objects.len());
        // The writes still to make, and the slot of each one's result.
        let mut pending: Vec<Write> = Vec::with_capacity(objects.len());
        let mut at: Vec<usize> = Vec::with_capacity(objects.len());
        for (i, mut obj) in objects.into_iter().enumerate() {
            let prepared = self
                .prepare_create(entry, obj.as_mut(), Some(&mut checked_ns), in_use.as_mut())
                .await;
            match prepared {
                Ok(()) => {
                    slots.push(None);
                    at.push(i);
                    pending.push(Write::Create(obj));
                }
                Err(e) => slots.push(Some(Err(e))),
            }
        }
        for _ in 0..GENERATE_ATTEMPTS {
            if pending.is_empty() {
                break;
            }
            // Only objects with generated names are kept back, to rename on a collision.
            let mut spares: Vec<(usize, Box<dyn AnyResource>)> = at
                .iter()
                .zip(&pending)
                .filter_map(|(i, w)| match w {
                    Write::Create(obj) if generated_name(obj.as_ref()) => {
                        Some((*i, obj.clone_boxed()))
                    }
                    _ => None,
                })
                .collect();
            let results = self.store.write(std::mem::take(&mut pending)).await?;
            let mut retry_at = Vec::new();
            for (i, result) in std::mem::take(&mut at).into_iter().zip(results) {
                let spare = spares.iter().position(|(j, _)| *j == i);
                match (result, spare) {
                    (Err(Error::AlreadyExists { .. }), Some(found)) => {
                        let (_, mut obj) = spares.swap_remove(found);
                        let prefix = obj.meta().generate_name.clone().unwrap_or_default();
                        obj.meta_mut().name = Some(self.generated_name(&prefix));
                        retry_at.push(i);
                        pending.push(Write::Create(obj));
                    }
                    (other, _) => slots[i] = Some(other.map_err(|e| entry.rename(e))),
                }
            }
            at = retry_at;
        }
        for (i, write) in at.into_iter().zip(pending) {
            if let Write::Create(obj) = write {
                slots[i] = Some(Err(Error::AlreadyExists {
                    resource: entry.plural.clone(),
                    name: object_name(&ns_of(obj.as_ref()), &name_of(obj.as_ref())),
                }));
            }
        }
        Ok(slots
            .into_iter()
            .map(|s| s.unwrap_or_else(|| Err(Error::Store("no result".into()))))
            .collect())
    }

    /// Names, stamps, admits and checks the namespace of an object to create. `checked`
    /// holds the namespaces a batch has already found usable (`None`: a single object).
    async fn prepare_create(
        &self,
        entry: &KindEntry,
        obj: &mut dyn AnyResource,
        checked: Option<&mut Vec<String>>,
        in_use: Option<&mut InUse>,
    ) -> Result<(), Error> {
        if obj.meta().name.as_deref().is_none_or(str::is_empty)
            && let Some(prefix) = obj.meta().generate_name.clone().filter(|g| !g.is_empty())
        {
            obj.meta_mut().name = Some(self.generated_name(&prefix));
        }
        self.stamp_new(obj);
        if let Some(job) = obj.downcast_mut::<crate::api::Job>() {
            generate_job_selector(job);
        }
        if let (Some(svc), Some(used)) = (obj.downcast_mut::<Service>(), in_use) {
            // Defaults first, so the allocation sees the Service's type and families.
            crate::Resource::apply_defaults(svc);
            self.service_network
                .allocate(svc, used, || self.random())
                .map_err(Error::invalid)?;
        }
        self.admit(entry, Operation::Create, obj, None)?;
        if entry.namespaced {
            let meta = obj.meta();
            let ns = meta.namespace.as_deref().unwrap_or_default();
            let known = checked.as_ref().is_some_and(|c| c.iter().any(|c| c == ns));
            if !known {
                let name = meta.name.as_deref().unwrap_or_default();
                self.check_namespace(entry, ns, name).await?;
                if let Some(checked) = checked {
                    checked.push(ns.to_owned());
                }
            }
        }
        Ok(())
    }

    pub(crate) async fn get(&self, entry: &KindEntry, ns: &str, name: &str) -> Result<Obj, Error> {
        self.store
            .get(&entry.key, ns, name)
            .await?
            .ok_or_else(|| entry.not_found(ns, name))
    }

    pub(crate) async fn list(
        &self,
        entry: &KindEntry,
        filter: &Filter,
    ) -> Result<crate::store::ListResult, Error> {
        self.bootstrap().await?;
        Self::check_fields(entry, filter)?;
        self.store.list(&entry.key, filter).await
    }

    pub(crate) fn check_fields(entry: &KindEntry, filter: &Filter) -> Result<(), Error> {
        match entry.probe() {
            Some(probe) => filter.fields.check_supported(probe.as_ref()),
            None => Ok(()),
        }
    }

    /// Replaces an object (`status_only`: only its status). `obj` carries the name,
    /// namespace and the resourceVersion the caller read (empty: unconditional).
    pub(crate) async fn update(
        &self,
        entry: &KindEntry,
        obj: &dyn AnyResource,
        status_only: bool,
    ) -> Result<Obj, Error> {
        self.bootstrap().await?;
        let (ns, name) = (ns_of(obj), name_of(obj));
        let wanted = parse_version(obj.meta().resource_version.as_deref())?;
        // A Service's update may need addresses or node ports (a changed type).
        let _allocating = if entry.key == SERVICE_KEY && !status_only {
            Some(self.service_lock.lock().await)
        } else {
            None
        };
        loop {
            let current = self.get(entry, &ns, &name).await?;
            let have = version_of(current.as_ref());
            if wanted != 0 && wanted != have {
                return Err(conflict(entry, &ns, &name));
            }
            if let Some(uid) = obj.meta().uid.as_deref().filter(|u| !u.is_empty())
                && Some(uid) != current.meta().uid.as_deref()
            {
                return Err(Error::Conflict {
                    resource: entry.plural.clone(),
                    name: object_name(&ns, &name),
                    reason: format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        current.meta().uid.as_deref().unwrap_or("")
                    ),
                });
            }
            let mut new = if status_only {
                let mut n = current.clone_boxed();
                n.copy_status_from_dyn(obj);
                n
            } else {
                let mut n = obj.clone_boxed();
                if n.has_status() {
                    n.copy_status_from_dyn(current.as_ref());
                }
                n
            };
            keep_server_fields(new.as_mut(), current.as_ref());
            if let (Some(svc), Some(old)) = (
                new.downcast_mut::<Service>(),
                current.as_any().downcast_ref::<Service>(),
            ) {
                keep_allocations(svc, old).map_err(Error::invalid)?;
                if !status_only {
                    let mut used = self.services_in_use(old.metadata.uid.as_deref()).await?;
                    crate::Resource::apply_defaults(svc);
                    self.service_network
                        .allocate(svc, &mut used, || self.random())
                        .map_err(Error::invalid)?;
                }
            }
            check_immutable(new.as_ref(), current.as_ref()).map_err(Error::invalid)?;
            if current.meta().deletion_timestamp.is_some() {
                let added = new
                    .meta()
                    .finalizers
                    .iter()
                    .find(|f| !current.meta().finalizers.contains(f));
                if let Some(f) = added {
                    return Err(Error::Forbidden {
                        resource: entry.plural.clone(),
                        name: object_name(&ns, &name),
                        reason: format!(
                            "no new finalizers can be added if the object is being deleted, found new finalizers [{f}]"
                        ),
                    });
                }
            }
            self.admit(
                entry,
                Operation::Update,
                new.as_mut(),
                Some(current.as_ref()),
            )?;
            let generation = current.meta().generation.unwrap_or(1);
            new.meta_mut().generation = Some(if new.dyn_spec_eq(current.as_ref()) {
                generation
            } else {
                generation + 1
            });
            if new.dyn_eq(current.as_ref()) {
                return Ok(current);
            }
            let finished =
                new.meta().deletion_timestamp.is_some() && new.meta().finalizers.is_empty();
            let write = if finished {
                Write::Delete {
                    kind: entry.key.clone(),
                    namespace: ns.clone(),
                    name: name.clone(),
                    expected: have,
                }
            } else {
                Write::Update {
                    object: new,
                    expected: have,
                }
            };
            match self.write_one(entry, write).await {
                Err(Error::Conflict { .. }) if wanted == 0 => {}
                Ok(obj) if finished => {
                    self.after_delete(entry, &ns).await?;
                    return Ok(obj);
                }
                other => return other,
            }
        }
    }

    async fn write_one(&self, entry: &KindEntry, write: Write) -> Result<Obj, Error> {
        let mut results = self.store.write(vec![write]).await?;
        results
            .pop()
            .unwrap_or_else(|| Err(Error::Store("no result".into())))
            .map_err(|e| entry.rename(e))
    }

    pub(crate) async fn delete(
        &self,
        entry: &KindEntry,
        ns: &str,
        name: &str,
        params: &DeleteParams,
    ) -> Result<Outcome, Error> {
        self.bootstrap().await?;
        loop {
            let current = self.get(entry, ns, name).await?;
            check_preconditions(entry, current.as_ref(), params)?;
            for hook in &self.chain.validating {
                hook.validate(Operation::Delete, current.as_ref(), None)?;
            }
            if entry.key == NAMESPACE_KEY {
                return self.delete_namespace(entry, current).await;
            }
            let add = match params.propagation_policy {
                Some(PropagationPolicy::Foreground) => Some(FOREGROUND_FINALIZER),
                Some(PropagationPolicy::Orphan) => Some(ORPHAN_FINALIZER),
                _ => None,
            };
            let grace = grace_period(current.as_ref(), params);
            let meta = current.meta();
            let needs_finalizer = add.is_some_and(|f| !meta.finalizers.iter().any(|x| x == f));
            let have = version_of(current.as_ref());
            let keep = !meta.finalizers.is_empty() || needs_finalizer || grace > 0;
            if keep {
                let shorter = meta.deletion_grace_period_seconds.is_none_or(|g| grace < g);
                if meta.deletion_timestamp.is_some() && !needs_finalizer && !shorter {
                    return Ok(Outcome::Terminating(current));
                }
                let mut new = current.clone_boxed();
                let now = self.clock.now();
                let m = new.meta_mut();
                if m.deletion_timestamp.is_none() || shorter {
                    m.deletion_timestamp =
                        Some(now.saturating_add(Duration::from_secs(grace.unsigned_abs())));
                    m.deletion_grace_period_seconds = Some(grace);
                }
                if let Some(f) = add.filter(|_| needs_finalizer) {
                    m.finalizers.push(f.to_owned());
                }
                m.generation = Some(m.generation.unwrap_or(1) + 1);
                match self
                    .write_one(
                        entry,
                        Write::Update {
                            object: new,
                            expected: have,
                        },
                    )
                    .await
                {
                    Err(Error::Conflict { .. }) => continue,
                    other => return other.map(Outcome::Terminating),
                }
            }
            let write = Write::Delete {
                kind: entry.key.clone(),
                namespace: ns.to_owned(),
                name: name.to_owned(),
                expected: have,
            };
            match self.write_one(entry, write).await {
                Err(Error::Conflict { .. }) => {}
                other => {
                    let gone = other?;
                    self.after_delete(entry, ns).await?;
                    return Ok(Outcome::Gone(gone));
                }
            }
        }
    }

    /// Marks a namespace terminating, deletes its content, and removes it once empty.
    async fn delete_namespace(&self, entry: &KindEntry, current: Obj) -> Result<Outcome, Error> {
        let name = name_of(current.as_ref());
        let terminating = if current.meta().deletion_timestamp.is_none() {
            let mut new = current.clone_boxed();
            if let Some(ns) = new.downcast_mut::<Namespace>() {
                ns.metadata.deletion_timestamp = Some(self.clock.now());
                ns.metadata.deletion_grace_period_seconds = Some(0);
                ns.status.get_or_insert_with(NamespaceStatus::default).phase =
                    Some("Terminating".to_owned());
            }
            let have = version_of(current.as_ref());
            self.write_one(
                entry,
                Write::Update {
                    object: new,
                    expected: have,
                },
            )
            .await?
        } else {
            current
        };
        for kind in self.kinds.namespaced() {
            let filter = Filter {
                namespace: Some(name.clone()),
                ..Filter::default()
            };
            for obj in self.store.list(&kind.key, &filter).await?.items {
                match Box::pin(self.delete(
                    &kind,
                    &name,
                    &name_of(obj.as_ref()),
                    &DeleteParams::default(),
                ))
                .await
                {
                    Ok(_) | Err(Error::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        // Deleting the last object of a terminating namespace finishes the namespace.
        match self.finalize_namespace(&name).await {
            Err(Error::NotFound { .. }) => Ok(Outcome::Gone(terminating)),
            other => other,
        }
    }

    /// Removes a terminating namespace whose content is gone.
    async fn finalize_namespace(&self, name: &str) -> Result<Outcome, Error> {
        let entry = self.kinds.typed::<Namespace>();
        let current = self.get(&entry, "", name).await?;
        if current.meta().deletion_timestamp.is_none() {
            return Ok(Outcome::Terminating(current));
        }
        for kind in self.kinds.namespaced() {
            let filter = Filter {
                namespace: Some(name.to_owned()),
                ..Filter::default()
            };
            if !self.store.list(&kind.key, &filter).await?.items.is_empty() {
                return Ok(Outcome::Terminating(current));
            }
        }
        let have = version_of(current.as_ref());
        if current.meta().finalizers.is_empty() {
            let write = Write::Delete {
                kind: entry.key.clone(),
                namespace: String::new(),
                name: name.to_owned(),
                expected: have,
            };
            return self.write_one(&entry, write).await.map(Outcome::Gone);
        }
        let mut new = current.clone_boxed();
        if let Some(ns) = new.downcast_mut::<Namespace>() {
            ns.spec.finalizers.retain(|f| f != "kubernetes");
        }
        self.write_one(
            &entry,
            Write::Update {
                object: new,
                expected: have,
            },
        )
        .await
        .map(Outcome::Terminating)
    }

    /// After an object is removed: finish its namespace if that is terminating.
    async fn after_delete(&self, entry: &KindEntry, ns: &str) -> Result<(), Error> {
        if !entry.namespaced || ns.is_empty() {
            return Ok(());
        }
        if let Some(n) = self.store.get(NAMESPACE_KEY, "", ns).await?
            && n.meta().deletion_timestamp.is_some()
        {
            match Box::pin(self.finalize_namespace(ns)).await {
                Ok(_) | Err(Error::NotFound { .. } | Error::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Kubernetes' Job `generateSelector`: unless `manualSelector` is true, the selector is
/// the Job's uid, and the pod template carries the uid and job-name labels.
fn generate_job_selector(job: &mut crate::api::Job) {
    if job.spec.manual_selector == Some(true) {
        return;
    }
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let name = job.metadata.name.clone().unwrap_or_default();
    let labels = &mut job.spec.template.metadata.labels;
    for (key, value) in [
        ("batch.kubernetes.io/controller-uid", &uid),
        ("controller-uid", &uid),
        ("batch.kubernetes.io/job-name", &name),
        ("job-name", &name),
    ] {
        labels
            .entry(key.to_owned())
            .or_insert_with(|| value.clone());
    }
    job.spec.selector = Some(crate::labels::LabelSelector::from_match_labels([(
        "batch.kubernetes.io/controller-uid",
        uid.as_str(),
    )]));
}

/// Whether the object's name was generated from `generateName` (and may be retried).
fn generated_name(obj: &dyn AnyResource) -> bool {
    let meta = obj.meta();
    match (meta.generate_name.as_deref(), meta.name.as_deref()) {
        (Some(prefix), Some(name)) => {
            !prefix.is_empty() && name.len() == prefix.len() + 5 && name.starts_with(prefix)
        }
        _ => false,
    }
}

fn conflict(entry: &KindEntry, ns: &str, name: &str) -> Error {
    Error::Conflict {
        resource: entry.plural.clone(),
        name: object_name(ns, name),
        reason: "the object has been modified; please apply your changes to the latest version and try again".to_owned(),
    }
}

/// What the Services stored use, for allocating a new one.
impl Server {
    /// What the stored Services use, but the one with uid `except`.
    async fn services_in_use(&self, except: Option<&str>) -> Result<InUse, Error> {
        let list = self.store.list(SERVICE_KEY, &Filter::default()).await?;
        let services: Vec<&Service> = list
            .items
            .iter()
            .filter_map(|o| o.as_any().downcast_ref::<Service>())
            .filter(|s| except.is_none() || s.metadata.uid.as_deref() != except)
            .collect();
        Ok(InUse::of(services))
    }
}

/// A Service keeps its cluster IPs, IP families and node ports across updates that
/// leave them out; its cluster IPs may not change once set.
fn keep_allocations(new: &mut Service, old: &Service) -> Result<(), ValidationError> {
    // Kubernetes' `patchAllocatedValues`: kept only while both types use them.
    let external = |s: &Service| s.spec.type_.as_deref() == Some("ExternalName");
    // Kubernetes' `needsNodePort`: by type only.
    let node_ports =
        |s: &Service| matches!(s.spec.type_.as_deref(), Some("NodePort" | "LoadBalancer"));
    drop_type_dependent_fields(new, old, node_ports);
    let keep_ips = !external(new) && !external(old);
    // `clusterIP` and `clusterIPs` are filled in independently (an old client, or a
    // manifest that pins `clusterIP` only).
    if keep_ips && new.spec.cluster_ip.as_deref().is_none_or(str::is_empty) {
        new.spec.cluster_ip.clone_from(&old.spec.cluster_ip);
    }
    if keep_ips && new.spec.cluster_ips.is_empty() && new.spec.cluster_ip == old.spec.cluster_ip {
        new.spec.cluster_ips.clone_from(&old.spec.cluster_ips);
    }
    if keep_ips && new.spec.ip_families.is_empty() {
        new.spec.ip_families.clone_from(&old.spec.ip_families);
    }
    if keep_ips && new.spec.ip_family_policy.is_none() {
        new.spec
            .ip_family_policy
            .clone_from(&old.spec.ip_family_policy);
    }
    let keep_ports = node_ports(new) && node_ports(old);
    for port in new.spec.ports.iter_mut().filter(|_| keep_ports) {
        if port.node_port.is_none_or(|p| p == 0)
            && let Some(was) = old.spec.ports.iter().find(|p| p.name == port.name)
        {
            port.node_port = was.node_port;
        }
    }
    let kept_type = new.spec.type_.as_deref() != Some("ExternalName")
        && old.spec.type_.as_deref() != Some("ExternalName");
    if kept_type && !old.spec.cluster_ips.is_empty() && new.spec.cluster_ips != old.spec.cluster_ips
    {
        return Err(ValidationError {
            kind: "Service".into(),
            namespace: new.metadata.namespace.clone(),
            name: new.metadata.name.clone().unwrap_or_default(),
            errors: vec![FieldError::invalid(
                FieldPath::new("spec").child("clusterIPs").index(0),
                format!("{:?}", new.spec.cluster_ips),
                "may not change once set",
            )],
        });
    }
    Ok(())
}

/// Kubernetes' `dropTypeDependentFields`: a Service whose new type no longer uses node
/// ports, an external traffic policy or load-balancer settings loses those it kept
/// unchanged from its old type (so `type: ClusterIP` alone turns a NodePort back).
fn drop_type_dependent_fields(
    new: &mut Service,
    old: &Service,
    node_ports: impl Fn(&Service) -> bool,
) {
    if node_ports(old) && !node_ports(new) {
        let same_ports = new.spec.ports.iter().all(|p| {
            p.node_port.is_none_or(|n| {
                old.spec
                    .ports
                    .iter()
                    .any(|o| o.port == p.port && o.node_port == Some(n))
            })
        });
        if same_ports {
            for p in &mut new.spec.ports {
                p.node_port = None;
            }
        }
    }
    let external =
        |s: &Service| matches!(s.spec.type_.as_deref(), Some("NodePort" | "LoadBalancer"));
    if external(old) && !external(new) {
        if new.spec.external_traffic_policy == old.spec.external_traffic_policy {
            new.spec.external_traffic_policy = None;
        }
        if new.spec.health_check_node_port == old.spec.health_check_node_port {
            new.spec.health_check_node_port = None;
        }
    }
    let external_name = |s: &Service| s.spec.type_.as_deref() == Some("ExternalName");
    if external_name(new) && !external_name(old) {
        if new.spec.cluster_ip == old.spec.cluster_ip {
            new.spec.cluster_ip = None;
        }
        if new.spec.cluster_ips == old.spec.cluster_ips {
            new.spec.cluster_ips.clear();
        }
        if new.spec.ip_families == old.spec.ip_families {
            new.spec.ip_families.clear();
        }
        if new.spec.ip_family_policy == old.spec.ip_family_policy {
            new.spec.ip_family_policy = None;
        }
    }
    let lb = |s: &Service| s.spec.type_.as_deref() == Some("LoadBalancer");
    if lb(old) && !lb(new) {
        if new.spec.allocate_load_balancer_node_ports == old.spec.allocate_load_balancer_node_ports
        {
            new.spec.allocate_load_balancer_node_ports = None;
        }
        if new.spec.load_balancer_class == old.spec.load_balancer_class {
            new.spec.load_balancer_class = None;
        }
    }
}

/// The update rules of kinds with immutable fields (`ControllerRevision.data`).
fn check_immutable(new: &dyn AnyResource, old: &dyn AnyResource) -> Result<(), ValidationError> {
    if let (Some(rev), Some(was)) = (
        new.as_any().downcast_ref::<ControllerRevision>(),
        old.as_any().downcast_ref::<ControllerRevision>(),
    ) {
        let errors = crate::validation::controller_revision::controller_revision_update(rev, was);
        if !errors.is_empty() {
            return Err(crate::validation::error_for(rev, errors));
        }
    }
    Ok(())
}

/// Metadata only the server sets survives any update.
fn keep_server_fields(new: &mut dyn AnyResource, current: &dyn AnyResource) {
    let cur = current.meta();
    let m = new.meta_mut();
    m.uid.clone_from(&cur.uid);
    m.creation_timestamp.clone_from(&cur.creation_timestamp);
    m.deletion_timestamp.clone_from(&cur.deletion_timestamp);
    m.deletion_grace_period_seconds = cur.deletion_grace_period_seconds;
    m.namespace.clone_from(&cur.namespace);
    m.resource_version.clone_from(&cur.resource_version);
    m.generation = cur.generation;
    m.self_link = None;
}

fn check_preconditions(
    entry: &KindEntry,
    current: &dyn AnyResource,
    params: &DeleteParams,
) -> Result<(), Error> {
    let Some(pre) = &params.preconditions else {
        return Ok(());
    };
    let meta = current.meta();
    let fail = |what: &str, want: &str, have: &str| Error::Conflict {
        resource: entry.plural.clone(),
        name: object_name(
            meta.namespace.as_deref().unwrap_or(""),
            meta.name.as_deref().unwrap_or(""),
        ),
        reason: format!(
            "Precondition failed: {what} in precondition: {want}, {what} in object meta: {have}"
        ),
    };
    if let Some(uid) = &pre.uid
        && Some(uid.as_str()) != meta.uid.as_deref()
    {
        return Err(fail("UID", uid, meta.uid.as_deref().unwrap_or("")));
    }
    if let Some(rv) = &pre.resource_version
        && Some(rv.as_str()) != meta.resource_version.as_deref()
    {
        return Err(fail(
            "ResourceVersion",
            rv,
            meta.resource_version.as_deref().unwrap_or(""),
        ));
    }
    Ok(())
}

/// Kubernetes' pod `CheckGracefulDelete`: the request's period, else the pod's
/// `terminationGracePeriodSeconds` (30); zero for unscheduled or finished pods and for
/// every other kind.
fn grace_period(obj: &dyn AnyResource, params: &DeleteParams) -> i64 {
    let Some(pod) = obj.as_any().downcast_ref::<Pod>() else {
        return 0;
    };
    if pod.spec.node_name.as_deref().is_none_or(str::is_empty) || pod.is_terminal() {
        return 0;
    }
    params
        .grace_period_seconds
        .or(pod.spec.termination_grace_period_seconds)
        .unwrap_or(crate::defaults::pod::DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS)
        .max(0)
}

#[cfg(test)]
mod tests {
    use super::{UID_LEN, uid_from};

    #[test]
    fn uids_are_v4_and_exactly_sized() {
        for (a, b) in [(0, 0), (u64::MAX, u64::MAX), (0x0123_4567_89AB_CDEF, 42)] {
            let uid = uid_from(a, b);
            assert_eq!(uid.len(), UID_LEN, "{uid}");
            assert_eq!(uid.capacity(), UID_LEN, "{uid}");
            let groups: Vec<&str> = uid.split('-').collect();
            assert_eq!(
                groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12]
            );
            assert!(groups[2].starts_with('4'), "version 4: {uid}");
            assert!(
                matches!(&groups[3][..1], "8" | "9" | "a" | "b"),
                "variant: {uid}"
            );
        }
        assert_eq!(
            uid_from(0x0123_4567_89AB_CDEF, 0),
            "01234567-89ab-4def-8000-000000000000"
        );
        let mut state = 7;
        for _ in 0..100 {
            let (a, b) = (super::splitmix(&mut state), super::splitmix(&mut state));
            let v = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
            let spelled = format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xFFFF,
                a & 0x0FFF,
                v >> 48,
                v & 0xFFFF_FFFF_FFFF
            );
            assert_eq!(uid_from(a, b), spelled);
        }
    }
}
