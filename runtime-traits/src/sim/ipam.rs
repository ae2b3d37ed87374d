//! Host-local, dual-stack IPAM: cluster CIDRs carved into one pod CIDR per node
//! (IPv4 and IPv6), and per node an allocator that never hands an address out twice.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::error::RuntimeError;
use crate::network::PodNetwork;

/// An IPv4 or IPv6 CIDR block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cidr {
    /// `a.b.c.d/n`.
    V4(Ipv4Addr, u8),
    /// `x::/n`.
    V6(Ipv6Addr, u8),
}

impl FromStr for Cidr {
    type Err = RuntimeError;

    fn from_str(s: &str) -> Result<Cidr, RuntimeError> {
        let bad = || RuntimeError::Other(format!("invalid CIDR address: {s}"));
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if let Ok(a) = addr.parse::<Ipv4Addr>() {
            if prefix > 32 {
                return Err(bad());
            }
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            return Ok(Cidr::V4(Ipv4Addr::from(u32::from(a) & mask), prefix));
        }
        let a: Ipv6Addr = addr.parse().map_err(|_| bad())?;
        if prefix > 128 {
            return Err(bad());
        }
        let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
        Ok(Cidr::V6(Ipv6Addr::from(u128::from(a) & mask), prefix))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cidr::V4(a, p) => write!(f, "{a}/{p}"),
            Cidr::V6(a, p) => write!(f, "{a}/{p}"),
        }
    }
}

impl Cidr {
    /// The `index`-th sub-block of prefix length `prefix` (e.g. the 3rd /24 of a /16).
    pub fn subnet(&self, prefix: u8, index: u64) -> Result<Cidr, RuntimeError> {
        let exhausted =
            || RuntimeError::Exhausted(format!("{self} has no subnet /{prefix} number {index}"));
        match *self {
            Cidr::V4(base, p) => {
                if prefix < p || prefix > 32 || index >= 1_u64 << (prefix - p) {
                    return Err(exhausted());
                }
                let step = 1_u64 << (32 - prefix);
                let addr = u64::from(u32::from(base)) + index * step;
                Ok(Cidr::V4(
                    Ipv4Addr::from(u32::try_from(addr).map_err(|_| exhausted())?),
                    prefix,
                ))
            }
            Cidr::V6(base, p) => {
                if prefix < p
                    || prefix > 128
                    || u32::from(prefix - p) < 64 && index >= 1_u64 << (prefix - p)
                {
                    return Err(exhausted());
                }
                let step = 1_u128.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                let addr = u128::from(base) + u128::from(index) * step;
                Ok(Cidr::V6(Ipv6Addr::from(addr), prefix))
            }
        }
    }

    fn host_bits(&self) -> u32 {
        match self {
            Cidr::V4(_, p) => 32 - u32::from(*p),
            Cidr::V6(_, p) => 128 - u32::from(*p),
        }
    }
}

/// The cluster's pod address ranges and the size of each node's share (Kubernetes'
/// `--cluster-cidr` and `--node-cidr-mask-size-ipv4/ipv6`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterCidrs {
    /// The IPv4 range (e.g. `10.244.0.0/16`).
    pub ipv4: Option<Cidr>,
    /// The IPv6 range (e.g. `fd00:10:244::/56`).
    pub ipv6: Option<Cidr>,
    /// Prefix length of a node's IPv4 block (24).
    pub node_prefix_v4: u8,
    /// Prefix length of a node's IPv6 block (64).
    pub node_prefix_v6: u8,
}

impl Default for ClusterCidrs {
    /// Dual-stack: `10.244.0.0/16` in /24s and `fd00:10:244::/56` in /64s.
    fn default() -> Self {
        ClusterCidrs {
            ipv4: "10.244.0.0/16".parse().ok(),
            ipv6: "fd00:10:244::/56".parse().ok(),
            node_prefix_v4: 24,
            node_prefix_v6: 64,
        }
    }
}

impl ClusterCidrs {
    /// The pod CIDRs of the `index`-th node (`spec.podCIDRs`: IPv4 first).
    pub fn node_cidrs(&self, index: u64) -> Result<Vec<Cidr>, RuntimeError> {
        let mut out = Vec::new();
        if let Some(c) = self.ipv4 {
            out.push(c.subnet(self.node_prefix_v4, index)?);
        }
        if let Some(c) = self.ipv6 {
            out.push(c.subnet(self.node_prefix_v6, index)?);
        }
        Ok(out)
    }
}

/// One node's allocator over its pod CIDRs. Skips the network address, the gateway
/// (`.1`) and, for IPv4, the broadcast address.
#[derive(Clone, Debug, Default)]
pub struct HostLocalIpam {
    v4: Option<Cidr>,
    v6: Option<Cidr>,
    used_v4: BTreeSet<u32>,
    used_v6: BTreeSet<u128>,
    next_v4: u128,
    next_v6: u128,
    owners: BTreeMap<String, PodNetwork>,
}

impl HostLocalIpam {
    /// An allocator over `cidrs` (at most one of each family).
    pub fn new(cidrs: &[Cidr]) -> HostLocalIpam {
        let mut ipam = HostLocalIpam::default();
        for c in cidrs {
            match c {
                Cidr::V4(..) => ipam.v4 = Some(*c),
                Cidr::V6(..) => ipam.v6 = Some(*c),
            }
        }
        ipam
    }

    /// The addresses of `owner`, allocated on first request (the same ones after).
    pub fn allocate(&mut self, owner: &str) -> Result<PodNetwork, RuntimeError> {
        if let Some(n) = self.owners.get(owner) {
            return Ok(*n);
        }
        let ipv4 = match self.v4 {
            Some(Cidr::V4(base, _)) => {
                let size = 1_u128 << self.v4.map_or(0, |c| c.host_bits());
                let offset = next_free(size, &mut self.next_v4, size.saturating_sub(1), |o| {
                    self.used_v4
                        .contains(&(u32::from(base) + u32::try_from(o).unwrap_or(0)))
                })
                .ok_or_else(|| {
                    RuntimeError::Exhausted(format!(
                        "no IPv4 address left in {}",
                        self.v4.map(|c| c.to_string()).unwrap_or_default()
                    ))
                })?;
                let a = u32::from(base) + u32::try_from(offset).unwrap_or(0);
                self.used_v4.insert(a);
                Some(Ipv4Addr::from(a))
            }
            _ => None,
        };
        let ipv6 = match self.v6 {
            Some(Cidr::V6(base, _)) => {
                let bits = self.v6.map_or(0, |c| c.host_bits()).min(100);
                let size = 1_u128 << bits;
                let offset = next_free(size, &mut self.next_v6, size, |o| {
                    self.used_v6.contains(&(u128::from(base) + o))
                });
                let Some(offset) = offset else {
                    if let Some(a) = ipv4 {
                        self.used_v4.remove(&u32::from(a));
                    }
                    return Err(RuntimeError::Exhausted("no IPv6 address left".into()));
                };
                let a = u128::from(base) + offset;
                self.used_v6.insert(a);
                Some(Ipv6Addr::from(a))
            }
            _ => None,
        };
        let n = PodNetwork { ipv4, ipv6 };
        self.owners.insert(owner.to_owned(), n);
        Ok(n)
    }

    /// Releases `owner`'s addresses (nothing if it has none).
    pub fn release(&mut self, owner: &str) {
        if let Some(n) = self.owners.remove(owner) {
            if let Some(a) = n.ipv4 {
                self.used_v4.remove(&u32::from(a));
            }
            if let Some(a) = n.ipv6 {
                self.used_v6.remove(&u128::from(a));
            }
        }
    }

    /// `owner`'s addresses, if allocated.
    pub fn get(&self, owner: &str) -> Option<PodNetwork> {
        self.owners.get(owner).copied()
    }

    /// How many owners hold addresses.
    pub fn len(&self) -> usize {
        self.owners.len()
    }

    /// Whether no owner holds addresses.
    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }
}

/// The next free offset in `2..end` (round-robin from `cursor`), skipping 0 (network)
/// and 1 (gateway); `end` excludes the IPv4 broadcast.
fn next_free(
    size: u128,
    cursor: &mut u128,
    end: u128,
    used: impl Fn(u128) -> bool,
) -> Option<u128> {
    let usable = end.saturating_sub(2);
    if usable == 0 || size < 4 {
        return None;
    }
    let tries = usable.min(1 << 20);
    for _ in 0..tries {
        let offset = 2 + (*cursor % usable);
        *cursor = cursor.wrapping_add(1);
        if !used(offset) {
            return Some(offset);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_parse_print_and_carve() {
        let c: Cidr = "10.244.7.9/16".parse().unwrap();
        assert_eq!(c.to_string(), "10.244.0.0/16", "host bits cleared");
        assert_eq!(c.subnet(24, 3).unwrap().to_string(), "10.244.3.0/24");
        assert!(c.subnet(24, 256).is_err(), "a /16 has 256 /24s");
        let v6: Cidr = "fd00:10:244::/56".parse().unwrap();
        assert_eq!(v6.subnet(64, 2).unwrap().to_string(), "fd00:10:244:2::/64");
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
        let cluster = ClusterCidrs::default();
        let n = cluster.node_cidrs(5).unwrap();
        assert_eq!(
            n.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["10.244.5.0/24", "fd00:10:244:5::/64"]
        );
    }

    #[test]
    fn addresses_are_unique_stable_and_reused_after_release() {
        let mut ipam = HostLocalIpam::new(&ClusterCidrs::default().node_cidrs(1).unwrap());
        let a = ipam.allocate("a").unwrap();
        assert_eq!(
            a.ipv4.unwrap().to_string(),
            "10.244.1.2",
            "skips network and gateway"
        );
        assert_eq!(a.ipv6.unwrap().to_string(), "fd00:10:244:1::2");
        assert_eq!(
            ipam.allocate("a").unwrap(),
            a,
            "the same owner gets the same addresses"
        );
        let b = ipam.allocate("b").unwrap();
        assert_ne!(a.ipv4, b.ipv4);
        ipam.release("a");
        assert!(ipam.get("a").is_none());
        assert_eq!(ipam.len(), 1);
    }

    #[test]
    fn a_full_block_is_exhausted_not_reused() {
        let mut ipam = HostLocalIpam::new(&["10.0.0.0/29".parse().unwrap()]);
        // .0 network, .1 gateway, .7 broadcast: .2 – .6 usable.
        let got: Vec<String> = (0..5)
            .map(|i| {
                ipam.allocate(&i.to_string())
                    .unwrap()
                    .ipv4
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            got,
            ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
        );
        assert!(matches!(
            ipam.allocate("x"),
            Err(RuntimeError::Exhausted(_))
        ));
        ipam.release("2");
        assert_eq!(
            ipam.allocate("x").unwrap().ipv4.unwrap().to_string(),
            "10.0.0.4"
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Under any sequence of allocations and releases no address is ever held twice.
            #[test]
            fn no_address_is_handed_out_twice(ops in proptest::collection::vec((any::<bool>(), 0_u8..40), 0..200)) {
                let mut ipam = HostLocalIpam::new(&ClusterCidrs::default().node_cidrs(0).unwrap());
                for (alloc, owner) in ops {
                    let owner = owner.to_string();
                    if alloc { ipam.allocate(&owner).unwrap(); } else { ipam.release(&owner); }
                    let held: Vec<PodNetwork> = ipam.owners.values().copied().collect();
                    let v4: BTreeSet<_> = held.iter().map(|n| n.ipv4).collect();
                    let v6: BTreeSet<_> = held.iter().map(|n| n.ipv6).collect();
                    prop_assert_eq!(v4.len(), held.len());
                    prop_assert_eq!(v6.len(), held.len());
                }
            }
        }
    }
}
