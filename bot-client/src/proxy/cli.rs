//! `tickcast-bots proxy`: the fault proxy as a command, between bots (or a browser) and
//! a server, until Ctrl-C or `--duration`, then a summary table.
//!
//! Each fault flag takes `VALUE` for both directions or `up=VALUE` / `down=VALUE` for
//! one, and may be repeated; later flags win for their direction, so
//! `--delay 100ms --delay down=150ms` is 100 ms up and 150 ms down.

use super::{Direction, FaultProxy, Faults, ProxyConfig, Resets, Stall};
use anyhow::Context;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Relays TCP from `--listen` to `--upstream`, adding latency, jitter, a bandwidth cap,
/// stalls and resets; prints what it did at Ctrl-C or after `--duration`.
///
/// Point the bots at it: `tickcast-bots --url ws://LISTEN/ws`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProxyArgs {
    /// Address to accept connections on.
    #[arg(long, default_value = "127.0.0.1:7778")]
    pub listen: SocketAddr,
    /// Server to relay each connection to (`host:port`).
    #[arg(long, default_value = "127.0.0.1:7777")]
    pub upstream: String,
    /// Fixed one-way delay added to every chunk (e.g. `100ms`).
    #[arg(long, value_name = "[up=|down=]DURATION", value_parser = directed_duration)]
    pub delay: Vec<Directed<Duration>>,
    /// Each chunk's delay varies uniformly within ± this; bytes are never reordered.
    #[arg(long, value_name = "[up=|down=]DURATION", value_parser = directed_duration)]
    pub jitter: Vec<Directed<Duration>>,
    /// Bandwidth cap per connection, kbit/s (1000 bits), as a token bucket.
    #[arg(long, value_name = "[up=|down=]KBIT_S", value_parser = directed_kbps)]
    pub bandwidth_kbps: Vec<Directed<u32>>,
    /// Stop relaying for FOR at every multiple of EVERY since the proxy started (e.g.
    /// `2s/10s`); the bytes wait.
    #[arg(long, value_name = "[up=|down=]FOR/EVERY", value_parser = directed_stall)]
    pub stall: Vec<Directed<Stall>>,
    /// Cut each connection (TCP reset both ways) after a random lifetime with this mean
    /// (exponentially distributed, e.g. `30s`).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub reset_mean: Option<Duration>,
    /// Cut each connection once this many bytes went through it, both ways together
    /// (e.g. `100000`, `64KiB`, `1MB`).
    #[arg(long, value_name = "BYTES", value_parser = byte_count)]
    pub reset_after: Option<u64>,
    /// Seed of the jitter and reset draws; the same seed repeats them per connection
    /// (connections are numbered in accept order).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Most bytes one direction of one connection may hold; when full the proxy stops
    /// reading that side.
    #[arg(long, value_name = "BYTES", default_value = "4MiB", value_parser = byte_count)]
    pub buffer: u64,
    /// Answer WebSocket upgrades (`Upgrade: websocket` in a connection's first request)
    /// with 403 instead of relaying them, as a corporate proxy might; other HTTP passes.
    /// Clients then need the HTTP fallback (`tickcast-bots --transport auto`).
    #[arg(long)]
    pub refuse_upgrades: bool,
    /// Stop after this long (default: at Ctrl-C).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Write the summary as JSON to this file too.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
}

impl ProxyArgs {
    /// The proxy configuration these flags describe.
    pub fn config(&self) -> anyhow::Result<ProxyConfig> {
        let mut config = ProxyConfig::new(self.listen, self.upstream.clone());
        config.seed = self.seed;
        config.refuse_upgrades = self.refuse_upgrades;
        config.buffer_bytes = usize::try_from(self.buffer).context("--buffer is too large")?;
        config.resets = Resets {
            mean_lifetime: self.reset_mean,
            after_bytes: self.reset_after,
        };
        for delay in &self.delay {
            delay.apply(&mut config, |faults, delay| faults.delay = delay);
        }
        for jitter in &self.jitter {
            jitter.apply(&mut config, |faults, jitter| faults.jitter = jitter);
        }
        for cap in &self.bandwidth_kbps {
            cap.apply(&mut config, |faults, kbps| faults.bandwidth_kbps = Some(kbps));
        }
        for stall in &self.stall {
            stall.apply(&mut config, |faults, stall| faults.stall = Some(stall));
        }
        config.validate()?;
        Ok(config)
    }
}

/// A flag's value for one direction, or both when `direction` is `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Directed<T> {
    /// `up=` or `down=`; `None`: both.
    pub direction: Option<Direction>,
    /// The value.
    pub value: T,
}

impl<T: Copy> Directed<T> {
    fn apply(&self, config: &mut ProxyConfig, set: impl Fn(&mut Faults, T)) {
        for direction in Direction::BOTH {
            if self.direction.is_none_or(|only| only == direction) {
                set(config.faults_mut(direction), self.value);
            }
        }
    }
}

/// Splits `up=VALUE`, `down=VALUE`, `both=VALUE` or `VALUE`, and parses the value.
fn directed<T>(text: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Directed<T>, String> {
    let (direction, value) = match text.split_once('=') {
        Some(("up", value)) => (Some(Direction::Up), value),
        Some(("down", value)) => (Some(Direction::Down), value),
        Some(("both", value)) => (None, value),
        Some((other, _)) => return Err(format!("unknown direction `{other}`: use up=, down= or none")),
        None => (None, text),
    };
    Ok(Directed {
        direction,
        value: parse(value)?,
    })
}

fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|error| error.to_string())
}

fn directed_duration(text: &str) -> Result<Directed<Duration>, String> {
    directed(text, duration)
}

fn directed_kbps(text: &str) -> Result<Directed<u32>, String> {
    directed(text, |value| match value.parse::<u32>() {
        Ok(0) => Err("the cap must be above 0 kbit/s".to_owned()),
        Ok(kbps) => Ok(kbps),
        Err(error) => Err(format!("not a whole number of kbit/s: {error}")),
    })
}

fn directed_stall(text: &str) -> Result<Directed<Stall>, String> {
    directed(text, |value| {
        let (stall_for, every) = value
            .split_once('/')
            .ok_or_else(|| "expected FOR/EVERY, e.g. 2s/10s".to_owned())?;
        let stall = Stall {
            duration: duration(stall_for)?,
            every: duration(every)?,
        };
        if stall.every.is_zero() || stall.duration >= stall.every {
            return Err("the stall must be shorter than its period".to_owned());
        }
        Ok(stall)
    })
}

/// A byte count: digits with an optional `B`, `KB`/`MB`/`GB` (powers of 1000) or
/// `KiB`/`MiB`/`GiB` (powers of 1024).
pub fn byte_count(text: &str) -> Result<u64, String> {
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a byte count (e.g. 65536, 64KiB, 1MB)"))?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1000,
        "MB" => 1000 * 1000,
        "GB" => 1000 * 1000 * 1000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => return Err(format!("unknown byte unit `{other}` (B, KB, MB, GB, KiB, MiB, GiB)")),
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("`{text}` is too many bytes"))
}

impl fmt::Display for Faults {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_none() {
            return formatter.write_str("none");
        }
        let mut parts = Vec::new();
        if !self.delay.is_zero() || !self.jitter.is_zero() {
            let mut part = format!("delay {}", humantime::format_duration(self.delay));
            if !self.jitter.is_zero() {
                part += &format!(" ± {}", humantime::format_duration(self.jitter));
            }
            parts.push(part);
        }
        if let Some(kbps) = self.bandwidth_kbps {
            parts.push(format!("cap {kbps} kbit/s"));
        }
        if let Some(stall) = self.stall {
            parts.push(format!(
                "stall {} every {}",
                humantime::format_duration(stall.duration),
                humantime::format_duration(stall.every)
            ));
        }
        formatter.write_str(&parts.join(", "))
    }
}

/// Runs the proxy command on its own runtime: until Ctrl-C or `--duration`, then prints
/// the summary table (and writes `--json`).
pub fn run(args: ProxyArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let summary = runtime.block_on(async {
        let proxy = FaultProxy::start(config.clone()).await?;
        eprintln!(
            "proxy on {} to {}: up {}; down {}; resets: {}{}",
            proxy.local_addr(),
            config.upstream,
            config.up,
            config.down,
            describe_resets(&config.resets),
            if config.refuse_upgrades {
                "; websocket upgrades refused"
            } else {
                ""
            },
        );
        let stop_after = async {
            match args.duration {
                Some(duration) => tokio::time::sleep(duration).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            signal = tokio::signal::ctrl_c() => signal.context("waiting for Ctrl-C")?,
            () = stop_after => {}
        }
        anyhow::Ok(proxy.shutdown().await)
    })?;
    println!("{}", summary.table());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&summary).context("serializing the summary")?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing the summary to {}", path.display()))?;
    }
    Ok(())
}

fn describe_resets(resets: &Resets) -> String {
    let mut parts = Vec::new();
    if let Some(mean) = resets.mean_lifetime {
        parts.push(format!("mean lifetime {}", humantime::format_duration(mean)));
    }
    if let Some(bytes) = resets.after_bytes {
        parts.push(format!("after {bytes} bytes"));
    }
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::DEFAULT_BUFFER_BYTES;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        proxy: ProxyArgs,
    }

    fn parse(args: &[&str]) -> Result<ProxyConfig, String> {
        let cli = Cli::try_parse_from(std::iter::once("proxy").chain(args.iter().copied()))
            .map_err(|error| error.to_string())?;
        cli.proxy.config().map_err(|error| error.to_string())
    }

    #[test]
    fn flags_apply_to_both_directions_or_one() {
        let config = parse(&[
            "--listen",
            "127.0.0.1:0",
            "--delay",
            "100ms",
            "--delay",
            "down=150ms",
            "--jitter",
            "up=20ms",
            "--bandwidth-kbps",
            "256",
            "--stall",
            "down=2s/10s",
            "--reset-mean",
            "30s",
            "--reset-after",
            "64KiB",
            "--buffer",
            "1MB",
        ])
        .unwrap();
        assert_eq!(
            config.up,
            Faults {
                delay: Duration::from_millis(100),
                jitter: Duration::from_millis(20),
                bandwidth_kbps: Some(256),
                stall: None,
            }
        );
        assert_eq!(
            config.down,
            Faults {
                delay: Duration::from_millis(150),
                jitter: Duration::ZERO,
                bandwidth_kbps: Some(256),
                stall: Some(Stall {
                    duration: Duration::from_secs(2),
                    every: Duration::from_secs(10),
                }),
            }
        );
        assert_eq!(config.resets.mean_lifetime, Some(Duration::from_secs(30)));
        assert_eq!(config.resets.after_bytes, Some(65_536));
        assert_eq!(config.buffer_bytes, 1_000_000);
        assert!(!config.refuse_upgrades);
        assert!(parse(&["--refuse-upgrades"]).unwrap().refuse_upgrades);
        assert_eq!(config.upstream, "127.0.0.1:7777");
        assert_eq!(
            config.down.to_string(),
            "delay 150ms, cap 256 kbit/s, stall 2s every 10s"
        );
        assert_eq!(config.up.to_string(), "delay 100ms ± 20ms, cap 256 kbit/s");
    }

    #[test]
    fn defaults_are_a_plain_relay_with_4_mib_buffers() {
        let config = parse(&[]).unwrap();
        assert!(config.up.is_none() && config.down.is_none() && config.resets.is_none());
        assert_eq!(config.buffer_bytes, DEFAULT_BUFFER_BYTES);
        assert_eq!(config.listen, "127.0.0.1:7778".parse().unwrap());
    }

    #[test]
    fn bad_values_are_refused() {
        for args in [
            &["--delay", "sideways=1s"][..],
            &["--stall", "10s/2s"],
            &["--stall", "2s"],
            &["--bandwidth-kbps", "0"],
            &["--reset-after", "12 parsecs"],
            &["--reset-after", "0"],
            &["--buffer", "0"],
        ] {
            assert!(parse(args).is_err(), "{args:?} was accepted");
        }
        assert_eq!(byte_count("4MiB"), Ok(4 << 20));
        assert_eq!(byte_count("1500B"), Ok(1500));
    }
}
