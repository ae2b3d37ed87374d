//! Controller history, as Kubernetes' `controller/history` package: the
//! [`ControllerRevision`]s a StatefulSet or DaemonSet keeps of the pod templates it has
//! run, named `<owner>-<hash>`, owned by the workload and numbered by `revision`.

use std::collections::BTreeMap;
use std::sync::Arc;

use keel_core::api::{ControllerRevision, PodTemplateSpec};
use keel_core::client::Api;
use keel_core::meta::ObjectMeta;
use keel_core::{Error, Resource};

use super::owner::controller_ref;
use super::template::json_hash;

/// The label holding a revision's hash (Kubernetes' `ControllerRevisionHashLabel`).
pub const HASH_LABEL: &str = "controller.kubernetes.io/hash";

/// The longest owner name kept in a revision's name, so `<prefix>-<hash>` stays a
/// valid object name (Kubernetes' `ControllerRevisionName`).
const MAX_PREFIX: usize = 223;

/// A revision's `data` for `template` (Kubernetes' `getPatch`): the patch
/// `{"spec": {"template": {…, "$patch": "replace"}}}` that restores the template.
pub fn template_patch(template: &PodTemplateSpec) -> serde_json::Value {
    let mut t = serde_json::to_value(template).unwrap_or_default();
    if let Some(map) = t.as_object_mut() {
        map.insert("$patch".to_owned(), "replace".into());
    }
    serde_json::json!({ "spec": { "template": t } })
}

/// The template a revision made by [`template_patch`] holds. A revision without one,
/// or whose template does not decode, is an error naming it and the field.
pub fn template_of(rev: &ControllerRevision) -> Result<PodTemplateSpec, Error> {
    let name = format!(
        "ControllerRevision {}/{}",
        rev.metadata.namespace_str().unwrap_or(""),
        rev.metadata.name_str()
    );
    let Some(template) = rev.data.pointer("/spec/template") else {
        return Err(Error::BadRequest(format!(
            "{name}: data.spec.template: missing"
        )));
    };
    let mut template = template.clone();
    if let Some(map) = template.as_object_mut() {
        map.remove("$patch");
    }
    serde_json::from_value(template)
        .map_err(|e| Error::BadRequest(format!("{name}: data.spec.template: {e}")))
}

/// The hash of a revision's `data` with the collision count (Kubernetes'
/// `HashControllerRevision`).
pub fn revision_hash(data: &serde_json::Value, collision_count: Option<i32>) -> String {
    json_hash(
        &serde_json::to_vec(data).unwrap_or_default(),
        collision_count,
    )
}

/// `<prefix>-<hash>`, the prefix cut to 223 bytes (Kubernetes' `ControllerRevisionName`).
pub fn revision_name(prefix: &str, hash: &str) -> String {
    let mut end = prefix.len().min(MAX_PREFIX);
    while !prefix.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}-{hash}", &prefix[..end])
}

/// A new revision of `parent` (Kubernetes' `NewControllerRevision`): `labels` plus the
/// [`HASH_LABEL`], a controller reference to `parent`, named `<parent>-<hash>` in its
/// namespace.
pub fn new_revision<K: Resource>(
    parent: &K,
    labels: &BTreeMap<String, String>,
    data: serde_json::Value,
    revision: i64,
    collision_count: Option<i32>,
) -> ControllerRevision {
    let hash = revision_hash(&data, collision_count);
    let mut labels = labels.clone();
    labels.insert(HASH_LABEL.to_owned(), hash.clone());
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(revision_name(parent.meta().name_str(), &hash)),
            namespace: parent.meta().namespace.clone(),
            labels,
            owner_references: vec![controller_ref(parent)],
            ..ObjectMeta::default()
        },
        data,
        revision,
    }
}

/// Sorts revisions oldest first: by `revision`, then creation time, then name
/// (Kubernetes' `SortControllerRevisions`).
pub fn sort_revisions(revisions: &mut [Arc<ControllerRevision>]) {
    revisions.sort_by(|a, b| {
        a.revision
            .cmp(&b.revision)
            .then_with(|| {
                a.metadata
                    .creation_timestamp
                    .cmp(&b.metadata.creation_timestamp)
            })
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
}

/// Whether two revisions hold the same state (Kubernetes' `EqualRevision`): equal hash
/// labels when both have one, and equal `data`.
pub fn equal_revision(a: &ControllerRevision, b: &ControllerRevision) -> bool {
    let (ha, hb) = (
        a.metadata.labels.get(HASH_LABEL),
        b.metadata.labels.get(HASH_LABEL),
    );
    if let (Some(ha), Some(hb)) = (ha, hb)
        && ha != hb
    {
        return false;
    }
    a.data == b.data
}

/// The revisions equal to `needle`, in the order given.
pub fn find_equal_revisions<'a>(
    revisions: &'a [Arc<ControllerRevision>],
    needle: &ControllerRevision,
) -> Vec<&'a Arc<ControllerRevision>> {
    revisions
        .iter()
        .filter(|r| equal_revision(r, needle))
        .collect()
}

/// One more than the highest `revision` (1 for an empty history).
pub fn next_revision(revisions: &[Arc<ControllerRevision>]) -> i64 {
    revisions.iter().map(|r| r.revision).max().unwrap_or(0) + 1
}

/// Creates `revision` for `parent` (Kubernetes' `CreateControllerRevision`), named by
/// the hash of its data and `collision_count`. When the name is taken by a revision
/// with the same data, that one is returned; when by different data (a hash
/// collision), `collision_count` is raised and the next name tried.
pub async fn create_revision<K: Resource>(
    api: &Api<ControllerRevision>,
    parent: &K,
    revision: &ControllerRevision,
    collision_count: &mut i32,
) -> Result<Arc<ControllerRevision>, Error> {
    loop {
        let hash = revision_hash(&revision.data, Some(*collision_count));
        let mut candidate = revision.clone();
        candidate.metadata.name = Some(revision_name(parent.meta().name_str(), &hash));
        candidate
            .metadata
            .labels
            .insert(HASH_LABEL.to_owned(), hash);
        let name = candidate.metadata.name_str().to_owned();
        match api.create(&candidate).await {
            Err(e) if e.is_already_exists() => {
                let Some(existing) = api.get_opt(&name).await? else {
                    continue;
                };
                if existing.data == candidate.data {
                    return Ok(existing);
                }
                *collision_count = collision_count.saturating_add(1);
            }
            other => return other,
        }
    }
}

/// Gives `rev` the revision number `revision` (Kubernetes' `UpdateControllerRevision`,
/// used to roll back to an older state); a no-op when it already has it.
pub async fn renumber(
    api: &Api<ControllerRevision>,
    rev: &Arc<ControllerRevision>,
    revision: i64,
) -> Result<Arc<ControllerRevision>, Error> {
    if rev.revision == revision {
        return Ok(rev.clone());
    }
    let mut next = (**rev).clone();
    next.revision = revision;
    match api.replace(rev.metadata.name_str(), &next).await {
        Err(e) if e.is_conflict() => {
            let fresh = api.get(rev.metadata.name_str()).await?;
            let mut next = (*fresh).clone();
            next.revision = revision;
            api.replace(rev.metadata.name_str(), &next).await
        }
        other => other,
    }
}

/// Deletes `rev`; one already gone is not an error.
pub async fn delete_revision(
    api: &Api<ControllerRevision>,
    rev: &ControllerRevision,
) -> Result<(), Error> {
    match api
        .delete(
            rev.metadata.name_str(),
            &keel_core::client::DeleteParams::default(),
        )
        .await
    {
        Err(e) if !e.is_not_found() => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::api::StatefulSet;

    fn template(image: &str) -> PodTemplateSpec {
        let mut t = PodTemplateSpec::default();
        t.metadata.labels.insert("app".into(), "web".into());
        t.spec.containers.push(keel_core::api::Container {
            name: "c".into(),
            image: Some(image.into()),
            ..Default::default()
        });
        t
    }

    fn set() -> StatefulSet {
        let mut s = StatefulSet {
            metadata: ObjectMeta::namespaced("ns", "web"),
            ..StatefulSet::default()
        };
        s.metadata.uid = Some("u1".into());
        s
    }

    #[test]
    fn patches_restore_the_template() {
        let t = template("db:1");
        let data = template_patch(&t);
        assert_eq!(data["spec"]["template"]["$patch"], "replace");
        let rev = new_revision(&set(), &t.metadata.labels, data, 1, None);
        assert_eq!(template_of(&rev).unwrap(), t);
        let bad = ControllerRevision {
            data: serde_json::json!({"spec": {}}),
            ..rev.clone()
        };
        let err = template_of(&bad).unwrap_err().to_string();
        assert!(
            err.contains("ns/web-") && err.contains("data.spec.template"),
            "{err}"
        );
    }

    #[test]
    fn new_revisions_are_named_labelled_and_owned() {
        let t = template("db:1");
        let rev = new_revision(&set(), &t.metadata.labels, template_patch(&t), 3, None);
        let hash = revision_hash(&rev.data, None);
        assert_eq!(rev.metadata.name_str(), format!("web-{hash}"));
        assert_eq!(rev.metadata.namespace_str(), Some("ns"));
        assert_eq!(rev.metadata.labels[HASH_LABEL], hash);
        assert_eq!(rev.metadata.labels["app"], "web");
        assert_eq!(rev.metadata.controller_owner().unwrap().uid, "u1");
        assert_eq!(rev.revision, 3);
        assert_ne!(hash, revision_hash(&rev.data, Some(1)));
        let long = "x".repeat(300);
        assert_eq!(revision_name(&long, "h").len(), 225);
    }

    #[test]
    fn equality_sorting_and_numbering() {
        let (t1, t2) = (template("db:1"), template("db:2"));
        let labels = &t1.metadata.labels;
        let r1 = Arc::new(new_revision(&set(), labels, template_patch(&t1), 2, None));
        let r2 = Arc::new(new_revision(&set(), labels, template_patch(&t2), 1, None));
        let mut revs = vec![r1.clone(), r2.clone()];
        sort_revisions(&mut revs);
        assert_eq!(revs[0].revision, 1);
        assert_eq!(next_revision(&revs), 3);
        assert_eq!(next_revision(&[]), 1);
        let again = new_revision(&set(), labels, template_patch(&t1), 9, None);
        assert!(equal_revision(&again, &r1));
        assert!(!equal_revision(&again, &r2));
        let found = find_equal_revisions(&revs, &again);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].revision, 2);
    }
}
