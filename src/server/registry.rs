//! The router: who is logged in, in login order.
//!
//! One `Mutex` guards everything; every method holds it only for a few map
//! operations and never across an `.await`.

use super::bots::Bot;
use super::lock;
use super::outbox::Outbox;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// Where a message for a name goes.
#[derive(Debug, Clone)]
pub(super) enum Target {
    User { id: u64, outbox: Arc<Outbox> },
    Bot(Bot),
}

/// Why a login was refused (after the name itself was found valid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    InUse,
    Busy,
}

#[derive(Debug)]
struct Entry {
    seq: u64,
    target: Target,
}

#[derive(Debug, Default)]
struct Inner {
    next_seq: u64,
    /// Login order: sequence number -> name.
    order: BTreeMap<u64, Vec<u8>>,
    by_name: HashMap<Vec<u8>, Entry>,
    /// Logged-in users, bots not counted.
    users: usize,
}

impl Inner {
    fn insert(&mut self, name: &[u8], target: Target) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert(seq, name.to_vec());
        self.by_name.insert(name.to_vec(), Entry { seq, target });
    }
}

/// See the module documentation.
#[derive(Debug)]
pub(super) struct Registry {
    inner: Mutex<Inner>,
    max_clients: usize,
    hide_users: bool,
}

impl Registry {
    /// A registry with the bots (if `bots`) logged in first.
    pub(super) fn new(max_clients: usize, hide_users: bool, bots: bool) -> Self {
        let mut inner = Inner::default();
        if bots {
            for bot in Bot::ALL {
                inner.insert(bot.name(), Target::Bot(bot));
            }
        }
        Registry {
            inner: Mutex::new(inner),
            max_clients,
            hide_users,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// Logs `name` in for connection `id`. The name must already be valid.
    /// Checks in-use before capacity, like the course's server.
    pub(super) fn login(&self, name: &[u8], id: u64, outbox: Arc<Outbox>) -> Result<(), Refusal> {
        let mut inner = self.lock();
        if inner.by_name.contains_key(name) {
            return Err(Refusal::InUse);
        }
        if inner.users >= self.max_clients {
            return Err(Refusal::Busy);
        }
        inner.users += 1;
        inner.insert(name, Target::User { id, outbox });
        Ok(())
    }

    /// Logs `name` out if connection `id` still owns it. Returns whether it did.
    pub(super) fn logout(&self, name: &[u8], id: u64) -> bool {
        let mut inner = self.lock();
        let seq = match inner.by_name.get(name) {
            Some(Entry {
                seq,
                target: Target::User { id: owner, .. },
            }) if *owner == id => *seq,
            _ => return false,
        };
        inner.by_name.remove(name);
        inner.order.remove(&seq);
        inner.users -= 1;
        true
    }

    /// Where messages for `name` go, if anyone has that name.
    pub(super) fn lookup(&self, name: &[u8]) -> Option<Target> {
        self.lock().by_name.get(name).map(|e| e.target.clone())
    }

    /// The names for `LIST-OK`, in login order (bots first). In privacy mode only
    /// the bots.
    pub(super) fn list(&self) -> Vec<Vec<u8>> {
        let inner = self.lock();
        if self.hide_users {
            inner
                .order
                .values()
                .filter(|name| {
                    matches!(
                        inner.by_name.get(name.as_slice()),
                        Some(Entry {
                            target: Target::Bot(_),
                            ..
                        })
                    )
                })
                .cloned()
                .collect()
        } else {
            inner.order.values().cloned().collect()
        }
    }

    /// Logged-in users, bots not counted.
    pub(super) fn user_count(&self) -> usize {
        self.lock().users
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox() -> Arc<Outbox> {
        Arc::new(Outbox::new(1000))
    }

    #[test]
    fn list_is_in_login_order_with_bots_first() {
        let r = Registry::new(10, false, true);
        r.login(b"zed", 1, outbox()).unwrap();
        r.login(b"alice", 2, outbox()).unwrap();
        assert_eq!(
            r.list(),
            vec![
                b"echobot".to_vec(),
                b"delaybot".to_vec(),
                b"zed".to_vec(),
                b"alice".to_vec()
            ]
        );
        assert!(r.logout(b"zed", 1));
        r.login(b"zed", 3, outbox()).unwrap();
        assert_eq!(r.list()[2..], [b"alice".to_vec(), b"zed".to_vec()]);
    }

    #[test]
    fn in_use_is_checked_before_capacity_and_bots_do_not_count() {
        let r = Registry::new(1, false, true);
        assert_eq!(r.login(b"echobot", 1, outbox()), Err(Refusal::InUse));
        r.login(b"a", 2, outbox()).unwrap();
        assert_eq!(r.login(b"a", 3, outbox()), Err(Refusal::InUse));
        assert_eq!(r.login(b"b", 4, outbox()), Err(Refusal::Busy));
        assert_eq!(r.user_count(), 1);
    }

    #[test]
    fn logout_only_by_the_owner_and_never_of_a_bot() {
        let r = Registry::new(5, false, true);
        r.login(b"a", 1, outbox()).unwrap();
        assert!(!r.logout(b"a", 2));
        assert!(!r.logout(b"echobot", 1));
        assert!(r.logout(b"a", 1));
        assert!(!r.logout(b"a", 1));
        assert!(r.lookup(b"a").is_none());
        assert_eq!(r.user_count(), 0);
    }

    #[test]
    fn hidden_users_are_not_listed() {
        let r = Registry::new(5, true, true);
        r.login(b"a", 1, outbox()).unwrap();
        assert_eq!(r.list(), vec![b"echobot".to_vec(), b"delaybot".to_vec()]);
        let r = Registry::new(5, false, false);
        r.login(b"a", 1, outbox()).unwrap();
        assert_eq!(r.list(), vec![b"a".to_vec()]);
    }
}
