//! A controller for a user's own kind, written only with Keel's public API: a `Website`
//! owns a Deployment and a Service, keeps them in line with its spec, reports what it
//! did in its status, and removes them through a finalizer when it is deleted.
//!
//! ```text
//! cargo run --example website
//! cargo test --example website
//! ```

use std::sync::Arc;
use std::time::Duration;

use keel::controllers::runtime::finalizer::{self, Event, FinalizerError};
use keel::controllers::runtime::{Action, Config, Controller, Recorder};
use keel::core::api::{Deployment, Service};
use keel::core::client::{Api, Client, DeleteParams, Patch};
use keel::core::meta::OwnerReference;
use keel::core::validation::{FieldError, FieldPath};
use keel::core::{Error, Resource, resource};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the user asks for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebsiteSpec {
    /// The web server image.
    pub image: String,
    /// How many copies serve it.
    #[serde(default = "one")]
    pub replicas: i32,
    /// The port the site is served on.
    #[serde(default = "eighty")]
    pub port: i32,
}

fn one() -> i32 {
    1
}

fn eighty() -> i32 {
    80
}

/// What the controller did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebsiteStatus {
    /// The `metadata.generation` last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The image the Deployment runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

resource! {
    /// A website: a Deployment of `image` behind a Service.
    #[resource(api_version = "example.com/v1", kind = "Website", plural = "websites", namespaced = true)]
    pub struct Website {
        /// The desired state.
        pub spec: WebsiteSpec,
        /// The observed state.
        pub status: WebsiteStatus,
    }
    impl {
        fn validate_fields(&self) -> Vec<FieldError> {
            let spec = FieldPath::new("spec");
            let mut errors = Vec::new();
            if self.spec.image.is_empty() {
                errors.push(FieldError::required(spec.child("image"), ""));
            }
            if self.spec.replicas < 0 {
                errors.push(FieldError::invalid(spec.child("replicas"), self.spec.replicas, "must be greater than or equal to 0"));
            }
            errors
        }
    }
}

/// The finalizer this controller owns.
pub const FINALIZER: &str = "websites.example.com/cleanup";

/// What every reconcile shares.
pub struct Ctx {
    client: Client,
    recorder: Recorder,
}

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum WebsiteError {
    /// A write to the store failed.
    #[error(transparent)]
    Store(#[from] Error),
    /// A child object could not be built.
    #[error("building a child: {0}")]
    Build(#[from] serde_json::Error),
}

fn owner_ref(site: &Website) -> OwnerReference {
    OwnerReference {
        api_version: Website::API_VERSION.to_owned(),
        kind: Website::KIND.to_owned(),
        name: site.metadata.name.clone().unwrap_or_default(),
        uid: site.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

fn desired_deployment(site: &Website) -> Result<Deployment, serde_json::Error> {
    let name = site.metadata.name.clone().unwrap_or_default();
    let mut d: Deployment = serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": site.spec.replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{
                    "name": "web", "image": site.spec.image,
                    "ports": [{"containerPort": site.spec.port}]
                }]}
            }
        }
    }))?;
    d.metadata.owner_references.push(owner_ref(site));
    Ok(d)
}

fn desired_service(site: &Website) -> Result<Service, serde_json::Error> {
    let name = site.metadata.name.clone().unwrap_or_default();
    let mut s: Service = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"selector": {"app": name}, "ports": [{"port": site.spec.port, "targetPort": site.spec.port}]}
    }))?;
    s.metadata.owner_references.push(owner_ref(site));
    Ok(s)
}

/// Creates `desired`, or updates the existing object when `differs` says it is out of
/// line (keeping what the server and others wrote, so nothing fights).
async fn ensure<K: Resource>(
    api: &Api<K>,
    desired: K,
    differs: impl Fn(&K, &K) -> bool,
    update: impl Fn(&mut K, &K),
) -> Result<bool, Error> {
    let name = desired.meta().name.clone().unwrap_or_default();
    match api.get_opt(&name).await? {
        None => {
            api.create(&desired).await?;
            Ok(true)
        }
        Some(existing) if differs(&existing, &desired) => {
            let mut updated = (*existing).clone();
            update(&mut updated, &desired);
            api.replace(&name, &updated).await?;
            Ok(true)
        }
        Some(_) => Ok(false),
    }
}

fn image(d: &Deployment) -> Option<&str> {
    d.spec.template.spec.containers.first()?.image.as_deref()
}

async fn apply(site: Arc<Website>, ctx: &Ctx) -> Result<Action, WebsiteError> {
    let ns = site.metadata.namespace.clone().unwrap_or_default();
    let deployments: Api<Deployment> = Api::namespaced(&ctx.client, &ns);
    let services: Api<Service> = Api::namespaced(&ctx.client, &ns);
    let changed_deployment = ensure(
        &deployments,
        desired_deployment(&site)?,
        |have, want| have.spec.replicas != want.spec.replicas || image(have) != image(want),
        |have, want| {
            have.spec.replicas = want.spec.replicas;
            have.spec.template.clone_from(&want.spec.template);
        },
    )
    .await?;
    let changed_service = ensure(
        &services,
        desired_service(&site)?,
        |have, want| {
            have.spec
                .ports
                .iter()
                .map(|p| p.port)
                .ne(want.spec.ports.iter().map(|p| p.port))
        },
        |have, want| have.spec.ports.clone_from(&want.spec.ports),
    )
    .await?;
    if changed_deployment || changed_service {
        ctx.recorder
            .normal(&*site, "Synced", "Deployment and Service match the spec")
            .await?;
    }
    let status = WebsiteStatus {
        observed_generation: site.metadata.generation,
        image: Some(site.spec.image.clone()),
    };
    if site.status.as_ref() != Some(&status) {
        let websites: Api<Website> = Api::namespaced(&ctx.client, &ns);
        let name = site.metadata.name.clone().unwrap_or_default();
        websites
            .patch_status(
                &name,
                &Patch::Merge(serde_json::json!({ "status": status })),
            )
            .await?;
    }
    Ok(Action::await_change())
}

async fn cleanup(site: Arc<Website>, ctx: &Ctx) -> Result<Action, WebsiteError> {
    let ns = site.metadata.namespace.clone().unwrap_or_default();
    let name = site.metadata.name.clone().unwrap_or_default();
    for result in [
        Api::<Deployment>::namespaced(&ctx.client, &ns)
            .delete(&name, &DeleteParams::default())
            .await
            .map(|_| ()),
        Api::<Service>::namespaced(&ctx.client, &ns)
            .delete(&name, &DeleteParams::default())
            .await
            .map(|_| ()),
    ] {
        match result {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Action::await_change())
}

async fn reconcile(
    site: Arc<Website>,
    ctx: Arc<Ctx>,
) -> Result<Action, FinalizerError<WebsiteError>> {
    let websites: Api<Website> = Api::all(&ctx.client);
    finalizer::finalizer(&websites, FINALIZER, site, |event| async {
        match event {
            Event::Apply(site) => apply(site, &ctx).await,
            Event::Cleanup(site) => cleanup(site, &ctx).await,
        }
    })
    .await
}

fn error_policy(_: Arc<Website>, _: &FinalizerError<WebsiteError>, _: Arc<Ctx>) -> Action {
    Action::requeue(Duration::from_secs(1))
}

/// Runs the Website controller on `client` until the task is dropped.
pub async fn run(client: Client) {
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        recorder: Recorder::new(&client, "website-controller"),
    });
    Controller::new(Api::<Website>::all(&client), Config::default())
        .owns::<Deployment>()
        .owns::<Service>()
        .run(reconcile, error_policy, ctx)
        .await;
}

const MANIFEST: &str = r"
apiVersion: example.com/v1
kind: Website
metadata:
  name: blog
  namespace: default
spec:
  image: nginx:1.27
  replicas: 2
";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::in_memory();
    client.register::<Website>();
    tokio::spawn(run(client.clone()));
    client.apply_yaml(MANIFEST).await?;
    let deployments: Api<Deployment> = Api::namespaced(&client, "default");
    let changes = keel::core::client::watcher(
        deployments.clone(),
        keel::core::client::ListParams::default(),
    );
    futures::pin_mut!(changes);
    while deployments.get_opt("blog").await?.is_none() {
        futures::StreamExt::next(&mut changes).await;
    }
    let d = deployments.get("blog").await?;
    println!(
        "website blog → deployment {} ({} replicas of {})",
        d.metadata.name.as_deref().unwrap_or(""),
        d.spec.replicas.unwrap_or(1),
        image(&d).unwrap_or("")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use keel::core::client::ListParams;

    /// Waits until `cond` holds for the object `name`, re-checking on every change.
    async fn until<K: Resource>(api: &Api<K>, name: &str, cond: impl Fn(Option<&K>) -> bool) {
        let changes = keel::core::client::watcher(api.clone(), ListParams::default());
        futures::pin_mut!(changes);
        loop {
            if cond(api.get_opt(name).await.unwrap().as_deref()) {
                return;
            }
            changes.next().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_website_gets_its_children_keeps_them_in_line_and_cleans_up() {
        let client = Client::in_memory();
        client.register::<Website>();
        tokio::spawn(run(client.clone()));
        client.apply_yaml(MANIFEST).await.unwrap();
        let websites: Api<Website> = Api::namespaced(&client, "default");
        let deployments: Api<Deployment> = Api::namespaced(&client, "default");
        let services: Api<Service> = Api::namespaced(&client, "default");

        // Created: children appear, owned by the website, and the status reports it.
        until(&deployments, "blog", |d| {
            d.is_some_and(|d| d.spec.replicas == Some(2))
        })
        .await;
        until(&services, "blog", |s| s.is_some()).await;
        let site = websites.get("blog").await.unwrap();
        assert_eq!(site.metadata.finalizers, [FINALIZER]);
        let d = deployments.get("blog").await.unwrap();
        assert_eq!(image(&d), Some("nginx:1.27"));
        let owner = d.metadata.controller_owner().unwrap();
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("Website", site.metadata.uid.as_deref().unwrap())
        );
        until(&websites, "blog", |w| {
            w.and_then(|w| w.status.as_ref())
                .is_some_and(|s| s.image.as_deref() == Some("nginx:1.27"))
        })
        .await;

        // Changed: the children follow.
        let mut site = (*websites.get("blog").await.unwrap()).clone();
        site.spec.image = "nginx:1.28".into();
        site.spec.replicas = 3;
        site.spec.port = 8080;
        websites.replace("blog", &site).await.unwrap();
        until(&deployments, "blog", |d| {
            d.is_some_and(|d| d.spec.replicas == Some(3) && image(d) == Some("nginx:1.28"))
        })
        .await;
        until(&services, "blog", |s| {
            s.is_some_and(|s| s.spec.ports[0].port == 8080)
        })
        .await;

        // A child changed by someone else is put back.
        let mut drifted = (*deployments.get("blog").await.unwrap()).clone();
        drifted.spec.replicas = Some(7);
        deployments.replace("blog", &drifted).await.unwrap();
        until(&deployments, "blog", |d| {
            d.is_some_and(|d| d.spec.replicas == Some(3))
        })
        .await;

        // Deleted: the finalizer removes the children, then the website goes.
        websites
            .delete("blog", &DeleteParams::default())
            .await
            .unwrap();
        until(&deployments, "blog", |o| o.is_none()).await;
        until(&services, "blog", |o| o.is_none()).await;
        until(&websites, "blog", |o| o.is_none()).await;
        let events = Api::<keel::core::api::Event>::namespaced(&client, "default")
            .list(&ListParams::default())
            .await
            .unwrap();
        assert!(
            events
                .items
                .iter()
                .any(|e| e.reason.as_deref() == Some("Synced"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_invalid_website_is_rejected_with_the_field() {
        let client = Client::in_memory();
        client.register::<Website>();
        let err = client
            .apply_yaml(&MANIFEST.replace("image: nginx:1.27", "image: \"\""))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("spec.image"), "{err}");
    }
}
