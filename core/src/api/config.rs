//! `ConfigMap` and `Secret` (core/v1): configuration and credentials for pods.

use std::collections::BTreeMap;

/// The most bytes the data of one secret or config map may hold (1 MiB).
pub const MAX_SECRET_SIZE: usize = 1024 * 1024;

crate::resource! {
    /// A config map: non-confidential key/value configuration.
    #[resource(api_version = "v1", kind = "ConfigMap", plural = "configmaps", namespaced = true)]
    pub struct ConfigMap {
        /// UTF-8 values.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pub data: BTreeMap<String, String>,
        /// Binary values, base64-encoded on the wire (kept encoded).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pub binary_data: BTreeMap<String, String>,
        /// When true, `data` and `binaryData` can no longer change.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub immutable: Option<bool>,
    }
    impl {
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::config::config_map(self)
        }
    }
}

crate::resource! {
    /// A secret: confidential key/value data (passwords, tokens, keys).
    #[resource(api_version = "v1", kind = "Secret", plural = "secrets", namespaced = true)]
    pub struct Secret {
        /// Values, base64-encoded on the wire (kept encoded; see [`Secret::decoded`]).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pub data: BTreeMap<String, String>,
        /// Plain-text values, write-only: defaulting merges them into `data`.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pub string_data: BTreeMap<String, String>,
        /// The secret's type (default `Opaque`), e.g. `kubernetes.io/tls`.
        #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
        pub type_: Option<String>,
        /// When true, `data` can no longer change.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub immutable: Option<bool>,
    }
    impl {
        fn apply_defaults(&mut self) {
            crate::defaults::config::secret(self);
        }
        fn validate_fields(&self) -> Vec<crate::validation::FieldError> {
            crate::validation::config::secret(self)
        }
    }
}

impl Secret {
    /// Arbitrary user data (the default type).
    pub const TYPE_OPAQUE: &'static str = "Opaque";
    /// A service account token.
    pub const TYPE_SERVICE_ACCOUNT_TOKEN: &'static str = "kubernetes.io/service-account-token";
    /// A legacy `~/.dockercfg` file under `.dockercfg`.
    pub const TYPE_DOCKERCFG: &'static str = "kubernetes.io/dockercfg";
    /// A `~/.docker/config.json` file under `.dockerconfigjson`.
    pub const TYPE_DOCKER_CONFIG_JSON: &'static str = "kubernetes.io/dockerconfigjson";
    /// Credentials for basic authentication (`username`, `password`).
    pub const TYPE_BASIC_AUTH: &'static str = "kubernetes.io/basic-auth";
    /// An SSH private key under `ssh-privatekey`.
    pub const TYPE_SSH_AUTH: &'static str = "kubernetes.io/ssh-auth";
    /// A TLS certificate and key (`tls.crt`, `tls.key`).
    pub const TYPE_TLS: &'static str = "kubernetes.io/tls";
    /// A bootstrap token.
    pub const TYPE_BOOTSTRAP_TOKEN: &'static str = "bootstrap.kubernetes.io/token";

    /// The secret's type, `Opaque` when unset.
    pub fn type_str(&self) -> &str {
        self.type_.as_deref().unwrap_or(Self::TYPE_OPAQUE)
    }

    /// The decoded bytes of `data[key]`; `None` when absent or not valid base64.
    pub fn decoded(&self, key: &str) -> Option<Vec<u8>> {
        super::base64::decode(self.data.get(key)?).ok()
    }
}

impl ConfigMap {
    /// The decoded bytes of `binaryData[key]`; `None` when absent or not valid base64.
    pub fn decoded_binary(&self, key: &str) -> Option<Vec<u8>> {
        super::base64::decode(self.binary_data.get(key)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_config_map_and_secret_round_trip() {
        for text in [
            include_str!("../../tests/fixtures/kubectl/configmap.yaml"),
            include_str!("../../tests/fixtures/kubectl/secret.yaml"),
            include_str!("../../tests/fixtures/secret-types.yaml"),
        ] {
            let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(text).unwrap();
            for mut doc in docs {
                if doc["metadata"]["creationTimestamp"].is_null() {
                    doc["metadata"]
                        .as_object_mut()
                        .unwrap()
                        .remove("creationTimestamp");
                }
                let back = if doc["kind"] == "Secret" {
                    serde_json::to_value(serde_json::from_value::<Secret>(doc.clone()).unwrap())
                        .unwrap()
                } else {
                    serde_json::to_value(serde_json::from_value::<ConfigMap>(doc.clone()).unwrap())
                        .unwrap()
                };
                assert_eq!(back, doc);
            }
        }
        let secret: Secret =
            serde_saphyr::from_str(include_str!("../../tests/fixtures/kubectl/secret.yaml"))
                .unwrap();
        assert_eq!(secret.decoded("password").unwrap(), b"s3cr3t!");
        assert_eq!(secret.type_str(), "Opaque");
    }

    #[test]
    fn binary_data_decodes() {
        let json = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
            "binaryData": {"blob": "AAEC"}, "immutable": true});
        let cm: ConfigMap = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(cm.decoded_binary("blob").unwrap(), [0, 1, 2]);
        assert_eq!(serde_json::to_value(&cm).unwrap(), json);
    }

    #[test]
    fn unknown_fields_name_their_path() {
        let json = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a"}, "stringdata": {}});
        let err = serde_path_to_error::deserialize::<_, Secret>(json).unwrap_err();
        assert_eq!(err.path().to_string(), "stringdata");
    }
}
