//! Writes `assets/vectors/arena.json`: golden snapshot streams recorded from a real
//! server, with the state the Rust mirror holds after each frame. The TypeScript SDK's
//! tests replay them and must reach the same ticks, acks, checksums and entities.
//!
//! ```text
//! cargo run --release -p tickcast-server --example golden_vectors
//! ```
//!
//! Each stream is one client of an in-process server on 127.0.0.1 that moves, turns and
//! fires by a fixed script. The server runs in real time, so a new recording differs
//! from the last in its details (which ticks, which drones); every recording is
//! self-consistent, which is what the vectors test.

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::time::Duration;
use tickcast_server::config::ServerConfig;
use tickcast_shared::arena::ArenaInput;
use tickcast_shared::input::{GameInput, Input};
use tickcast_shared::{ClientMirror, ClientMsg, Hello, PROTOCOL_VERSION, ServerMsg};
use tokio_tungstenite::tungstenite::Message;

/// One recorded stream: a name, its server settings and how many snapshots to keep.
struct Stream {
    name: &'static str,
    about: &'static str,
    npcs: u32,
    interest_radius: f32,
    budget_kbps: u32,
    frames: usize,
    /// Every this many frames (and the first and last) list the entities in full.
    entities_every: usize,
}

const STREAMS: [Stream; 3] = [
    Stream {
        name: "small",
        about: "a few drones, interest radius 30, default budget: spawns, despawns, projectiles",
        npcs: 12,
        interest_radius: 30.0,
        budget_kbps: 256,
        frames: 90,
        entities_every: 1,
    },
    Stream {
        name: "view-200",
        about: "200 drones, whole world in view (radius 0), budget 1024 kbit/s: a 200-entity view",
        npcs: 200,
        interest_radius: 0.0,
        budget_kbps: 1024,
        frames: 60,
        entities_every: 20,
    },
    Stream {
        name: "world-1000",
        about: "1000 drones, whole world in view (radius 0), budget large enough to send every change",
        npcs: 1000,
        interest_radius: 0.0,
        budget_kbps: 8192,
        frames: 60,
        entities_every: 30,
    },
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// The scripted input for `seq`: circles, turns, fires in bursts.
fn input(seq: u32) -> Input {
    let t = seq as f32 / 60.0;
    ArenaInput {
        move_x: (t * 0.9).cos(),
        move_y: (t * 1.3).sin() * 0.8,
        aim: (t * 2.0).sin() * 3.0,
        buttons: u32::from(seq % 40 < 12),
    }
    .to_input(seq, None)
}

fn entities(mirror: &ClientMirror) -> Value {
    mirror
        .entities()
        .map(|entity| {
            let components: Vec<Value> = entity
                .components
                .iter()
                .map(|c| json!([c.kind.0, c.fields.as_slice()]))
                .collect();
            json!([entity.id.index(), entity.id.generation(), components])
        })
        .collect()
}

async fn record(stream: &Stream) -> anyhow::Result<Value> {
    let mut config = ServerConfig::embedded();
    config.bind = "127.0.0.1:0".parse()?;
    config.npcs = stream.npcs;
    config.replication.interest_radius = stream.interest_radius;
    config.replication.budget_kbps = stream.budget_kbps;
    config.raise_tick_priority = false;
    config.validate()?;
    let server = tickcast_server::start(&config).await.context("starting the server")?;
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url()).await?;
    let hello = ClientMsg::Hello(Hello::new("golden"));
    ws.send(Message::Binary(hello.encode()?.into())).await?;
    let mut welcome = None;
    let mut frames = Vec::new();
    let mut mirror = ClientMirror::new();
    let mut seq = 0u32;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / 60.0));
    while frames.len() < stream.frames {
        let message = tokio::select! {
            _ = ticker.tick(), if welcome.is_some() => {
                ws.send(Message::Binary(ClientMsg::Input(input(seq)).encode()?.into())).await?;
                seq = seq.wrapping_add(1);
                continue;
            }
            message = tokio::time::timeout(Duration::from_secs(5), ws.next()) => message,
        };
        let bytes = match message.context("no message within 5 s")? {
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(Message::Close(frame))) => bail!("server closed: {frame:?}"),
            Some(Ok(_)) => continue,
            Some(Err(error)) => return Err(error.into()),
            None => bail!("stream ended"),
        };
        match ServerMsg::decode(&bytes)? {
            ServerMsg::Welcome(_) => welcome = Some(hex(&bytes)),
            ServerMsg::Snapshot(frame) => {
                mirror.apply_frame(&frame).context("the rust mirror refused a frame")?;
                let index = frames.len();
                let mut record = json!({
                    "message": hex(&bytes),
                    "tick": mirror.tick().map(|tick| tick.0),
                    "ack": mirror.input_ack(),
                    "checksum": mirror.checksum(),
                    "entity_count": mirror.len(),
                });
                if index == 0 || index + 1 == stream.frames || index % stream.entities_every == 0 {
                    record["entities"] = entities(&mirror);
                }
                frames.push(record);
            }
        }
    }
    let _ = ws.close(None).await;
    server.shutdown(Duration::from_secs(2)).await;
    let mean = frames.iter().filter_map(|f| f["entity_count"].as_u64()).sum::<u64>() / frames.len() as u64;
    eprintln!(
        "{}: {} frames, {mean} entities held on average",
        stream.name,
        frames.len()
    );
    Ok(json!({
        "name": stream.name,
        "about": stream.about,
        "welcome": welcome.context("no welcome")?,
        "frames": frames,
    }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut streams = Vec::new();
    for stream in &STREAMS {
        streams.push(
            record(stream)
                .await
                .with_context(|| format!("recording {}", stream.name))?,
        );
    }
    let document = json!({
        "about": "golden snapshot streams of the arena, recorded by `cargo run --release -p tickcast-server --example golden_vectors`; \
                  after each frame: the mirror's absolute tick, last acked input seq, checksum of the held state, entity count and (on some frames) the entities as [index, generation, [[kind, fields]]]",
        "protocol_version": PROTOCOL_VERSION,
        "streams": streams,
    });
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/vectors");
    std::fs::create_dir_all(&folder)?;
    let path = folder.join("arena.json");
    std::fs::write(&path, serde_json::to_string(&document)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
