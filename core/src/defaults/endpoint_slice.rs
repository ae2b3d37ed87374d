//! Defaults of `EndpointSlice` (`SetDefaults_EndpointPort`).

use crate::api::EndpointSlice;

/// Each port's `name` defaults to `""` and `protocol` to `TCP`.
pub fn endpoint_slice(slice: &mut EndpointSlice) {
    for port in &mut slice.ports {
        if port.name.is_none() {
            port.name = Some(String::new());
        }
        if port.protocol.is_none() {
            port.protocol = Some("TCP".to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;
    use crate::api::EndpointPort;

    #[test]
    fn ports_get_a_name_and_protocol() {
        let mut slice = EndpointSlice::default();
        slice.ports.push(EndpointPort {
            port: Some(80),
            ..EndpointPort::default()
        });
        slice.apply_defaults();
        let once = slice.clone();
        assert_eq!(slice.ports[0].name.as_deref(), Some(""));
        assert_eq!(slice.ports[0].protocol.as_deref(), Some("TCP"));
        slice.apply_defaults();
        assert_eq!(slice, once);
    }
}
