//! Admission of connections that have not logged in yet, counted in all and
//! per address.
//!
//! A connection costs memory and a file descriptor before it has proven
//! anything. Capping how many such connections there are keeps silent
//! connections from filling the server, and capping how many one address may
//! hold keeps a single misbehaving host from taking all of those places.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use super::lock;

/// Counts of connections not yet logged in.
#[derive(Debug)]
pub(super) struct Admission {
    /// Most connections not logged in, in all; 0 means no limit.
    total: usize,
    /// Most connections not logged in per address; 0 means no limit.
    per_address: usize,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Crowded {
    /// As many connections not logged in as allowed in all.
    Everywhere,
    /// As many from this address as allowed.
    ThisAddress,
}

/// One admitted connection, counted until it is dropped (once it has logged
/// in, or closed).
#[derive(Debug)]
pub(super) struct Admitted<'a> {
    admission: &'a Admission,
    ip: IpAddr,
}

impl Admission {
    pub(super) fn new(total: usize, per_address: usize) -> Admission {
        Admission {
            total,
            per_address,
            counts: Mutex::new(Counts::default()),
        }
    }

    /// Counts a new connection from `ip`, unless there are already as many
    /// connections not logged in as allowed, in all or from that address.
    pub(super) fn admit(&self, ip: IpAddr) -> Result<Admitted<'_>, Crowded> {
        let mut counts = lock(&self.counts);
        if self.total != 0 && counts.total >= self.total {
            return Err(Crowded::Everywhere);
        }
        let count = counts.per_address.entry(ip).or_insert(0);
        if self.per_address != 0 && *count >= self.per_address {
            return Err(Crowded::ThisAddress);
        }
        *count += 1;
        counts.total += 1;
        Ok(Admitted {
            admission: self,
            ip,
        })
    }

    /// How many connections are counted: in all, and from `ip`.
    #[cfg(test)]
    fn count(&self, ip: IpAddr) -> (usize, usize) {
        let counts = lock(&self.counts);
        let here = counts.per_address.get(&ip).copied().unwrap_or(0);
        (counts.total, here)
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        let mut counts = lock(&self.admission.counts);
        counts.total -= 1;
        if let Some(count) = counts.per_address.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.per_address.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_limit_is_per_address_and_places_are_given_back() {
        let admission = Admission::new(0, 2);
        let (a, b) = (ip("10.0.0.1"), ip("10.0.0.2"));
        let first = admission.admit(a).unwrap();
        let _second = admission.admit(a).unwrap();
        assert_eq!(admission.admit(a).unwrap_err(), Crowded::ThisAddress);
        let _other = admission.admit(b).expect("another address is not affected");
        drop(first);
        assert_eq!(admission.count(a), (2, 1));
        assert!(admission.admit(a).is_ok(), "a place was given back");
    }

    #[test]
    fn the_total_limit_counts_every_address() {
        let admission = Admission::new(3, 2);
        let admitted: Vec<_> = (1..=3)
            .map(|i| admission.admit(ip(&format!("127.0.0.{i}"))).unwrap())
            .collect();
        assert_eq!(
            admission.admit(ip("127.0.0.9")).unwrap_err(),
            Crowded::Everywhere
        );
        drop(admitted);
        assert_eq!(admission.count(ip("127.0.0.1")), (0, 0));
        assert!(admission.admit(ip("127.0.0.9")).is_ok());
    }

    #[test]
    fn zero_means_no_limit() {
        let admission = Admission::new(0, 0);
        let ip = ip("::1");
        let admitted: Vec<_> = (0..1000).map(|_| admission.admit(ip).unwrap()).collect();
        assert_eq!(admission.count(ip), (1000, 1000));
        drop(admitted);
        assert_eq!(admission.count(ip), (0, 0));
    }
}
