//! STUB
#![allow(missing_docs)]
pub fn is_dns1123_subdomain(_s: &str) -> Vec<String> { Vec::new() }
pub fn is_dns1123_label(_s: &str) -> Vec<String> { Vec::new() }
pub fn is_dns1035_label(_s: &str) -> Vec<String> { Vec::new() }
pub fn is_qualified_name(_s: &str) -> Vec<String> { Vec::new() }
pub fn is_valid_label_value(_s: &str) -> Vec<String> { Vec::new() }
