//! Invalid workload specs are rejected when written, naming the field, and nothing is
//! stored: a selector that does not select the template, negative replicas, an invalid
//! cron schedule, `restartPolicy: Always` on a Job.

mod support;

use keel_core::Error;
use keel_core::api::{CronJob, Deployment, Job, ReplicaSet, StatefulSet};
use keel_core::client::{Api, Client, ListParams};
use keel_core::manifest::{Object, from_yaml};

async fn rejected(client: &Client, yaml: &str) -> (String, String) {
    let objects = from_yaml(yaml).expect("manifest parses");
    let err = match objects.into_iter().next().unwrap() {
        Object::ReplicaSet(o) => Api::<ReplicaSet>::default_namespaced(client)
            .create(&o)
            .await
            .map(|_| ()),
        Object::Deployment(o) => Api::<Deployment>::default_namespaced(client)
            .create(&o)
            .await
            .map(|_| ()),
        Object::StatefulSet(o) => Api::<StatefulSet>::default_namespaced(client)
            .create(&o)
            .await
            .map(|_| ()),
        Object::Job(o) => Api::<Job>::default_namespaced(client)
            .create(&o)
            .await
            .map(|_| ()),
        Object::CronJob(o) => Api::<CronJob>::default_namespaced(client)
            .create(&o)
            .await
            .map(|_| ()),
        other => panic!("unexpected kind {}", other.kind()),
    }
    .expect_err("must be rejected");
    match err {
        Error::Invalid { field, reason, .. } => (field, reason),
        other => panic!("expected Invalid, got {other}"),
    }
}

const DEPLOYMENT_WRONG_SELECTOR: &str = r"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: c, image: nginx}]}
";

const REPLICASET_NEGATIVE: &str = r"
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: -1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx}]}
";

const CRONJOB_BAD_SCHEDULE: &str = r"
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: '61 * * * *'
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: c, image: busybox}]
";

const JOB_RESTART_ALWAYS: &str = r"
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      restartPolicy: Always
      containers: [{name: c, image: busybox}]
";

const STATEFULSET_NEGATIVE: &str = r"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: -3
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: postgres}]}
";

#[tokio::test]
async fn invalid_workloads_are_rejected_with_the_field_path() {
    let client = Client::in_memory();
    let (field, reason) = rejected(&client, DEPLOYMENT_WRONG_SELECTOR).await;
    assert_eq!(field, "spec.template.metadata.labels");
    assert!(
        reason.contains("`selector` does not match template `labels`"),
        "{reason}"
    );

    let (field, reason) = rejected(&client, REPLICASET_NEGATIVE).await;
    assert_eq!(field, "spec.replicas");
    assert!(
        reason.contains("must be greater than or equal to 0"),
        "{reason}"
    );

    let (field, _) = rejected(&client, STATEFULSET_NEGATIVE).await;
    assert_eq!(field, "spec.replicas");

    let (field, _) = rejected(&client, CRONJOB_BAD_SCHEDULE).await;
    assert_eq!(field, "spec.schedule");

    let (field, reason) = rejected(&client, JOB_RESTART_ALWAYS).await;
    assert_eq!(field, "spec.template.spec.restartPolicy");
    // Kubernetes reports Always (or the defaulted empty value) as a missing choice.
    assert!(
        reason.contains(r#"Required value: valid values: "OnFailure", "Never""#),
        "{reason}"
    );

    // Nothing was stored.
    let none = |n: usize| assert_eq!(n, 0);
    none(
        Api::<Deployment>::default_namespaced(&client)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
    );
    none(
        Api::<ReplicaSet>::default_namespaced(&client)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
    );
    none(
        Api::<CronJob>::default_namespaced(&client)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
    );
    none(
        Api::<Job>::default_namespaced(&client)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
    );
}
