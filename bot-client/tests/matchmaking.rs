//! The swarm through matchmaking, against a fake of the contract on 127.0.0.1:0: an axum
//! `POST /matchmake` that seats bots in rooms spread over two fake game nodes (its answers'
//! `ws_url`s point at the nodes, as in a scale-out), and nodes that check `?seat=` (single
//! use) and `?room=` (a resume only) before and after the upgrade. Each bot must matchmake
//! itself, take its seat once, come back to its room after a drop, matchmake again when
//! its room refuses it, and report where it played. Runs are a couple of seconds long.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tickcast_bots::{BotOptions, Matchmaking, SwarmConfig, SwarmReport, Transport, run_swarm_matchmaking};
use tickcast_shared::arena::Transform2;
use tickcast_shared::{
    ClientMsg, ComponentState, Components, EntityState, Fields, HeldEntity, InputAck, NetId, PROTOCOL_VERSION,
    Replicate, ServerMsg, Tick, Welcome, apply, checksum, diff, encode_body,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response as WsResponse};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const TICK_RATE: u16 = 20;
const SNAPSHOT_PERIOD: Duration = Duration::from_millis(100);
/// Rooms the matchmaker fills in turn; room `n` lives on node `n % 2`.
const ROOMS: u32 = 3;

/// How the fake misbehaves.
#[derive(Clone, Copy, Debug, Default)]
struct Behaviour {
    /// Every matchmaking request is refused with this status and reason.
    refuse_matchmaking: Option<(StatusCode, &'static str)>,
    /// This many matchmaking requests (in all) are answered 503 first.
    unavailable: u32,
    /// Seats are refused before the upgrade as already used.
    refuse_seats: bool,
    /// `?room=` connections are closed after their `Hello`, as if the resume had failed.
    refuse_resumes: bool,
}

/// The fake service: the matchmaker's state, shared with the nodes.
#[derive(Default)]
struct Fake {
    behaviour: Behaviour,
    /// The nodes' WebSocket URLs.
    nodes: OnceLock<Vec<String>>,
    /// Issued seat tokens: their room, and whether they were taken.
    seats: Mutex<HashMap<String, (u32, bool)>>,
    /// Request bodies received.
    requests: Mutex<Vec<Value>>,
    /// Seats given.
    seated: AtomicU32,
    /// 503s still to answer.
    unavailable: AtomicU32,
    /// Upgrades with a valid seat, with a room, and with neither.
    seat_connections: AtomicU64,
    room_connections: AtomicU64,
    bare_connections: AtomicU64,
    /// Resume tokens handed out, by the room they belong to.
    resume_tokens: Mutex<HashMap<Vec<u8>, u32>>,
    next_client: AtomicU32,
}

impl Fake {
    fn node_url(&self, room: u32) -> String {
        let nodes = self.nodes.get().expect("nodes started");
        nodes[room as usize % nodes.len()].clone()
    }
}

/// Starts the matchmaker and two nodes; returns the matchmaker's base URL.
async fn start(behaviour: Behaviour) -> (String, Arc<Fake>) {
    let fake = Arc::new(Fake {
        behaviour,
        unavailable: AtomicU32::new(behaviour.unavailable),
        ..Fake::default()
    });
    let mut nodes = Vec::new();
    for node in 0..2 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        nodes.push(format!("ws://{}/ws", listener.local_addr().unwrap()));
        let fake = Arc::clone(&fake);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, node, Arc::clone(&fake)));
            }
        });
    }
    fake.nodes.set(nodes).unwrap();
    let router = axum::Router::new()
        .route("/matchmake", post(matchmake))
        .with_state(Arc::clone(&fake));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, fake)
}

async fn matchmake(State(fake): State<Arc<Fake>>, Json(body): Json<Value>) -> Response {
    fake.requests.lock().unwrap().push(body);
    if let Some((status, reason)) = fake.behaviour.refuse_matchmaking {
        return (status, Json(json!({ "error": reason }))).into_response();
    }
    let unavailable = fake
        .unavailable
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(1));
    if unavailable.is_ok() {
        let headers = [("retry-after", "0")];
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            headers,
            Json(json!({ "error": "node is draining" })),
        )
            .into_response();
    }
    let n = fake.seated.fetch_add(1, Ordering::Relaxed);
    let room = n % ROOMS;
    let token = format!("seat-{n}");
    fake.seats.lock().unwrap().insert(token.clone(), (room, false));
    Json(json!({
        "room_id": format!("arena-{room}"),
        "kind": "arena",
        "ws_url": fake.node_url(room),
        "seat_token": token,
        "expires_in_ms": 15_000,
    }))
    .into_response()
}

/// How a connection came in.
#[derive(Clone, Debug)]
enum Entry {
    Seat(u32),
    Room(u32),
    Bare,
}

fn refusal(status: StatusCode, reason: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(reason.to_owned()));
    *response.status_mut() = status;
    response
}

/// Checks the upgrade request of node `node` as the contract says.
fn admit(fake: &Fake, node: usize, request: &Request) -> Result<Entry, (StatusCode, &'static str)> {
    let query: BTreeMap<String, String> = request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    assert_eq!(request.uri().path(), "/ws");
    if let Some(token) = query.get("seat") {
        let mut seats = fake.seats.lock().unwrap();
        let Some((room, used)) = seats.get_mut(token) else {
            return Err((StatusCode::UNAUTHORIZED, "seat token invalid"));
        };
        if *used || fake.behaviour.refuse_seats {
            return Err((StatusCode::FORBIDDEN, "seat already used"));
        }
        assert_eq!(*room as usize % 2, node, "a seat is taken on its room's node");
        *used = true;
        return Ok(Entry::Seat(*room));
    }
    if let Some(room) = query.get("room") {
        let room = room.strip_prefix("arena-").and_then(|n| n.parse::<u32>().ok());
        return match room {
            Some(room) if room < ROOMS && room as usize % 2 == node => Ok(Entry::Room(room)),
            _ => Err((StatusCode::NOT_FOUND, "room not found")),
        };
    }
    Ok(Entry::Bare)
}

/// The world at snapshot `n`: the client's player, moving along x.
fn world(n: u32) -> Vec<EntityState> {
    let mut components = Components::new();
    components.push(ComponentState {
        kind: Transform2::KIND,
        fields: Fields::from_slice(&[n as i32 * 10, 0, 0]),
    });
    vec![EntityState {
        id: NetId::from_parts(0, 1),
        components,
    }]
}

async fn serve(stream: TcpStream, node: usize, fake: Arc<Fake>) {
    let mut entry = None;
    #[expect(
        clippy::result_large_err,
        reason = "tungstenite's handshake callback returns its ErrorResponse"
    )]
    let callback = |request: &Request, response: WsResponse| match admit(&fake, node, request) {
        Ok(admitted) => {
            entry = Some(admitted);
            Ok(response)
        }
        Err((status, reason)) => Err(refusal(status, reason)),
    };
    let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let entry = entry.expect("admitted");
    let hello = match socket.next().await {
        Some(Ok(Message::Binary(bytes))) => match ClientMsg::decode(&bytes) {
            Ok(ClientMsg::Hello(hello)) => hello,
            other => panic!("not a hello: {other:?}"),
        },
        _ => return,
    };
    assert!(hello.name.starts_with("bot-"));
    let room = match entry {
        Entry::Seat(room) => {
            fake.seat_connections.fetch_add(1, Ordering::Relaxed);
            assert!(hello.resume.is_none(), "a seat takes a new player");
            room
        }
        Entry::Room(room) => {
            fake.room_connections.fetch_add(1, Ordering::Relaxed);
            let token = hello.resume.as_ref().map(|token| token.to_vec());
            let known = token.and_then(|token| fake.resume_tokens.lock().unwrap().get(&token).copied());
            if fake.behaviour.refuse_resumes || known != Some(room) {
                let frame = CloseFrame {
                    code: CloseCode::Policy,
                    reason: "joining a room needs a seat from /matchmake".into(),
                };
                if socket.close(Some(frame)).await.is_ok() {
                    while socket.next().await.is_some() {}
                }
                return;
            }
            room
        }
        Entry::Bare => {
            fake.bare_connections.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    let client_id = fake.next_client.fetch_add(1, Ordering::Relaxed);
    let resume = format!("resume-{client_id}").into_bytes();
    fake.resume_tokens.lock().unwrap().insert(resume.clone(), room);
    let welcome = ServerMsg::Welcome(Welcome {
        protocol_version: PROTOCOL_VERSION,
        client_id,
        player: Some(NetId::from_parts(0, 1)),
        tick_rate: TICK_RATE,
        snapshot_rate: 10,
        tick: Tick(0),
        schema: tickcast_shared::arena::schema(),
        resume,
    });
    if socket
        .send(Message::Binary(welcome.encode().unwrap().into()))
        .await
        .is_err()
    {
        return;
    }
    let mut snapshots = tokio::time::interval(SNAPSHOT_PERIOD);
    let (mut held, mut held_checksum) = (BTreeMap::<NetId, HeldEntity>::new(), 0u32);
    let (mut snapshot, mut last_input, mut acked) = (0u32, None::<u32>, None::<u32>);
    loop {
        tokio::select! {
            message = socket.next() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    let Ok(ClientMsg::Input(input)) = ClientMsg::decode(&bytes) else { panic!("not an input") };
                    last_input = Some(input.seq);
                }
                Some(Ok(Message::Close(_))) => {
                    while socket.next().await.is_some() {}
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
            _ = snapshots.tick() => {
                let current = world(snapshot);
                let baseline: Vec<EntityState> = held.values().map(|entity| entity.state.clone()).collect();
                let delta = diff(&baseline, &current);
                let full = snapshot == 0;
                let body = encode_body(Some(checksum(&current)), &delta, &held, Vec::new());
                apply(&mut held, &mut held_checksum, &delta).unwrap();
                let input_ack = match (last_input, acked) {
                    (None, _) => InputAck::None,
                    (Some(seq), None) => InputAck::Absolute(seq),
                    (Some(seq), Some(previous)) if seq == previous => InputAck::None,
                    (Some(seq), Some(previous)) => InputAck::Advance(seq.wrapping_sub(previous)),
                };
                acked = last_input.or(acked);
                let mut frame = Vec::new();
                let tick = if full { snapshot * 2 } else { 2 };
                ServerMsg::encode_snapshot_into(full, tick, input_ack, &body, &mut frame);
                if socket.send(Message::Binary(frame.into())).await.is_err() {
                    return;
                }
                snapshot += 1;
            }
        }
    }
}

async fn swarm(base: &str, bots: usize, duration_ms: u64, options: BotOptions) -> SwarmReport {
    let config = SwarmConfig {
        bots,
        duration: Duration::from_millis(duration_ms),
        ramp: Duration::from_millis(200),
        seed: 7,
        ..SwarmConfig::default()
    };
    let mut matchmaking = Matchmaking::new(base).unwrap();
    matchmaking.kind = Some("arena".to_owned());
    let report = run_swarm_matchmaking(config, options, matchmaking).await;
    println!("{}", report.table());
    report
}

/// `(room_id, node index, bots, mismatches)` of each room in the report.
fn rooms(report: &SwarmReport, fake: &Fake) -> Vec<(String, usize, usize, u64)> {
    let nodes = fake.nodes.get().unwrap();
    let mut rooms: Vec<_> = report
        .rooms
        .iter()
        .map(|room| {
            let node = nodes.iter().position(|url| *url == room.ws_url).expect("a known node");
            (room.room_id.clone(), node, room.bots, room.mismatches)
        })
        .collect();
    rooms.sort();
    rooms
}

#[tokio::test]
async fn each_bot_matchmakes_and_plays_in_the_room_it_is_seated_in() {
    let (base, fake) = start(Behaviour::default()).await;
    let report = swarm(&base, 6, 1_500, BotOptions::default()).await;
    assert_eq!(report.verdict(), Ok(()));
    assert_eq!(report.bots_connected, 6);
    // One request and one seat per bot, each seat taken once, on the node the answer named.
    let requests = fake.requests.lock().unwrap().clone();
    assert_eq!(requests, vec![json!({ "kind": "arena" }); 6]);
    assert_eq!(fake.seat_connections.load(Ordering::Relaxed), 6);
    assert!(fake.seats.lock().unwrap().values().all(|(_, used)| *used));
    assert_eq!(fake.bare_connections.load(Ordering::Relaxed), 0);
    assert_eq!(
        rooms(&report, &fake),
        [
            ("arena-0".to_owned(), 0, 2, 0),
            ("arena-1".to_owned(), 1, 2, 0),
            ("arena-2".to_owned(), 0, 2, 0),
        ]
    );
    assert_eq!(report.matchmake_ms.samples, 6);
    assert!(report.matchmake_ms.p50 > 0.0 && report.matchmake_ms.p50 <= report.matchmake_ms.p99);
    assert_eq!(report.matchmake_retries, 0);
    let json = serde_json::to_value(&report).unwrap();
    let room = &json["rooms"][0];
    for key in ["room_id", "ws_url", "bots", "mismatches"] {
        assert!(room.get(key).is_some(), "rooms[0] lacks {key}: {room}");
    }
    let table = report.table();
    assert!(table.contains("3 on 2 node(s)"), "{table}");
    assert!(table.contains("6 seats, 0 retried"), "{table}");
}

#[tokio::test]
async fn a_matchmaking_refusal_fails_the_bots_with_its_status_and_reason() {
    let (base, fake) = start(Behaviour {
        refuse_matchmaking: Some((StatusCode::NOT_FOUND, "unknown room kind")),
        ..Behaviour::default()
    })
    .await;
    let report = swarm(&base, 2, 500, BotOptions::default()).await;
    assert_eq!((report.bots_connected, report.bots_failed), (0, 2));
    assert_eq!(
        report.failures,
        ["matchmaking refused: 404 Not Found (unknown room kind)"]
    );
    assert!(report.rooms.is_empty());
    // A refusal other than 503 is final.
    assert_eq!(fake.requests.lock().unwrap().len(), 2);
    let verdict = report.verdict().unwrap_err().to_string();
    assert!(verdict.contains("404 Not Found (unknown room kind)"), "{verdict}");
}

#[tokio::test]
async fn matchmaking_503s_are_retried_a_few_times() {
    let (base, _fake) = start(Behaviour {
        unavailable: 3,
        ..Behaviour::default()
    })
    .await;
    let report = swarm(&base, 2, 1_500, BotOptions::default()).await;
    assert_eq!(report.verdict(), Ok(()));
    assert_eq!(report.matchmake_retries, 3);
    assert_eq!(report.matchmake_ms.samples, 2);

    // A node that stays unavailable: the bot gives up after its last attempt.
    let (base, fake) = start(Behaviour {
        unavailable: u32::MAX,
        ..Behaviour::default()
    })
    .await;
    let report = swarm(&base, 1, 1_500, BotOptions::default()).await;
    assert_eq!(
        report.failures,
        ["matchmaking refused: 503 Service Unavailable (node is draining) after 4 attempts"]
    );
    assert_eq!(fake.requests.lock().unwrap().len(), 4);
    assert_eq!(report.matchmake_retries, 0, "only seats count their retries");
}

#[tokio::test]
async fn a_refused_seat_fails_the_bot_with_the_status_and_reason() {
    let (base, _fake) = start(Behaviour {
        refuse_seats: true,
        ..Behaviour::default()
    })
    .await;
    // WebSocket only: on `auto` a refused seat also sends the bot to the HTTP fallback,
    // with a new seat, which this fake does not serve.
    let options = BotOptions {
        transport: Transport::Ws,
        ..BotOptions::default()
    };
    let report = swarm(&base, 2, 500, options).await;
    assert_eq!((report.bots_connected, report.bots_failed), (0, 2));
    assert_eq!(
        report.failures,
        ["server refused the seat: 403 Forbidden (seat already used)"]
    );
}

#[tokio::test]
async fn dropped_bots_resume_in_their_room_without_a_new_seat() {
    let (base, fake) = start(Behaviour::default()).await;
    let options = BotOptions {
        chaos_reconnects_per_minute: 90,
        ..BotOptions::default()
    };
    let report = swarm(&base, 3, 2_500, options).await;
    assert_eq!(report.verdict(), Ok(()));
    assert!(report.drops > 0, "{report:?}");
    assert_eq!(report.resumes, report.drops);
    assert_eq!(fake.room_connections.load(Ordering::Relaxed), report.drops);
    // No seat beyond the first of each bot, and each bot stayed in its room.
    assert_eq!(report.matchmake_ms.samples, 3);
    assert_eq!(fake.seat_connections.load(Ordering::Relaxed), 3);
    assert_eq!(rooms(&report, &fake).iter().map(|room| room.2).sum::<usize>(), 3);
}

#[tokio::test]
async fn bots_whose_room_refuses_them_matchmake_again() {
    let (base, fake) = start(Behaviour {
        refuse_resumes: true,
        ..Behaviour::default()
    })
    .await;
    let options = BotOptions {
        chaos_reconnects_per_minute: 90,
        ..BotOptions::default()
    };
    let report = swarm(&base, 3, 2_500, options).await;
    assert_eq!(report.verdict(), Ok(()));
    assert!(report.drops > 0, "{report:?}");
    assert_eq!(report.resumes, 0);
    // Each drop: one refused try at the room, then a new seat.
    assert_eq!(fake.room_connections.load(Ordering::Relaxed), report.drops);
    assert_eq!(report.matchmake_ms.samples, 3 + report.drops);
    assert_eq!(fake.seat_connections.load(Ordering::Relaxed), 3 + report.drops);
    // New seats may be in other rooms: a bot counts once in each room it played in.
    let bots_in_rooms: usize = rooms(&report, &fake).iter().map(|room| room.2).sum();
    assert!(
        (3..=3 + report.drops as usize).contains(&bots_in_rooms),
        "{:?}",
        report.rooms
    );
}
