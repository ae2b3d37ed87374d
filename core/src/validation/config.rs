//! Validation of `ConfigMap` (`ValidateConfigMap`) and `Secret` (`ValidateSecret`).

use super::{FieldError, FieldPath};
use crate::api::{ConfigMap, MAX_SECRET_SIZE, Secret, base64};
use crate::names;

/// Keys are config-map keys, none in both `data` and `binaryData`, `binaryData` is
/// base64, and everything together is at most 1 MiB (reported on the whole object).
pub fn config_map(cm: &ConfigMap) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut total = 0usize;
    let dp = FieldPath::new("data");
    for (key, value) in &cm.data {
        for msg in names::is_config_map_key(key) {
            errors.push(FieldError::invalid(dp.key(key), key, msg));
        }
        if cm.binary_data.contains_key(key) {
            errors.push(FieldError::invalid(
                dp.key(key),
                key,
                "duplicate of key present in binaryData",
            ));
        }
        total += value.len();
    }
    let bp = FieldPath::new("binaryData");
    for (key, value) in &cm.binary_data {
        for msg in names::is_config_map_key(key) {
            errors.push(FieldError::invalid(bp.key(key), key, msg));
        }
        match base64::decode(value) {
            Ok(bytes) => total += bytes.len(),
            Err(msg) => errors.push(FieldError::invalid(bp.key(key), "<binary data>", msg)),
        }
    }
    if total > MAX_SECRET_SIZE {
        errors.push(FieldError::too_long(FieldPath::root(), MAX_SECRET_SIZE));
    }
    errors
}

/// Keys are config-map keys, values base64, at most 1 MiB decoded, and the keys the
/// secret's type requires are present.
pub fn secret(secret: &Secret) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let dp = FieldPath::new("data");
    let mut total = 0usize;
    for (key, value) in &secret.data {
        for msg in names::is_config_map_key(key) {
            errors.push(FieldError::invalid(dp.key(key), key, msg));
        }
        match base64::decode(value) {
            Ok(bytes) => total += bytes.len(),
            Err(msg) => errors.push(FieldError::invalid(
                dp.key(key),
                "<secret contents redacted>",
                msg,
            )),
        }
    }
    // Not yet merged (undefaulted): check the keys too, as the API server sees them in data.
    for key in secret.string_data.keys() {
        for msg in names::is_config_map_key(key) {
            errors.push(FieldError::invalid(
                FieldPath::new("stringData").key(key),
                key,
                msg,
            ));
        }
    }
    if total > MAX_SECRET_SIZE {
        errors.push(FieldError::too_long(dp.clone(), MAX_SECRET_SIZE));
    }
    let has = |key: &str| secret.data.contains_key(key) || secret.string_data.contains_key(key);
    match secret.type_.as_deref().unwrap_or("") {
        Secret::TYPE_SERVICE_ACCOUNT_TOKEN => {
            let key = "kubernetes.io/service-account.name";
            if secret
                .metadata
                .annotations
                .get(key)
                .is_none_or(String::is_empty)
            {
                errors.push(FieldError::required(
                    FieldPath::new("metadata").child("annotations").key(key),
                    "",
                ));
            }
        }
        Secret::TYPE_DOCKERCFG => errors.extend(json_key(secret, ".dockercfg", &dp)),
        Secret::TYPE_DOCKER_CONFIG_JSON => {
            errors.extend(json_key(secret, ".dockerconfigjson", &dp));
        }
        Secret::TYPE_BASIC_AUTH if !has("username") && !has("password") => {
            // Kubernetes builds these paths from the literal "data[%s]".
            let p = FieldPath::new("data[%s]");
            errors.push(FieldError::required(p.key("username"), ""));
            errors.push(FieldError::required(p.key("password"), ""));
        }
        Secret::TYPE_SSH_AUTH => {
            let empty = secret
                .data
                .get("ssh-privatekey")
                .or_else(|| secret.string_data.get("ssh-privatekey"))
                .is_none_or(String::is_empty);
            if empty {
                errors.push(FieldError::required(
                    FieldPath::new("data[%s]").key("ssh-privatekey"),
                    "",
                ));
            }
        }
        Secret::TYPE_TLS => {
            for key in ["tls.crt", "tls.key"] {
                if !has(key) {
                    errors.push(FieldError::required(dp.key(key), ""));
                }
            }
        }
        _ => {}
    }
    errors
}

/// A key that must be present and hold a JSON object.
fn json_key(secret: &Secret, key: &str, dp: &FieldPath) -> Vec<FieldError> {
    let bytes = match (secret.data.get(key), secret.string_data.get(key)) {
        (_, Some(plain)) => plain.as_bytes().to_vec(),
        (Some(encoded), None) => match base64::decode(encoded) {
            Ok(bytes) => bytes,
            Err(_) => return Vec::new(), // reported with the data keys
        },
        (None, None) => return vec![FieldError::required(dp.key(key), "")],
    };
    match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&bytes) {
        Ok(_) => Vec::new(),
        Err(e) => vec![FieldError::invalid(
            dp.key(key),
            "<secret contents redacted>",
            e.to_string(),
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;
    use crate::meta::ObjectMeta;
    use crate::validation::{ErrorType, validate};

    fn has(errs: &[FieldError], path: &str, kind: ErrorType) -> bool {
        errs.iter()
            .any(|e| e.path.as_str() == path && e.kind == kind)
    }

    fn secret_of(type_: &str) -> Secret {
        Secret {
            metadata: ObjectMeta::namespaced("default", "s"),
            type_: Some(type_.into()),
            ..Secret::default()
        }
    }

    #[test]
    fn fixtures_are_valid_after_defaulting() {
        for text in [
            include_str!("../../tests/fixtures/kubectl/secret.yaml"),
            include_str!("../../tests/fixtures/secret-types.yaml"),
        ] {
            for doc in serde_saphyr::from_multiple::<serde_json::Value>(text).unwrap() {
                let mut s: Secret = serde_json::from_value(doc).unwrap();
                s.metadata.namespace = Some("default".into());
                s.apply_defaults();
                assert_eq!(validate(&s), Ok(()), "{}", s.metadata.name_str());
            }
        }
        let mut cm: ConfigMap =
            serde_saphyr::from_str(include_str!("../../tests/fixtures/kubectl/configmap.yaml"))
                .unwrap();
        cm.metadata.namespace = Some("default".into());
        assert_eq!(validate(&cm), Ok(()));
    }

    #[test]
    fn config_map_rules() {
        let mut cm = ConfigMap::default();
        cm.data.insert("bad key".into(), "v".into());
        cm.data.insert("both".into(), "v".into());
        cm.binary_data.insert("both".into(), "AA==".into());
        cm.binary_data.insert("blob".into(), "not base64!".into());
        let errs = config_map(&cm);
        assert!(has(&errs, "data[bad key]", ErrorType::Invalid));
        assert!(has(&errs, "data[both]", ErrorType::Invalid));
        assert!(has(&errs, "binaryData[blob]", ErrorType::Invalid));
        let mut big = ConfigMap::default();
        big.data.insert("a".into(), "x".repeat(MAX_SECRET_SIZE + 1));
        assert!(has(&config_map(&big), "", ErrorType::TooLong));
    }

    #[test]
    fn secret_data_rules() {
        let mut s = secret_of("Opaque");
        s.data.insert("bad key".into(), "eA==".into());
        s.data.insert("pw".into(), "%%%".into());
        let errs = secret(&s);
        assert!(has(&errs, "data[bad key]", ErrorType::Invalid));
        assert!(has(&errs, "data[pw]", ErrorType::Invalid));
        let mut big = secret_of("Opaque");
        big.data
            .insert("a".into(), base64::encode(&vec![0u8; MAX_SECRET_SIZE + 1]));
        assert!(has(&secret(&big), "data", ErrorType::TooLong));
    }

    #[test]
    fn typed_secrets_need_their_keys() {
        let errs = secret(&secret_of("kubernetes.io/tls"));
        assert!(has(&errs, "data[tls.crt]", ErrorType::Required));
        assert!(has(&errs, "data[tls.key]", ErrorType::Required));
        assert!(has(
            &secret(&secret_of("kubernetes.io/dockerconfigjson")),
            "data[.dockerconfigjson]",
            ErrorType::Required
        ));
        assert!(has(
            &secret(&secret_of("kubernetes.io/dockercfg")),
            "data[.dockercfg]",
            ErrorType::Required
        ));
        let errs = secret(&secret_of("kubernetes.io/basic-auth"));
        assert!(has(&errs, "data[%s][username]", ErrorType::Required));
        assert!(has(&errs, "data[%s][password]", ErrorType::Required));
        assert!(has(
            &secret(&secret_of("kubernetes.io/ssh-auth")),
            "data[%s][ssh-privatekey]",
            ErrorType::Required
        ));
        let errs = secret(&secret_of("kubernetes.io/service-account-token"));
        assert!(has(
            &errs,
            "metadata.annotations[kubernetes.io/service-account.name]",
            ErrorType::Required
        ));
        let mut bad_json = secret_of("kubernetes.io/dockerconfigjson");
        bad_json
            .data
            .insert(".dockerconfigjson".into(), base64::encode(b"[1]"));
        assert!(has(
            &secret(&bad_json),
            "data[.dockerconfigjson]",
            ErrorType::Invalid
        ));
    }
}
