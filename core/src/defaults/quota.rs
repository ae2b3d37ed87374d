//! Defaults of `LimitRange` (`SetDefaults_LimitRangeItem`).

use crate::api::LimitRange;

/// For `Container` items: `default` (limits) defaults to `max`, and `defaultRequest` to
/// `default`, then to `min`, per resource.
pub fn limit_range(lr: &mut LimitRange) {
    for item in &mut lr.spec.limits {
        if item.type_ != "Container" {
            continue;
        }
        for (k, v) in &item.max {
            item.default.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (k, v) in &item.default {
            item.default_request
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        for (k, v) in &item.min {
            item.default_request
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;
    use crate::api::LimitRangeItem;

    #[test]
    fn container_limits_fill_defaults() {
        let mut item = LimitRangeItem {
            type_: "Container".into(),
            ..LimitRangeItem::default()
        };
        item.max.insert("cpu".into(), "2".parse().unwrap());
        item.min.insert("memory".into(), "64Mi".parse().unwrap());
        let mut lr = LimitRange::default();
        lr.spec.limits = vec![
            item.clone(),
            LimitRangeItem {
                type_: "Pod".into(),
                ..item
            },
        ];
        lr.apply_defaults();
        let once = lr.clone();
        let c = &lr.spec.limits[0];
        assert_eq!(c.default["cpu"].to_string(), "2");
        assert_eq!(c.default_request["cpu"].to_string(), "2");
        assert_eq!(c.default_request["memory"].to_string(), "64Mi");
        assert!(lr.spec.limits[1].default.is_empty());
        lr.apply_defaults();
        assert_eq!(lr, once);
    }
}
