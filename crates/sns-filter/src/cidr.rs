//! `{"cidr": "10.0.0.0/24"}`: IPv4 and IPv6 prefix matching on addresses in string values.

use std::net::IpAddr;

use crate::error::PolicyError;

/// A parsed CIDR block: the network address with host bits cleared, and the prefix length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix_bits: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let mut parts = text.split('/');
        let (Some(address), Some(mask), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(PolicyError::CidrNoSlash);
        };
        let prefix_bits: u8 = mask.parse().map_err(|_| PolicyError::CidrMaskNotInteger)?;
        let network: IpAddr = address
            .parse()
            .map_err(|_| PolicyError::CidrBadAddress(address.to_string()))?;
        let width = address_bits(network);
        if prefix_bits > width {
            return Err(PolicyError::CidrBadAddress(address.to_string()));
        }
        Ok(Self {
            network,
            prefix_bits,
        })
    }

    /// Whether `text` is an address of the same family inside this block. Text that is not an
    /// address simply does not match.
    pub fn contains(&self, text: &str) -> bool {
        let Ok(address) = text.parse::<IpAddr>() else {
            return false;
        };
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => same_prefix(
                u32::from(network).into(),
                u32::from(address).into(),
                self.prefix_bits,
                32,
            ),
            (IpAddr::V6(network), IpAddr::V6(address)) => same_prefix(
                u128::from(network),
                u128::from(address),
                self.prefix_bits,
                128,
            ),
            _ => false,
        }
    }
}

fn address_bits(address: IpAddr) -> u8 {
    match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn same_prefix(network: u128, address: u128, prefix_bits: u8, width: u8) -> bool {
    let host_bits = u32::from(width - prefix_bits);
    // A /0 block has no network bits; shifting by the full width would overflow.
    let network_part = |value: u128| value.checked_shr(host_bits).unwrap_or(0);
    network_part(network) == network_part(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_and_ipv6_blocks() {
        let block = Cidr::parse("10.0.0.0/24").unwrap();
        assert!(block.contains("10.0.0.0"));
        assert!(block.contains("10.0.0.255"));
        assert!(!block.contains("10.1.1.0"));
        assert!(!block.contains("::1"));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5"));
        assert!(!v6.contains("2001:db9::"));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8"));
        assert!(Cidr::parse("::/0").unwrap().contains("::1"));
    }

    #[test]
    fn malformed_blocks() {
        assert_eq!(Cidr::parse("10.0.0.0"), Err(PolicyError::CidrNoSlash));
        assert_eq!(
            Cidr::parse("10.0.0.0/x"),
            Err(PolicyError::CidrMaskNotInteger)
        );
        assert_eq!(
            Cidr::parse("10.0.0/8"),
            Err(PolicyError::CidrBadAddress("10.0.0".into()))
        );
        assert_eq!(
            Cidr::parse("10.0.0.0/33"),
            Err(PolicyError::CidrBadAddress("10.0.0.0".into()))
        );
    }
}
