//! Tests of [`super`].

use super::*;
use proptest::prelude::*;

/// Frames that own their bytes, to compare with.
type Got = OwnedFrame;

fn drain(framer: &mut LineFramer) -> Vec<Got> {
    framer.frames().map(Got::from).collect()
}

fn next(framer: &mut LineFramer) -> Option<Got> {
    framer.next_frame().map(Got::from)
}

fn line(s: &str) -> Got {
    Got::Line(s.as_bytes().to_vec())
}

#[test]
fn whole_lines_in_one_chunk() {
    let mut f = LineFramer::new();
    f.push(b"SEND-OK\nLIST-OK a,b\n");
    assert_eq!(drain(&mut f), vec![line("SEND-OK"), line("LIST-OK a,b")]);
    assert!(!f.has_partial_line());
}

#[test]
fn lines_are_the_frames_without_those_too_long() {
    let mut f = LineFramer::new();
    f.push(b"one\ntwo\r\nthree");
    assert_eq!(f.lines().collect::<Vec<_>>(), [&b"one"[..], b"two"]);
    let mut f = LineFramer::with_max_line(3);
    f.push(b"one\nlonger\ntwo\n");
    assert_eq!(f.lines().collect::<Vec<_>>(), [&b"one"[..], b"two"]);
}

#[test]
fn partial_line_is_held_back_until_newline() {
    let mut f = LineFramer::new();
    f.push(b"DELIVERY bob hel");
    assert_eq!(next(&mut f), None);
    assert!(f.has_partial_line());
    f.push(b"lo");
    assert_eq!(next(&mut f), None);
    f.push(b"\nBUS");
    assert_eq!(drain(&mut f), vec![line("DELIVERY bob hello")]);
    assert_eq!(f.pending(), 3);
}

#[test]
fn trailing_carriage_return_is_dropped_but_inner_one_kept() {
    let mut f = LineFramer::new();
    f.push(b"HELLO-FROM a\r\nx\ry\n\r\r\n");
    assert_eq!(
        drain(&mut f),
        vec![line("HELLO-FROM a"), line("x\ry"), line("\r")]
    );
}

#[test]
fn empty_lines_are_lines() {
    let mut f = LineFramer::new();
    f.push(b"\n\n");
    assert_eq!(drain(&mut f), vec![line(""), line("")]);
}

#[test]
fn utf8_character_split_across_chunks_is_intact() {
    let text = "DELIVERY bob ü€😀\n".as_bytes();
    let mut f = LineFramer::new();
    for b in text {
        f.push(std::slice::from_ref(b));
    }
    assert_eq!(drain(&mut f), vec![line("DELIVERY bob ü€😀")]);
}

#[test]
fn invalid_utf8_passes_through_as_bytes() {
    let mut f = LineFramer::new();
    f.push(b"\xff\xfe\x00\n");
    assert_eq!(drain(&mut f), vec![Got::Line(vec![0xff, 0xfe, 0x00])]);
}

#[test]
fn huge_line_is_returned_whole() {
    let body = vec![b'x'; 5_000_000];
    let mut f = LineFramer::new();
    for chunk in body.chunks(65536) {
        f.push(chunk);
        assert_eq!(next(&mut f), None);
    }
    f.push(b"\nnext");
    assert_eq!(next(&mut f), Some(Got::Line(body)));
    assert_eq!(f.pending(), 4);
}

#[test]
fn lines_from_one_push_can_be_kept_together() {
    let mut f = LineFramer::new();
    f.push(b"a\nbb\r\nccc");
    let lines: Vec<Frame> = f.frames().collect();
    assert_eq!(lines, [Frame::Line(b"a"), Frame::Line(b"bb")]);
    assert_eq!(f.pending(), 3);
    f.push(b"\n");
    assert_eq!(drain(&mut f), vec![line("ccc")]);
}

#[test]
fn bytes_received_into_the_buffer_are_framed_like_pushed_ones() {
    let mut f = LineFramer::new();
    let room = f.buffer_to_fill(4);
    assert!(room.len() >= 4);
    room[..4].copy_from_slice(b"ab\nc");
    // Written but not filled yet: not part of the stream.
    assert_eq!(next(&mut f), None);
    f.filled(4);
    assert_eq!(next(&mut f), Some(line("ab")));
    assert_eq!(f.pending(), 1);
    f.push(b"d");
    let room = f.buffer_to_fill(100);
    room[..2].copy_from_slice(b"e\n");
    f.filled(2);
    assert_eq!(drain(&mut f), vec![line("cde")]);
    // Claiming more than was lent takes only what was lent.
    let lent = f.buffer_to_fill(1).len();
    f.filled(lent + 10);
    assert_eq!(f.pending(), lent);
}

#[test]
fn memory_of_a_huge_line_is_given_back() {
    let mut f = LineFramer::new();
    f.push(&vec![b'x'; 8 * KEEP_CAPACITY]);
    f.push(b"\nrest");
    assert_eq!(drain(&mut f).len(), 1);
    f.push(b" of a line");
    assert!(f.buf.capacity() <= KEEP_CAPACITY, "{}", f.buf.capacity());
    f.push(&vec![b'y'; 8 * KEEP_CAPACITY]);
    f.push(b"\n");
    assert_eq!(drain(&mut f).len(), 1);
    f.push(b"next");
    assert!(f.buf.capacity() <= KEEP_CAPACITY, "{}", f.buf.capacity());
    f.push(b"\n");
    assert_eq!(drain(&mut f), vec![line("next")]);
}

#[test]
fn line_at_the_maximum_is_accepted() {
    let mut f = LineFramer::with_max_line(5);
    f.push(b"12345\n");
    assert_eq!(drain(&mut f), vec![line("12345")]);
}

#[test]
fn the_carriage_return_of_a_line_at_the_maximum_does_not_count() {
    let mut f = LineFramer::with_max_line(5);
    f.push(b"12345\r");
    assert_eq!(next(&mut f), None, "the newline may still come");
    f.push(b"\n123456\r\n12345\r\r\n");
    assert_eq!(
        drain(&mut f),
        vec![line("12345"), Got::TooLong, Got::TooLong]
    );
    f.push(b"123456x");
    assert_eq!(drain(&mut f), vec![Got::TooLong], "too long already");
}

#[test]
fn too_long_line_in_one_chunk() {
    let mut f = LineFramer::with_max_line(5);
    f.push(b"123456\nok\n");
    assert_eq!(drain(&mut f), vec![Got::TooLong, line("ok")]);
}

#[test]
fn too_long_line_is_reported_once_and_skipped_with_bounded_memory() {
    let mut f = LineFramer::with_max_line(10);
    let mut frames = Vec::new();
    for _ in 0..1000 {
        f.push(&[b'a'; 100]);
        frames.extend(drain(&mut f));
        assert!(f.pending() <= 110, "buffer grew to {}", f.pending());
    }
    assert_eq!(frames, vec![Got::TooLong]);
    f.push(b"aaa\nLIST\n");
    assert_eq!(drain(&mut f), vec![line("LIST")]);
    assert!(!f.has_partial_line());
}

#[test]
fn too_long_line_ending_in_the_next_chunk() {
    let mut f = LineFramer::with_max_line(4);
    f.push(b"abc");
    assert_eq!(next(&mut f), None);
    f.push(b"def\nxy\n");
    assert_eq!(drain(&mut f), vec![Got::TooLong, line("xy")]);
}

#[test]
fn the_maximum_can_change_between_lines() {
    let mut f = LineFramer::with_max_line(4);
    f.push(b"abcd\n123456789\n");
    assert_eq!(next(&mut f), Some(line("abcd")));
    f.set_max_line(Some(100));
    assert_eq!(next(&mut f), Some(line("123456789")));
    f.set_max_line(None);
    f.push(&[b'x'; 1000]);
    assert_eq!(next(&mut f), None);
}

#[test]
fn many_small_lines_in_one_large_chunk() {
    let mut input = Vec::new();
    for i in 0..10_000 {
        input.extend_from_slice(format!("DELIVERY u{i} m\n").as_bytes());
    }
    let mut f = LineFramer::new();
    f.push(&input);
    let frames = drain(&mut f);
    assert_eq!(frames.len(), 10_000);
    assert_eq!(frames[9_999], line("DELIVERY u9999 m"));
}

fn lines_whole(input: &[u8]) -> Vec<Got> {
    let mut f = LineFramer::new();
    f.push(input);
    drain(&mut f)
}

proptest! {
    /// Any split of a byte stream into chunks gives exactly the lines that
    /// feeding it whole gives.
    #[test]
    fn any_split_gives_the_same_lines(
        input in proptest::collection::vec(
            prop_oneof![Just(b'\n'), Just(b'\r'), Just(0xc3u8), Just(0xbcu8), any::<u8>()],
            0..400,
        ),
        cuts in proptest::collection::vec(0usize..400, 0..20),
    ) {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
        cuts.sort_unstable();
        let mut f = LineFramer::new();
        let mut got = Vec::new();
        let mut prev = 0;
        for cut in cuts.into_iter().chain([input.len()]) {
            f.push(&input[prev..cut]);
            got.extend(drain(&mut f));
            prev = cut;
        }
        prop_assert_eq!(got, lines_whole(&input));
    }

    /// With a maximum, splitting never changes which lines are accepted
    /// and which are reported as too long.
    #[test]
    fn any_split_gives_the_same_frames_with_a_maximum(
        input in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'a')], 0..300),
        chunk in 1usize..50,
        max in 0usize..20,
    ) {
        let mut whole = LineFramer::with_max_line(max);
        whole.push(&input);
        let expected = drain(&mut whole);
        let mut f = LineFramer::with_max_line(max);
        let mut got = Vec::new();
        for piece in input.chunks(chunk) {
            f.push(piece);
            got.extend(drain(&mut f));
        }
        // A too-long line without its newline yet is reported as soon as it
        // passes the maximum, which can only be earlier, never different.
        prop_assert_eq!(got, expected);
    }

    /// Every line handed out is exactly a piece of the input between newlines.
    #[test]
    fn lines_match_split_on_newline(input in proptest::collection::vec(any::<u8>(), 0..300)) {
        let expected: Vec<Got> = {
            let mut parts: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
            parts.pop(); // the part after the last newline is not a line yet
            parts.into_iter().map(|p| {
                let p = p.strip_suffix(b"\r").unwrap_or(p);
                Got::Line(p.to_vec())
            }).collect()
        };
        prop_assert_eq!(lines_whole(&input), expected);
    }
}
