//! Tests of [`super`].

use super::*;
use crate::client::command::Dialect;
use std::cell::Cell;

thread_local! {
    /// How many names `names_by_recency` compared, in this thread.
    pub(super) static COMPARED: Cell<usize> = const { Cell::new(0) };
}

fn typed<'a>(s: &mut Session, line: &'a str) -> Action<'a> {
    s.command(Command::parse(line, Dialect::Rich))
}

fn sent(to: &str, body: &str) -> Action<'static> {
    Action::Send(
        ClientMessage::Send {
            to: to.as_bytes(),
            body: body.as_bytes(),
        }
        .to_bytes(),
    )
}

fn from(name: &'static str) -> ServerMessage<'static> {
    ServerMessage::Delivery {
        from: name.as_bytes(),
        body: b"x",
    }
}

#[test]
fn send_becomes_a_request_and_its_reply_an_event() {
    let mut s = Session::new("me");
    assert_eq!(typed(&mut s, "@bob hi"), sent("bob", "hi"));
    assert!(s.awaits_replies());
    assert_eq!(s.receive(ServerMessage::SendOk), Some(Event::Sent));
    assert!(!s.awaits_replies());
    // A reply to nothing is not believed.
    assert_eq!(
        s.receive(ServerMessage::BadDestUser),
        Some(Event::Unexpected)
    );
    typed(&mut s, "@nobody hi");
    assert_eq!(
        s.receive(ServerMessage::BadDestUser),
        Some(Event::NoSuchUser)
    );
}

#[test]
fn who_is_shown_and_silent_list_is_not() {
    let mut s = Session::new("me");
    assert_eq!(s.silent_list(), ClientMessage::List);
    assert_eq!(
        s.command(Command::Who),
        Action::Send(ClientMessage::List.to_bytes())
    );
    let list = ServerMessage::ListOk(vec![&b"echobot"[..], &b"me"[..]]);
    assert_eq!(s.receive(list.clone()), None, "the silent reply is hidden");
    assert_eq!(
        s.receive(list),
        Some(Event::Users(vec![&b"echobot"[..], &b"me"[..]])),
        "the reply to !who is shown once"
    );
    assert_eq!(s.lists_answered(), 2);
}

#[test]
fn an_error_answering_a_silent_list_is_shown_and_answers_it() {
    let mut s = Session::new("me");
    s.silent_list();
    assert_eq!(
        s.receive(ServerMessage::BadRequestHeader),
        Some(Event::BadHeader)
    );
    assert!(s.lists_refused(), "no more silent lists on this connection");
    typed(&mut s, "@bob x");
    assert_eq!(s.receive(ServerMessage::SendOk), Some(Event::Sent));
    assert!(!s.awaits_replies());
    s.restart("me");
    assert!(
        !s.lists_refused(),
        "a new connection may be to another server"
    );
    // An error answering a request of the user's is not a refused list.
    typed(&mut s, "!who");
    s.receive(ServerMessage::BadRequestHeader);
    assert!(!s.lists_refused());
}

#[test]
fn a_silent_list_the_server_passes_over_hides_no_reply() {
    let mut s = Session::new("me");
    s.silent_list();
    typed(&mut s, "@nobody hi");
    typed(&mut s, "@bob hi");
    // The server answers the messages only.
    assert_eq!(
        s.receive(ServerMessage::BadDestUser),
        Some(Event::NoSuchUser)
    );
    assert!(s.lists_refused(), "no more silent lists on this connection");
    assert_eq!(s.receive(ServerMessage::SendOk), Some(Event::Sent));
    assert!(!s.awaits_replies());
    // A list the server does answer is still hidden.
    s.restart("me");
    s.silent_list();
    typed(&mut s, "@bob hi");
    assert_eq!(s.receive(ServerMessage::ListOk(vec![&b"me"[..]])), None);
    assert_eq!(s.receive(ServerMessage::SendOk), Some(Event::Sent));
}

#[test]
fn error_replies_are_shown_whenever_they_come() {
    let mut s = Session::new("me");
    // With nothing asked.
    assert_eq!(
        s.receive(ServerMessage::BadRequestHeader),
        Some(Event::BadHeader)
    );
    assert_eq!(
        s.receive(ServerMessage::BadRequestBody),
        Some(Event::BadBody)
    );
    // After a list, and between deliveries.
    typed(&mut s, "!who");
    assert!(matches!(
        s.receive(ServerMessage::ListOk(vec![&b"me"[..]])),
        Some(Event::Users(_))
    ));
    assert_eq!(
        s.receive(ServerMessage::BadRequestBody),
        Some(Event::BadBody)
    );
    assert!(matches!(
        s.receive(from("bob")),
        Some(Event::Message { .. })
    ));
    assert_eq!(
        s.receive(ServerMessage::BadRequestHeader),
        Some(Event::BadHeader)
    );
    assert!(matches!(
        s.receive(from("bob")),
        Some(Event::Message { .. })
    ));
    assert!(!s.awaits_replies());
    // Other replies to nothing are still not believed.
    assert_eq!(s.receive(ServerMessage::SendOk), Some(Event::Unexpected));
}

#[test]
fn an_error_answers_the_oldest_request_but_not_a_notice_waiting_in_line() {
    let mut s = Session::new("me");
    typed(&mut s, "@bob 1");
    assert_eq!(typed(&mut s, "hello"), Action::Nothing, "the hint waits");
    assert_eq!(
        s.receive(ServerMessage::BadRequestBody),
        Some(Event::BadBody)
    );
    assert_eq!(s.next_notice(), Some(Event::Hint));
    assert_eq!(
        s.receive(ServerMessage::BadRequestHeader),
        Some(Event::BadHeader)
    );
    assert!(!s.awaits_replies());
}

#[test]
fn silent_requests_are_not_awaited() {
    let mut s = Session::new("me");
    s.silent_list();
    assert!(!s.awaits_replies(), "nobody waits for a silent list");
    assert_eq!(typed(&mut s, "!help"), Action::Show(Event::Help));
    typed(&mut s, "@bob hi");
    assert!(s.awaits_replies());
    assert_eq!(s.receive(ServerMessage::ListOk(vec![])), None);
    assert!(s.awaits_replies());
    assert_eq!(s.receive(ServerMessage::SendOk), Some(Event::Sent));
    assert!(!s.awaits_replies());
    s.silent_list();
    s.restart("me");
    s.silent_list();
    assert!(!s.awaits_replies());
}

#[test]
fn a_message_with_an_empty_sender_is_from_nobody_to_answer() {
    let mut s = Session::new("me");
    let before = s.names_version();
    assert_eq!(
        s.receive(ServerMessage::Delivery {
            from: b"",
            body: b"bob: hi"
        }),
        Some(Event::NoSender { body: b"bob: hi" })
    );
    assert_eq!(s.names_version(), before);
    assert_eq!(typed(&mut s, "!r hi"), Action::Show(Event::NobodyToAnswer));
}

#[test]
fn replies_are_matched_in_order() {
    let mut s = Session::new("me");
    typed(&mut s, "@bob 1");
    s.silent_list();
    typed(&mut s, "@bob 2");
    assert_eq!(s.receive(ServerMessage::SendOk), Some(Event::Sent));
    assert_eq!(s.receive(ServerMessage::ListOk(vec![])), None);
    assert_eq!(
        s.receive(ServerMessage::BadRequestBody),
        Some(Event::BadBody)
    );
}

#[test]
fn deliveries_are_not_replies() {
    let mut s = Session::new("me");
    s.silent_list();
    assert!(matches!(
        s.receive(from("bob")),
        Some(Event::Message { .. })
    ));
    assert_eq!(s.receive(ServerMessage::ListOk(vec![])), None);
}

#[test]
fn handshake_replies_and_unknown_headers_after_login_are_unexpected() {
    let mut s = Session::new("me");
    for m in [
        ServerMessage::Hello(b"x"),
        ServerMessage::InUse,
        ServerMessage::Busy,
        ServerMessage::Unknown(b"WHAT"),
    ] {
        assert_eq!(s.receive(m), Some(Event::Unexpected));
    }
}

#[test]
fn blank_lines_are_ignored_and_answer_nothing() {
    let mut s = Session::new("me");
    typed(&mut s, "@bob hi");
    for blank in [&b""[..], b" ", b"\t  \t"] {
        assert_eq!(s.receive(ServerMessage::parse(blank)), None, "{blank:?}");
    }
    assert!(s.awaits_replies(), "a blank line is no reply");
    assert_eq!(s.receive(ServerMessage::SendOk), Some(Event::Sent));
    // Text after spaces is no blank line.
    assert_eq!(
        s.receive(ServerMessage::parse(b" x")),
        Some(Event::Unexpected)
    );
}

#[test]
fn names_come_from_lists_senders_and_recipients() {
    let mut s = Session::new("me");
    let v0 = s.names_version();
    s.receive(from("carol"));
    typed(&mut s, "@dave hi");
    assert_eq!(s.names().collect::<Vec<_>>(), ["carol", "dave", "me"]);
    assert!(s.names_version() > v0);
    s.silent_list();
    s.receive(ServerMessage::ListOk(vec![
        &b"echobot"[..],
        &b"bad\x1bname"[..],
        &b"me"[..],
    ]));
    assert_eq!(s.names().collect::<Vec<_>>(), ["echobot", "me"]);
}

#[test]
fn a_sender_dropped_by_a_list_is_learned_again_on_its_next_message() {
    let mut s = Session::new("me");
    s.receive(from("bob"));
    s.receive(from("bob"));
    assert_eq!(s.names().collect::<Vec<_>>(), ["bob", "me"]);
    s.silent_list();
    s.receive(ServerMessage::ListOk(vec![&b"me"[..]]));
    assert_eq!(s.names().collect::<Vec<_>>(), ["me"]);
    s.receive(from("bob"));
    assert_eq!(s.names().collect::<Vec<_>>(), ["bob", "me"]);
}

#[test]
fn invalid_and_empty_lines() {
    let mut s = Session::new("me");
    assert_eq!(s.command(Command::Invalid), Action::Show(Event::Hint));
    assert_eq!(s.command(Command::Empty), Action::Nothing);
    assert_eq!(s.command(Command::Quit), Action::Quit);
    assert_eq!(s.command(Command::Help), Action::Show(Event::Help));
}

#[test]
fn a_conversation_takes_plain_lines_until_it_is_left() {
    let mut s = Session::new("me");
    assert_eq!(typed(&mut s, "hello"), Action::Show(Event::Hint));
    assert_eq!(
        typed(&mut s, "@bob"),
        Action::Show(Event::Conversation(Some("bob".into())))
    );
    assert_eq!(s.conversation(), Some("bob"));
    assert_eq!(typed(&mut s, "hello"), sent("bob", "hello"));
    // A message to someone else leaves the conversation where it was.
    assert_eq!(typed(&mut s, "@carol hi"), sent("carol", "hi"));
    assert_eq!(typed(&mut s, "again"), sent("bob", "again"));
    for _ in 0..3 {
        s.receive(ServerMessage::SendOk);
    }
    assert_eq!(
        typed(&mut s, "!to carol"),
        Action::Show(Event::Conversation(Some("carol".into())))
    );
    assert_eq!(typed(&mut s, "x"), sent("carol", "x"));
    s.receive(ServerMessage::SendOk);
    assert_eq!(typed(&mut s, "@"), Action::Show(Event::Conversation(None)));
    assert_eq!(typed(&mut s, "hello"), Action::Show(Event::Hint));
    typed(&mut s, "!to bob");
    assert_eq!(
        typed(&mut s, "!to"),
        Action::Show(Event::Conversation(None))
    );
    assert_eq!(s.conversation(), None);
}

#[test]
fn reply_answers_whoever_wrote_last() {
    let mut s = Session::new("me");
    assert_eq!(typed(&mut s, "!r hi"), Action::Show(Event::NobodyToAnswer));
    s.receive(from("bob"));
    s.receive(from("carol"));
    assert_eq!(typed(&mut s, "!r thanks"), sent("carol", "thanks"));
    s.receive(from("bob"));
    assert_eq!(typed(&mut s, "!reply ok"), sent("bob", "ok"));
    s.receive(ServerMessage::SendOk);
    s.receive(ServerMessage::SendOk);
    // Alone: a conversation with them.
    assert_eq!(
        typed(&mut s, "!r"),
        Action::Show(Event::Conversation(Some("bob".into())))
    );
}

#[test]
fn what_needs_no_request_waits_for_the_replies_owed_before_it() {
    let mut s = Session::new("me");
    typed(&mut s, "@bob 1");
    typed(&mut s, "!who");
    assert_eq!(typed(&mut s, "hello"), Action::Nothing, "the hint waits");
    typed(&mut s, "@bob 2");
    assert_eq!(s.next_notice(), None, "not before the replies");
    assert_eq!(s.receive(ServerMessage::SendOk), Some(Event::Sent));
    assert_eq!(s.next_notice(), None);
    assert!(matches!(
        s.receive(ServerMessage::ListOk(vec![])),
        Some(Event::Users(_))
    ));
    assert_eq!(s.next_notice(), Some(Event::Hint), "now, in its place");
    assert_eq!(s.next_notice(), None);
    assert!(s.awaits_replies(), "the second send");
    assert_eq!(s.receive(ServerMessage::SendOk), Some(Event::Sent));
    assert!(!s.awaits_replies());
    assert_eq!(
        typed(&mut s, "hello"),
        Action::Show(Event::Hint),
        "nothing owed"
    );
}

#[test]
fn completion_order_is_last_writer_then_recent_then_the_rest_and_me_last() {
    let mut s = Session::new("me");
    s.silent_list();
    s.receive(ServerMessage::ListOk(vec![
        &b"echobot"[..],
        &b"zed"[..],
        &b"me"[..],
        &b"amy"[..],
        &b"bob"[..],
    ]));
    assert_eq!(s.names_by_recency(), ["amy", "bob", "echobot", "zed", "me"]);
    typed(&mut s, "@zed hi");
    assert_eq!(s.names_by_recency(), ["zed", "amy", "bob", "echobot", "me"]);
    let before = s.names_version();
    s.receive(from("bob"));
    assert!(s.names_version() > before, "the order changed");
    assert_eq!(s.names_by_recency(), ["bob", "zed", "amy", "echobot", "me"]);
    // Writing to someone else keeps the last writer first.
    typed(&mut s, "@amy yo");
    assert_eq!(s.names_by_recency(), ["bob", "amy", "zed", "echobot", "me"]);
}

#[test]
fn a_restart_forgets_replies_owed_but_keeps_the_conversation() {
    let mut s = Session::new("me");
    typed(&mut s, "@bob");
    typed(&mut s, "hi");
    assert!(s.awaits_replies());
    s.restart("me");
    assert!(!s.awaits_replies());
    assert_eq!(s.conversation(), Some("bob"));
    s.restart("me2");
    assert_eq!(s.me(), "me2");
    assert_eq!(s.names_by_recency().last(), Some(&"me2"));
}

#[test]
fn ordering_many_names_for_completion_takes_work_in_proportion_to_them() {
    let mut s = Session::new("me");
    let names: Vec<String> = (0..20_000).map(|i| format!("user{i:05}")).collect();
    s.silent_list();
    let listed = names.iter().map(|name| name.as_bytes());
    s.receive(ServerMessage::ListOk(listed.chain([&b"me"[..]]).collect()));
    // The most people talked with that are remembered, and a last writer.
    for i in (0..RECENT + 5).rev() {
        s.receive(ServerMessage::Delivery {
            from: names[i * 7].as_bytes(),
            body: b"x",
        });
    }
    COMPARED.with(|compared| compared.set(0));
    let ordered = s.names_by_recency();
    let compared = COMPARED.with(Cell::get);

    // Whoever wrote last, then the others most recent first, then everyone
    // else in order, and me last: each name once.
    let recent: Vec<&str> = (0..RECENT).map(|i| names[i * 7].as_str()).collect();
    assert_eq!(ordered[..RECENT], recent[..]);
    let rest: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|name| !recent.contains(name))
        .collect();
    assert_eq!(ordered[RECENT..ordered.len() - 1], rest[..]);
    assert_eq!(ordered.last(), Some(&"me"));
    assert_eq!(ordered.len(), names.len() + 1);
    // At most the remembered people compared with each name.
    assert!(
        compared <= (RECENT + 1) * (names.len() + RECENT + 1),
        "{compared} comparisons for {} names",
        names.len()
    );
}
