//! Admission of connections that have not logged in yet, counted per address.
//!
//! A connection costs memory and a file descriptor before it has proven
//! anything. Capping how many such connections one address may hold keeps a
//! single misbehaving host from filling the server with silent connections.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use super::lock;

/// Counts of connections not yet logged in, per address.
#[derive(Debug)]
pub(super) struct Admission {
    /// Most connections not logged in per address; 0 means no limit.
    per_address: usize,
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted connection, counted until it is dropped (once it has logged
/// in, or closed).
#[derive(Debug)]
pub(super) struct Admitted<'a> {
    admission: &'a Admission,
    ip: IpAddr,
}

impl Admission {
    pub(super) fn new(per_address: usize) -> Admission {
        Admission {
            per_address,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a new connection from `ip`, or `None` if that address already
    /// holds as many connections not logged in as allowed.
    pub(super) fn admit(&self, ip: IpAddr) -> Option<Admitted<'_>> {
        let mut counts = lock(&self.counts);
        let count = counts.entry(ip).or_insert(0);
        if self.per_address != 0 && *count >= self.per_address {
            return None;
        }
        *count += 1;
        Some(Admitted {
            admission: self,
            ip,
        })
    }

    /// How many connections from `ip` are counted.
    #[cfg(test)]
    fn count(&self, ip: IpAddr) -> usize {
        lock(&self.counts).get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        let mut counts = lock(&self.admission.counts);
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_per_address_and_slots_are_given_back() {
        let admission = Admission::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = admission.admit(a).unwrap();
        let _second = admission.admit(a).unwrap();
        assert!(
            admission.admit(a).is_none(),
            "a third from the same address"
        );
        let _other = admission.admit(b).expect("another address is not affected");
        drop(first);
        assert_eq!(admission.count(a), 1);
        assert!(admission.admit(a).is_some(), "a slot was given back");
    }

    #[test]
    fn zero_means_no_limit() {
        let admission = Admission::new(0);
        let ip: IpAddr = "::1".parse().unwrap();
        let admitted: Vec<_> = (0..1000).map(|_| admission.admit(ip).unwrap()).collect();
        assert_eq!(admission.count(ip), 1000);
        drop(admitted);
        assert_eq!(admission.count(ip), 0);
    }
}
