//! A hostile or broken client against a real server: frames that break RFC 6455, input
//! seqs far out of order. Each is answered with the close code the RFC asks for and a
//! reason, counted, and the room and a bystander carry on.

mod common;

use common::{Bystander, Ws, connect, expect_close, hello, input, send, start_server};
use std::time::Duration;
use tickcast_shared::{ClientMsg, PlayerInput};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::MaybeTlsStream;

/// Writes `bytes` straight to the socket under `ws`, bypassing its framing.
async fn write_raw(ws: &mut Ws, bytes: &[u8]) {
    match ws.get_mut() {
        MaybeTlsStream::Plain(stream) => stream.write_all(bytes).await.unwrap(),
        _ => unreachable!("the test server is plain ws"),
    }
}

/// A masked client frame: `first` (FIN, RSV, opcode), then the masked payload.
fn masked_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x11, 0x22, 0x33, 0x44];
    let mut frame = vec![first];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Joins, writes `raw` after the handshake, and expects `code` with `reason` in it;
/// a bystander must still be served and the close counted.
async fn raw_frame_closes_with(raw: &[u8], code: u16, reason: &str) {
    let server = start_server(|_| {}).await;
    let mut bystander = Bystander::join(&server).await;
    let mut ws = connect(&server).await;
    send(&mut ws, &hello()).await;
    write_raw(&mut ws, raw).await;
    let (got_code, got_reason) = expect_close(&mut ws).await;
    assert_eq!(got_code, code, "reason was {got_reason:?}");
    assert!(got_reason.contains(reason), "{got_reason:?} should mention {reason:?}");
    bystander.still_served().await;
    assert_eq!(server.net_stats().closes_with(code), 1, "the close is counted by code");
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_reserved_opcode_closes_with_1002() {
    raw_frame_closes_with(&masked_frame(0x83, &[]), 1002, "invalid opcode").await;
}

#[tokio::test]
async fn reserved_bits_close_with_1002() {
    raw_frame_closes_with(&masked_frame(0x80 | 0x40 | 0x02, &[0x90]), 1002, "reserved bits").await;
}

#[tokio::test]
async fn an_unmasked_client_frame_closes_with_1002() {
    raw_frame_closes_with(&[0x82, 0x01, 0x90], 1002, "unmasked").await;
}

#[tokio::test]
async fn a_control_frame_over_125_bytes_closes_with_1002() {
    raw_frame_closes_with(&masked_frame(0x89, &[0u8; 126]), 1002, "control frame").await;
}

#[tokio::test]
async fn a_fragmented_control_frame_closes_with_1002() {
    // A ping without FIN.
    raw_frame_closes_with(&masked_frame(0x09, b"hi"), 1002, "fragmented").await;
}

#[tokio::test]
async fn invalid_utf8_in_a_close_reason_closes_with_1007() {
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    raw_frame_closes_with(&masked_frame(0x88, &payload), 1007, "utf-8").await;
}

#[tokio::test]
async fn an_input_seq_far_out_of_the_window_closes_with_1008() {
    let server = start_server(|_| {}).await;
    let mut bystander = Bystander::join(&server).await;
    let (mut ws, _) = common::join(&server).await;
    send(&mut ws, &input(5)).await;
    send(&mut ws, &input(6)).await;
    let far = ClientMsg::Input(PlayerInput {
        seq: 6u32.wrapping_add(1 << 31),
        ..PlayerInput::default()
    });
    send(&mut ws, &far).await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("seq"), "{reason}");
    bystander.still_served().await;
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_resend_a_few_seqs_back_is_not_a_violation() {
    let server = start_server(|_| {}).await;
    let (mut ws, _) = common::join(&server).await;
    for seq in [10, 11, 12, 9, 13, 14] {
        send(&mut ws, &input(seq)).await;
    }
    let mut mirror = tickcast_shared::ClientMirror::new();
    // Snapshots keep coming and the acks reach the newest seq: nothing was refused.
    for _ in 0..60 {
        let frame = common::next_snapshot(&mut ws).await;
        mirror.apply_frame(&frame).unwrap();
        if mirror.input_ack() == Some(14) {
            break;
        }
    }
    assert_eq!(mirror.input_ack(), Some(14));
    server.shutdown(Duration::from_secs(2)).await;
}
