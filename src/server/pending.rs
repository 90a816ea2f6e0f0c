//! Connections that have not logged in yet, counted per address.
//!
//! A connection costs memory and a file descriptor before it has proven
//! anything. Capping how many such connections one address may hold keeps a
//! single misbehaving host from filling the server with silent connections.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Counts of connections not yet logged in, per address.
#[derive(Debug)]
pub(super) struct Pending {
    /// Most connections not logged in per address; 0 means no limit.
    limit: usize,
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// One counted connection; dropping it stops counting it.
#[derive(Debug)]
pub(super) struct PendingSlot<'a> {
    pending: &'a Pending,
    ip: IpAddr,
}

impl Pending {
    pub(super) fn new(limit: usize) -> Pending {
        Pending {
            limit,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a new connection from `ip`, or `None` if that address already
    /// holds as many connections not logged in as allowed.
    pub(super) fn enter(&self, ip: IpAddr) -> Option<PendingSlot<'_>> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(ip).or_insert(0);
        if self.limit != 0 && *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(PendingSlot { pending: self, ip })
    }

    /// How many connections from `ip` are counted.
    #[cfg(test)]
    fn count(&self, ip: IpAddr) -> usize {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for PendingSlot<'_> {
    fn drop(&mut self) {
        let mut counts = self
            .pending
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
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
        let pending = Pending::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = pending.enter(a).unwrap();
        let _second = pending.enter(a).unwrap();
        assert!(pending.enter(a).is_none(), "a third from the same address");
        let _other = pending.enter(b).expect("another address is not affected");
        drop(first);
        assert_eq!(pending.count(a), 1);
        assert!(pending.enter(a).is_some(), "a slot was given back");
    }

    #[test]
    fn zero_means_no_limit() {
        let pending = Pending::new(0);
        let ip: IpAddr = "::1".parse().unwrap();
        let slots: Vec<_> = (0..1000).map(|_| pending.enter(ip).unwrap()).collect();
        assert_eq!(pending.count(ip), 1000);
        drop(slots);
        assert_eq!(pending.count(ip), 0);
    }
}
