//! The floor baseline of the server scenarios: a naive relay, on one thread,
//! with no checks, no limits and no queues. It reads a line; answers
//! `HELLO-FROM` with `HELLO`; answers `SEND` with `SEND-OK` and then writes
//! the `DELIVERY` straight to the recipient's socket; ignores anything else.
//! It is this bench itself, started again with the hidden `--naive-relay`
//! flag, and announces its port as `chat-server` does.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::rc::Rc;

use chat::net::write_fully;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

use testkit::ServerProcess;

/// A socket's write half, written by whichever connection has a line for it.
type Writer = Rc<Mutex<OwnedWriteHalf>>;
/// Who is logged in.
type Users = Rc<RefCell<HashMap<Vec<u8>, Writer>>>;

/// Starts the relay as a child process.
pub fn start() -> io::Result<ServerProcess> {
    let mut command = Command::new(std::env::current_exe()?);
    command.arg("--naive-relay").stderr(Stdio::inherit());
    ServerProcess::spawn(command)
}

/// The relay itself: serves 127.0.0.1 on a free port until killed.
pub fn serve() -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let port = listener.local_addr()?.port();
        println!("Server is on. Now listening on port {port}");
        io::stdout().flush()?;
        let users = Users::default();
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::task::spawn_local(relay(stream, Rc::clone(&users)));
        }
    })
}

/// One connection, until it closes.
async fn relay(stream: TcpStream, users: Users) {
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let me: Writer = Rc::new(Mutex::new(wr));
    let mut rd = BufReader::new(rd);
    let mut line = Vec::new();
    let mut name = Vec::new();
    loop {
        line.clear();
        match rd.read_until(b'\n', &mut line).await {
            Ok(n) if n > 0 => {}
            _ => break,
        }
        let line = line.strip_suffix(b"\n").unwrap_or(&line);
        if let Some(hello) = line.strip_prefix(b"HELLO-FROM ") {
            name = hello.to_vec();
            users.borrow_mut().insert(name.clone(), Rc::clone(&me));
            let reply = [b"HELLO ", hello, b"\n"].concat();
            let _ = write_fully(&mut *me.lock().await, &reply).await;
        } else if let Some(send) = line.strip_prefix(b"SEND ") {
            let (to, body) = match memchr::memchr(b' ', send) {
                Some(i) => (&send[..i], &send[i + 1..]),
                None => (send, &b""[..]),
            };
            let _ = write_fully(&mut *me.lock().await, b"SEND-OK\n").await;
            let recipient = users.borrow().get(to).cloned();
            if let Some(recipient) = recipient {
                let delivery = [b"DELIVERY ", &name[..], b" ", body, b"\n"].concat();
                let _ = write_fully(&mut *recipient.lock().await, &delivery).await;
            }
        }
    }
    users.borrow_mut().remove(&name);
}
