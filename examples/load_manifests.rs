//! Loads Kubernetes manifests, applies the API server's defaults, validates them and prints
//! what Keel understood.
//!
//! ```text
//! cargo run --example load_manifests                       # the shipped examples/manifests
//! cargo run --example load_manifests -- my-app.yaml other.yaml
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use keel::core::manifest::{self, Object};

fn main() -> ExitCode {
    let mut files: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if files.is_empty() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/manifests");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("cannot read {}", dir.display());
            return ExitCode::FAILURE;
        };
        files = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
    }
    let mut failed = false;
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                failed = true;
                continue;
            }
        };
        match manifest::from_yaml(&text) {
            Ok(objects) => {
                println!("{}:", file.display());
                for mut object in objects {
                    object.apply_defaults();
                    let verdict = match object.validate() {
                        Ok(()) => "valid".to_owned(),
                        Err(e) => {
                            failed = true;
                            format!("INVALID: {e}")
                        }
                    };
                    println!(
                        "  {:<40} {}  ({verdict})",
                        identity(&object),
                        summary(&object)
                    );
                }
            }
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn identity(object: &Object) -> String {
    match object.namespace() {
        Some(ns) => format!("{} {ns}/{}", object.kind(), object.name()),
        None => format!("{} {}", object.kind(), object.name()),
    }
}

fn summary(object: &Object) -> String {
    match object {
        Object::Deployment(d) => format!(
            "{} replicas of {}",
            d.spec.replicas.unwrap_or(1),
            images(&d.spec.template.spec)
        ),
        Object::StatefulSet(s) => format!(
            "{} replicas of {}, {} volume claim template(s)",
            s.spec.replicas.unwrap_or(1),
            images(&s.spec.template.spec),
            s.spec.volume_claim_templates.len()
        ),
        Object::DaemonSet(d) => format!("one pod per node of {}", images(&d.spec.template.spec)),
        Object::Job(j) => format!(
            "{} completions, {} at a time, of {}",
            j.spec.completions.unwrap_or(1),
            j.spec.parallelism.unwrap_or(1),
            images(&j.spec.template.spec)
        ),
        Object::Service(s) => {
            let ports: Vec<String> = s
                .spec
                .ports
                .iter()
                .map(|p| {
                    let target = p
                        .target_port
                        .as_ref()
                        .map_or_else(String::new, ToString::to_string);
                    format!("{}->{target}", p.port)
                })
                .collect();
            format!("ports {}", ports.join(", "))
        }
        other => format!(
            "{} field(s)",
            other.to_json().as_object().map_or(0, serde_json::Map::len)
        ),
    }
}

fn images(spec: &keel::core::api::PodSpec) -> String {
    let images: Vec<&str> = spec
        .containers
        .iter()
        .filter_map(|c| c.image.as_deref())
        .collect();
    images.join(", ")
}
