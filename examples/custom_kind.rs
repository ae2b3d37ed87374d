//! A user's own kind, as first-class as `Pod`: defined in a few lines with `resource!`,
//! given defaults and validation, loaded from a manifest beside built-in kinds.
//!
//! ```text
//! cargo run --example custom_kind
//! ```

use keel::core::manifest::{self, KindRegistry, Object};
use keel::core::meta::ObjectMeta;
use keel::core::validation::{self, FieldError, FieldPath};
use keel::core::{Resource, resource};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the user asks for: a command run on a cron schedule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CronTabSpec {
    /// The cron schedule, e.g. `*/5 * * * *`.
    #[serde(default)]
    pub cron_spec: String,
    /// The image to run.
    #[serde(default)]
    pub image: String,
    /// How many copies to run; defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
}

/// What the controller observed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CronTabStatus {
    /// How many times it ran.
    #[serde(default)]
    pub runs: u64,
}

resource! {
    /// The example kind of Kubernetes' CustomResourceDefinition documentation.
    #[resource(api_version = "stable.example.com/v1", kind = "CronTab", plural = "crontabs", namespaced = true)]
    pub struct CronTab {
        /// The desired state.
        pub spec: CronTabSpec,
        /// The observed state.
        pub status: CronTabStatus,
    }
    impl {
        fn apply_defaults(&mut self) {
            self.spec.replicas.get_or_insert(1);
        }
        fn validate_fields(&self) -> Vec<FieldError> {
            let mut errors = Vec::new();
            let spec = FieldPath::new("spec");
            if self.spec.cron_spec.split_whitespace().count() != 5 {
                errors.push(FieldError::invalid(spec.child("cronSpec"), &self.spec.cron_spec, "must have five fields"));
            }
            if self.spec.image.is_empty() {
                errors.push(FieldError::required(spec.child("image"), ""));
            }
            errors
        }
    }
}

const MANIFEST: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: crons
---
apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: nightly
  namespace: crons
spec:
  cronSpec: "0 3 * * *"
  image: backup:1.2
---
apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: broken
  namespace: crons
spec:
  cronSpec: "every day"
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = KindRegistry::new().with::<CronTab>();
    for object in manifest::from_yaml_with(MANIFEST, &registry)? {
        match object {
            Object::Dynamic(_) => {
                let mut tab: CronTab = object
                    .into_resource()
                    .map_err(|o| format!("not a CronTab: {}", o.kind()))?;
                tab.apply_defaults();
                let verdict = match validation::validate(&tab) {
                    Ok(()) => "valid".to_owned(),
                    Err(e) => format!("invalid: {e}"),
                };
                println!(
                    "{} {}/{}: {} x {} at {:?} ({verdict})",
                    CronTab::KIND,
                    tab.meta().namespace_str().unwrap_or(""),
                    tab.meta().name_str(),
                    tab.spec.replicas.unwrap_or(0),
                    tab.spec.image,
                    tab.spec.cron_spec
                );
            }
            builtin => println!("{} {}", builtin.kind(), builtin.name()),
        }
    }
    // A typo in a field is an error naming its path, for user kinds as for built-in ones.
    let typo = MANIFEST.replace("cronSpec: \"0 3", "cronspec: \"0 3");
    if let Err(e) = manifest::from_yaml_with(&typo, &registry) {
        println!("typo rejected: {e}");
    }
    let schema = serde_json::to_string(&keel::core::schema::schema_for::<CronTab>())?;
    println!(
        "schema: {} bytes; metadata: {:?}",
        schema.len(),
        ObjectMeta::named("x").name
    );
    in_a_cluster_store()
}

/// The same kind in the API store: applied from the manifest, defaulted, validated,
/// watched — and a CRD-like dynamic kind checked against a JSON Schema beside it.
fn in_a_cluster_store() -> Result<(), Box<dyn std::error::Error>> {
    use futures::StreamExt;
    use keel::core::client::{Api, Client, ListParams, WatchEvent};
    use keel::core::manifest::KindInfo;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let client = Client::in_memory();
        client.register::<CronTab>();
        let tabs: Api<CronTab> = Api::namespaced(&client, "crons");
        let good: String = MANIFEST
            .split("---")
            .take(2)
            .collect::<Vec<_>>()
            .join("---");
        client.apply_yaml(&good).await?;
        let mut changes = Box::pin(tabs.watch(&ListParams::default(), "").await?);
        if let Some(Ok(WatchEvent::Added(tab))) = changes.next().await {
            println!(
                "stored {}/{} at resourceVersion {} (replicas defaulted to {})",
                tab.meta().namespace_str().unwrap_or(""),
                tab.meta().name_str(),
                tab.meta().resource_version.as_deref().unwrap_or(""),
                tab.spec.replicas.unwrap_or(0)
            );
        }
        if let Err(e) = client.apply_yaml(MANIFEST).await {
            println!("store rejected: {e}");
        }
        let info = KindInfo::untyped("stable.example.com/v1", "Backup", "backups", true);
        let schema = serde_json::json!({"type": "object", "properties": {"spec": {"type": "object",
            "required": ["target"], "properties": {"target": {"type": "string"}}}}});
        client.register_dynamic(&info, Some(schema));
        let backups = client.dynamic("backups", Some("default"))?;
        let bad = serde_json::json!({"apiVersion": "stable.example.com/v1", "kind": "Backup",
            "metadata": {"name": "b"}, "spec": {}});
        if let Err(e) = backups.create(bad).await {
            println!("dynamic kind rejected: {e}");
        }
        Ok(())
    })
}
