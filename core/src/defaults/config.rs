//! Defaults of `Secret` (`SetDefaults_Secret`, and the merge of `stringData` into `data`
//! that Kubernetes does when converting a v1 secret).

use crate::api::{Secret, base64};

/// `type` defaults to `Opaque`; every `stringData` entry is base64-encoded into `data`
/// (overwriting a `data` entry of the same key) and `stringData` is cleared.
pub fn secret(secret: &mut Secret) {
    if secret.type_.as_deref().is_none_or(str::is_empty) {
        secret.type_ = Some(Secret::TYPE_OPAQUE.to_owned());
    }
    for (key, value) in std::mem::take(&mut secret.string_data) {
        secret.data.insert(key, base64::encode(value.as_bytes()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;

    #[test]
    fn type_defaults_to_opaque() {
        let mut s = Secret::default();
        s.apply_defaults();
        assert_eq!(s.type_.as_deref(), Some("Opaque"));
        let mut s = Secret {
            type_: Some("kubernetes.io/tls".into()),
            ..Secret::default()
        };
        s.apply_defaults();
        assert_eq!(s.type_str(), "kubernetes.io/tls");
    }

    #[test]
    fn string_data_is_merged_into_data() {
        let mut s = Secret::default();
        s.data.insert("user".into(), "b2xk".into());
        s.data.insert("keep".into(), "eA==".into());
        s.string_data.insert("user".into(), "admin".into());
        s.string_data.insert("password".into(), "s3cr3t!".into());
        s.apply_defaults();
        assert!(s.string_data.is_empty());
        assert_eq!(s.data["user"], "YWRtaW4=");
        assert_eq!(s.data["password"], "czNjcjN0IQ==");
        assert_eq!(s.data["keep"], "eA==");
        let once = s.clone();
        s.apply_defaults();
        assert_eq!(s, once);
    }
}
