//! The router: who is logged in, in login order.
//!
//! One `Mutex` guards everything; every method holds it only for a few map
//! operations and never across an `.await`.

use super::bots::Bot;
use super::lock;
use super::outbox::Outbox;
use crate::protocol::ServerMessage;
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
    /// The user has stopped sending and its connection is finishing: its name
    /// is still taken, but it is neither listed nor found.
    leaving: bool,
}

#[derive(Debug, Default)]
struct Inner {
    next_seq: u64,
    /// Login order: sequence number -> name (the same allocation as the
    /// key in `by_name`).
    order: BTreeMap<u64, Arc<[u8]>>,
    by_name: HashMap<Arc<[u8]>, Entry>,
    /// How many of the names are bots'.
    bots: usize,
}

impl Inner {
    fn insert(&mut self, name: &[u8], target: Target) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let name: Arc<[u8]> = Arc::from(name);
        self.order.insert(seq, Arc::clone(&name));
        let entry = Entry {
            seq,
            target,
            leaving: false,
        };
        self.by_name.insert(name, entry);
    }

    /// Logged-in users (leaving ones included), bots not counted.
    fn users(&self) -> usize {
        self.by_name.len() - self.bots
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
            inner.bots = Bot::ALL.len();
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
        if inner.users() >= self.max_clients {
            return Err(Refusal::Busy);
        }
        inner.insert(name, Target::User { id, outbox });
        Ok(())
    }

    /// The entry of `name` if it is connection `id`'s.
    fn owned<'a>(inner: &'a mut Inner, name: &[u8], id: u64) -> Option<&'a mut Entry> {
        inner
            .by_name
            .get_mut(name)
            .filter(|entry| matches!(entry.target, Target::User { id: owner, .. } if owner == id))
    }

    /// Logs `name` out if connection `id` still owns it. Returns whether it did.
    pub(super) fn logout(&self, name: &[u8], id: u64) -> bool {
        let mut inner = self.lock();
        let Some(&mut Entry { seq, .. }) = Self::owned(&mut inner, name, id) else {
            return false;
        };
        inner.by_name.remove(name);
        inner.order.remove(&seq);
        true
    }

    /// Marks `name` as leaving (if connection `id` still owns it): from now
    /// on it is not listed and nobody can send to it, but the name stays
    /// taken, and counted, until [`logout`](Self::logout).
    pub(super) fn leave(&self, name: &[u8], id: u64) {
        let mut inner = self.lock();
        if let Some(entry) = Self::owned(&mut inner, name, id) {
            entry.leaving = true;
            let seq = entry.seq;
            inner.order.remove(&seq);
        }
    }

    /// Where messages for `name` go, if anyone has that name.
    pub(super) fn lookup(&self, name: &[u8]) -> Option<Target> {
        let inner = self.lock();
        let entry = inner.by_name.get(name)?;
        (!entry.leaving).then(|| entry.target.clone())
    }

    /// Appends the `LIST-OK` line: the names in login order (bots first), or
    /// in privacy mode only the bots.
    pub(super) fn encode_list(&self, out: &mut Vec<u8>) {
        let inner = self.lock();
        let is_bot = |name: &[u8]| {
            matches!(
                inner.by_name.get(name),
                Some(Entry {
                    target: Target::Bot(_),
                    ..
                })
            )
        };
        let names = inner
            .order
            .values()
            .map(|name| &**name)
            .filter(|name| !self.hide_users || is_bot(name))
            .collect();
        ServerMessage::ListOk(names).encode(out);
    }

    /// The outboxes of the users logged in (not leaving), with their names.
    pub(super) fn users(&self) -> Vec<(Vec<u8>, Arc<Outbox>)> {
        let inner = self.lock();
        inner
            .by_name
            .iter()
            .filter_map(|(name, entry)| match &entry.target {
                Target::User { outbox, .. } if !entry.leaving => {
                    Some((name.to_vec(), Arc::clone(outbox)))
                }
                _ => None,
            })
            .collect()
    }

    /// Logged-in users, bots not counted.
    pub(super) fn user_count(&self) -> usize {
        self.lock().users()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox() -> Arc<Outbox> {
        Arc::new(Outbox::new(1000, std::time::Duration::from_secs(1)))
    }

    /// The names `LIST-OK` gives.
    fn list(r: &Registry) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        r.encode_list(&mut out);
        let line = out.strip_suffix(b"\n").unwrap();
        match ServerMessage::parse(line) {
            ServerMessage::ListOk(names) => names.into_iter().map(<[u8]>::to_vec).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn list_is_in_login_order_with_bots_first() {
        let r = Registry::new(10, false, true);
        r.login(b"zed", 1, outbox()).unwrap();
        r.login(b"alice", 2, outbox()).unwrap();
        assert_eq!(
            list(&r),
            vec![
                b"echobot".to_vec(),
                b"delaybot".to_vec(),
                b"zed".to_vec(),
                b"alice".to_vec()
            ]
        );
        assert!(r.logout(b"zed", 1));
        r.login(b"zed", 3, outbox()).unwrap();
        assert_eq!(list(&r)[2..], [b"alice".to_vec(), b"zed".to_vec()]);
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
    fn a_leaving_user_is_neither_listed_nor_found_but_keeps_its_name() {
        let r = Registry::new(5, false, false);
        r.login(b"a", 1, outbox()).unwrap();
        r.login(b"b", 2, outbox()).unwrap();
        r.leave(b"a", 2);
        assert!(r.lookup(b"a").is_some(), "only its own connection leaves");
        r.leave(b"a", 1);
        assert!(r.lookup(b"a").is_none());
        assert_eq!(list(&r), vec![b"b".to_vec()]);
        assert_eq!(r.users().len(), 1);
        assert_eq!(r.login(b"a", 3, outbox()), Err(Refusal::InUse));
        assert_eq!(r.user_count(), 2);
        assert!(r.logout(b"a", 1));
        assert_eq!(r.user_count(), 1);
        r.login(b"a", 3, outbox()).unwrap();
    }

    #[test]
    fn hidden_users_are_not_listed() {
        let r = Registry::new(5, true, true);
        r.login(b"a", 1, outbox()).unwrap();
        assert_eq!(list(&r), vec![b"echobot".to_vec(), b"delaybot".to_vec()]);
        let r = Registry::new(5, false, false);
        r.login(b"a", 1, outbox()).unwrap();
        assert_eq!(list(&r), vec![b"a".to_vec()]);
    }
}
