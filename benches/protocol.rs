//! Micro-benchmarks of the sans-IO protocol core: line framing and message
//! parsing and encoding, the client's receive path, and the ordering of
//! names for completion. Run with `cargo bench --bench protocol`.
//!
//! These measure CPU work only (no sockets); the end-to-end figures are in
//! `benches/e2e/`.

use std::hint::black_box;
use std::time::Duration;

use chat::client::{render, Session};
use chat::protocol::{ClientMessage, Frame, LineFramer, ServerMessage};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use testkit::{delivery_lines, BODY64};

/// Feeds `data` in chunks of `chunk` bytes and drains every frame; returns the
/// number of lines and their total length (so nothing is optimised away).
fn frame_all(data: &[u8], chunk: usize) -> (usize, usize) {
    let mut framer = LineFramer::new();
    let (mut lines, mut bytes) = (0, 0);
    for piece in data.chunks(chunk) {
        framer.push(piece);
        while let Some(frame) = framer.next_frame() {
            if let Frame::Line(line) = frame {
                lines += 1;
                bytes += line.len();
            }
        }
    }
    (lines, bytes)
}

fn framing(c: &mut Criterion) {
    let mut group = c.benchmark_group("LineFramer");

    // Many small lines, read in 64 KiB chunks (the client's read size).
    let small = delivery_lines(10_000);
    group.throughput(Throughput::Bytes(small.len() as u64));
    group.bench_function("10k small lines, 64 KiB chunks", |b| {
        b.iter(|| frame_all(black_box(&small), 64 * 1024))
    });

    // Many small lines, read 8 KiB at a time (the server's read size).
    group.bench_function("10k small lines, 8 KiB chunks", |b| {
        b.iter(|| frame_all(black_box(&small), 8 * 1024))
    });

    // The worst case for chunking: every byte in its own push.
    let tiny = delivery_lines(200);
    group.throughput(Throughput::Bytes(tiny.len() as u64));
    group.bench_function("200 small lines, 1-byte chunks", |b| {
        b.iter(|| frame_all(black_box(&tiny), 1))
    });

    // One huge line (16 MiB), read in 64 KiB chunks: must stay linear and
    // hand the buffer out without copying it.
    let mut huge = b"DELIVERY bob ".to_vec();
    huge.resize(16 << 20, b'x');
    huge.push(b'\n');
    group.throughput(Throughput::Bytes(huge.len() as u64));
    group.sample_size(20);
    group.bench_function("one 16 MiB line, 64 KiB chunks", |b| {
        b.iter(|| frame_all(black_box(&huge), 64 * 1024))
    });

    // The same huge line with a maximum line length: skipped, never stored.
    group.bench_function("one 16 MiB line over a 1 MiB limit", |b| {
        b.iter(|| {
            let mut framer = LineFramer::with_max_line(1 << 20);
            let mut too_long = 0;
            for piece in huge.chunks(64 * 1024) {
                framer.push(piece);
                while let Some(frame) = framer.next_frame() {
                    if frame == Frame::TooLong {
                        too_long += 1;
                    }
                }
            }
            too_long
        })
    });
    group.finish();
}

fn server_messages(c: &mut Criterion) {
    let mut group = c.benchmark_group("ServerMessage");
    let delivery: Vec<u8> = [b"DELIVERY bob ".as_slice(), BODY64].concat();
    let list: Vec<u8> = {
        let names: Vec<String> = (0..100).map(|i| format!("user{i}")).collect();
        format!("LIST-OK {}", names.join(",")).into_bytes()
    };

    group.throughput(Throughput::Elements(1));
    group.bench_function("parse DELIVERY 64 B", |b| {
        b.iter(|| ServerMessage::parse(black_box(&delivery)))
    });
    group.bench_function("parse SEND-OK", |b| {
        b.iter(|| ServerMessage::parse(black_box(b"SEND-OK")))
    });
    group.bench_function("parse LIST-OK 100 names", |b| {
        b.iter(|| ServerMessage::parse(black_box(&list)))
    });

    let message = ServerMessage::Delivery {
        from: b"bob",
        body: BODY64,
    };
    let mut out = Vec::with_capacity(128);
    group.bench_function("encode DELIVERY 64 B", |b| {
        b.iter(|| {
            out.clear();
            black_box(&message).encode(&mut out);
            out.len()
        })
    });

    // A 1 MiB DELIVERY: parsing borrows the body, so the time is that of
    // finding two spaces, whatever the size.
    let mut big = b"DELIVERY bob ".to_vec();
    big.resize(1 << 20, b'y');
    group.throughput(Throughput::Bytes(big.len() as u64));
    group.bench_function("parse DELIVERY 1 MiB", |b| {
        b.iter(|| ServerMessage::parse(black_box(&big)))
    });
    group.finish();
}

fn client_messages(c: &mut Criterion) {
    let mut group = c.benchmark_group("ClientMessage");
    let send: Vec<u8> = [b"SEND alice ".as_slice(), BODY64].concat();
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse SEND 64 B", |b| {
        b.iter(|| ClientMessage::parse(black_box(&send)))
    });
    group.bench_function("parse HELLO-FROM", |b| {
        b.iter(|| ClientMessage::parse(black_box(b"HELLO-FROM alice")))
    });
    group.bench_function("parse LIST", |b| {
        b.iter(|| ClientMessage::parse(black_box(b"LIST")))
    });
    let message = ClientMessage::Send {
        to: b"alice",
        body: BODY64,
    };
    let mut out = Vec::with_capacity(128);
    group.bench_function("encode SEND 64 B", |b| {
        b.iter(|| {
            out.clear();
            black_box(&message).encode(&mut out);
            out.len()
        })
    });
    group.finish();
}

/// The client's whole receive path without the sockets: framing, parsing,
/// the session, rendering and the plain output batch, as in the flood
/// scenario of `benches/e2e/`. Returns the bytes that would be written.
fn client_receive(data: &[u8], chunk: usize) -> usize {
    let mut framer = LineFramer::new();
    let mut session = Session::new("me");
    let mut out = Vec::with_capacity(2 * chunk);
    let mut written = 0;
    for piece in data.chunks(chunk) {
        framer.push(piece);
        for frame in framer.frames() {
            if let Frame::Line(line) = frame {
                if let Some(event) = session.receive(ServerMessage::parse(line)) {
                    render(event, |line| line.append_plain(&mut out));
                }
            }
        }
        written += out.len();
        out.clear();
    }
    written
}

fn client_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("client receive path");
    let stream = delivery_lines(10_000);
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("10k DELIVERY 64 B, 64 KiB chunks", |b| {
        b.iter(|| client_receive(black_box(&stream), 64 * 1024))
    });
    group.finish();
}

/// Ordering the names for rich mode's Tab, which happens each time a new
/// person writes: with 40,000 users online, it must stay a small share of
/// the 20 ms between two messages from new senders.
fn completion_names(c: &mut Criterion) {
    let mut group = c.benchmark_group("client completion names");
    let mut session = Session::new("me");
    let names: Vec<String> = (0..40_000).map(|i| format!("user{i}")).collect();
    session.receive(ServerMessage::ListOk(
        names.iter().map(|name| name.as_bytes()).collect(),
    ));
    // A last writer and a full list of people talked with.
    for name in names.iter().step_by(1000) {
        session.receive(ServerMessage::Delivery {
            from: name.as_bytes(),
            body: b"hi",
        });
    }
    group.throughput(Throughput::Elements(names.len() as u64));
    group.bench_function("names_by_recency, 40,000 users", |b| {
        b.iter(|| black_box(&session).names_by_recency().len())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = framing, server_messages, client_messages, client_path, completion_names
}
criterion_main!(benches);
