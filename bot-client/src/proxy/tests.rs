//! The proxy against small local servers (an echo, a sink that never reads): order under
//! jitter, stalls that hold but do not drop, the cap, bounded buffers, resets and
//! shutdown. Each test runs for a second or two and every wait is bounded.
//!
//! Times are only ever asserted as lower bounds that the proxy itself imposes (a stall
//! or a cap makes the bytes wait at least so long); a slow machine can only add to them.

use super::relay::{MIN_BURST_BYTES, TokenBucket, exponential};
use super::*;
use std::io::ErrorKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(10);

/// An echo server on 127.0.0.1:0: every connection's bytes come back.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut read, mut write) = stream.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    addr
}

/// A server on 127.0.0.1:0 that accepts and holds its connections without reading.
async fn sink_that_never_reads() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

async fn proxy_to(upstream: SocketAddr, tweak: impl FnOnce(&mut ProxyConfig)) -> FaultProxy {
    let mut config = ProxyConfig::new("127.0.0.1:0".parse().unwrap(), upstream.to_string());
    tweak(&mut config);
    FaultProxy::start(config).await.unwrap()
}

async fn connect(proxy: &FaultProxy) -> TcpStream {
    let stream = tokio::time::timeout(WAIT, TcpStream::connect(proxy.local_addr()))
        .await
        .unwrap()
        .unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Byte `i` of the numbered stream: a counter that tells a swap or a gap from the right
/// order (it wraps only every 251 bytes, which no chunk boundary lines up with).
fn numbered(i: usize) -> u8 {
    (i % 251) as u8
}

/// Reads until `count` bytes came, checking each against [`numbered`]; returns the time
/// each read returned with how many bytes it brought.
async fn read_numbered(read: &mut (impl AsyncReadExt + Unpin), count: usize) -> Vec<(Instant, usize)> {
    let mut received = 0;
    let mut arrivals = Vec::new();
    let mut buffer = vec![0; 8192];
    while received < count {
        let n = tokio::time::timeout(WAIT, read.read(&mut buffer))
            .await
            .expect("bytes stopped coming")
            .unwrap();
        assert!(n > 0, "stream ended after {received} of {count} bytes");
        for (offset, byte) in buffer[..n].iter().enumerate() {
            assert_eq!(
                *byte,
                numbered(received + offset),
                "byte {} out of order",
                received + offset
            );
        }
        received += n;
        arrivals.push((Instant::now(), n));
    }
    arrivals
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jitter_never_reorders_bytes() {
    let echo = echo_server().await;
    // Jitter near the delay and writes far closer together than the jitter: without the
    // release-time rule, chunks would overtake each other constantly.
    let proxy = proxy_to(echo, |config| {
        *config = config.clone().with_faults(Faults {
            delay: Duration::from_millis(20),
            jitter: Duration::from_millis(15),
            ..Faults::NONE
        });
        config.seed = 42;
    })
    .await;
    let stream = connect(&proxy).await;
    let (mut read, mut write) = stream.into_split();
    const TOTAL: usize = 60_000;
    let writer = tokio::spawn(async move {
        let bytes: Vec<u8> = (0..TOTAL).map(numbered).collect();
        // 300 writes of 200 bytes, a millisecond apart: many chunks in flight at once.
        for piece in bytes.chunks(200) {
            write.write_all(piece).await.unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        write
    });
    let arrivals = read_numbered(&mut read, TOTAL).await;
    drop(writer.await.unwrap());
    assert!(arrivals.len() > 10, "the stream came in {} reads", arrivals.len());
    let summary = proxy.shutdown().await;
    assert_eq!((summary.up.bytes, summary.down.bytes), (TOTAL as u64, TOTAL as u64));
    // Both ways: at least the 5 ms low end of the delay, each way.
    assert!(
        summary.up.max_hold_ms >= 5.0 && summary.down.max_hold_ms >= 5.0,
        "{summary:?}"
    );
    assert_eq!(summary.connections, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_holds_bytes_and_drops_none() {
    let echo = echo_server().await;
    // Stalls at 0.6 s and 1.2 s after the start, 300 ms each, up only.
    let stall = Stall {
        duration: Duration::from_millis(300),
        every: Duration::from_millis(600),
    };
    let proxy = proxy_to(echo, |config| config.up.stall = Some(stall)).await;
    let stream = connect(&proxy).await;
    let (mut read, mut write) = stream.into_split();
    const TOTAL: usize = 1_000;
    let writer = tokio::spawn(async move {
        // 10 bytes every 10 ms for a second: through the first stall.
        for start in (0..TOTAL).step_by(10) {
            let piece: Vec<u8> = (start..start + 10).map(numbered).collect();
            write.write_all(&piece).await.unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        write
    });
    let arrivals = read_numbered(&mut read, TOTAL).await;
    drop(writer.await.unwrap());
    // Writes every 10 ms, but nothing came back for most of the stall.
    let longest_gap = arrivals
        .windows(2)
        .map(|pair| pair[1].0.duration_since(pair[0].0))
        .max()
        .unwrap();
    assert!(longest_gap >= Duration::from_millis(250), "longest gap {longest_gap:?}");
    let summary = proxy.shutdown().await;
    assert_eq!(summary.up.bytes, TOTAL as u64, "every byte went through");
    assert!(summary.up.max_hold_ms >= 250.0, "{summary:?}");
    assert_eq!(summary.down.bytes, TOTAL as u64);
}

#[test]
fn stall_windows_start_at_each_period() {
    let epoch = Instant::now();
    let stall = Stall {
        duration: Duration::from_secs(2),
        every: Duration::from_secs(10),
    };
    let at = |secs: f64| epoch + Duration::from_secs_f64(secs);
    assert_eq!(
        stall.ends_after(epoch, at(0.5)),
        None,
        "no stall before the first period"
    );
    assert_eq!(stall.ends_after(epoch, at(9.9)), None);
    assert_eq!(stall.ends_after(epoch, at(10.0)), Some(at(12.0)));
    assert_eq!(stall.ends_after(epoch, at(11.5)), Some(at(12.0)));
    assert_eq!(stall.ends_after(epoch, at(12.0)), None);
    assert_eq!(stall.ends_after(epoch, at(21.0)), Some(at(22.0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bandwidth_cap_holds() {
    let echo = echo_server().await;
    const KBPS: u32 = 400;
    let rate = f64::from(KBPS) * 1000.0 / 8.0; // 50 000 bytes/s
    let proxy = proxy_to(echo, |config| config.up.bandwidth_kbps = Some(KBPS)).await;
    let stream = connect(&proxy).await;
    let (mut read, mut write) = stream.into_split();
    const TOTAL: usize = 100_000;
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        let bytes: Vec<u8> = (0..TOTAL).map(numbered).collect();
        write.write_all(&bytes).await.unwrap();
        write
    });
    read_numbered(&mut read, TOTAL).await;
    let took = started.elapsed();
    drop(writer.await.unwrap());
    // The bucket starts full; everything after its burst goes at the rate.
    let burst = (rate * 0.02).max(MIN_BURST_BYTES);
    let at_least = Duration::from_secs_f64((TOTAL as f64 - burst) / rate);
    assert!(took >= at_least, "{TOTAL} bytes at {KBPS} kbit/s took only {took:?}");
    let summary = proxy.shutdown().await;
    assert_eq!(summary.up.bytes, TOTAL as u64);
    assert!(summary.up.kbps_per_connection <= f64::from(KBPS) * 1.2, "{summary:?}");
}

#[test]
fn a_token_bucket_never_exceeds_its_rate_plus_one_burst() {
    let start = Instant::now();
    let mut bucket = TokenBucket::new(32, start); // 4 000 bytes/s, burst 1 460
    let mut now = start;
    let mut sent = 0usize;
    // A greedy writer for 10 simulated seconds, asking for 1 000 bytes at a time.
    while now < start + Duration::from_secs(10) {
        match bucket.try_take(1_000, now) {
            Ok(granted) => {
                assert!((1..=1_000).contains(&granted));
                sent += granted;
            }
            Err(wait) => now += wait,
        }
    }
    let limit = 4_000.0 * 10.0 + MIN_BURST_BYTES;
    assert!(sent as f64 <= limit, "{sent} bytes");
    assert!(sent as f64 >= 4_000.0 * 9.5, "the bucket refills: {sent} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_buffer_stops_reading_instead_of_growing() {
    let sink = sink_that_never_reads().await;
    const BUFFER: usize = 64 * 1024;
    let proxy = proxy_to(sink, |config| config.buffer_bytes = BUFFER).await;
    let mut stream = connect(&proxy).await;
    // Write until the writes block: the sink's and the proxy's socket buffers, plus at
    // most BUFFER in the proxy.
    let piece = vec![7u8; 64 * 1024];
    let mut written = 0usize;
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(300), stream.write_all(&piece)).await {
            Ok(result) => {
                result.unwrap();
                written += piece.len();
            }
            Err(_blocked) => break,
        }
        assert!(written < 256 << 20, "writes never blocked: the proxy is not bounded");
    }
    let summary = proxy.summary();
    assert!(summary.up.max_buffered_bytes > 0, "{summary:?}");
    assert!(summary.up.max_buffered_bytes <= BUFFER as u64, "{summary:?}");
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_limit_resets_the_connection() {
    let echo = echo_server().await;
    let proxy = proxy_to(echo, |config| config.resets.after_bytes = Some(10_000)).await;
    let stream = connect(&proxy).await;
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        let bytes: Vec<u8> = (0..50_000).map(numbered).collect();
        // The reset may come mid-write: either result is fine.
        let _ = write.write_all(&bytes).await;
        write
    });
    let mut received = 0usize;
    let mut buffer = vec![0; 8192];
    let error = loop {
        match tokio::time::timeout(WAIT, read.read(&mut buffer)).await.unwrap() {
            Ok(0) => panic!("the stream ended cleanly after {received} bytes, not with a reset"),
            Ok(n) => received += n,
            Err(error) => break error,
        }
    };
    drop(writer.await.unwrap());
    assert_eq!(error.kind(), ErrorKind::ConnectionReset, "{error}");
    let summary = proxy.shutdown().await;
    assert_eq!(summary.resets, 1);
    // Up and down together stop at the limit.
    assert!(summary.up.bytes + summary.down.bytes <= 10_000, "{summary:?}");
    assert!(received <= 10_000 && summary.up.bytes > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_resets_cut_every_connection_with_a_reset() {
    let echo = echo_server().await;
    let proxy = proxy_to(echo, |config| {
        config.resets.mean_lifetime = Some(Duration::from_millis(200));
        config.seed = 3;
    })
    .await;
    let mut streams = Vec::new();
    for _ in 0..5 {
        streams.push(connect(&proxy).await);
    }
    for stream in &mut streams {
        // The cut may already have come (the connections were opened one by one).
        if let Err(error) = stream.write_all(b"ping").await {
            assert_eq!(error.kind(), ErrorKind::ConnectionReset, "{error}");
            continue;
        }
        let mut buffer = [0; 16];
        // The echo first (unless the cut came first), then the reset.
        let error = loop {
            match tokio::time::timeout(WAIT, stream.read(&mut buffer)).await.unwrap() {
                Ok(0) => panic!("ended without a reset"),
                Ok(_) => continue,
                Err(error) => break error,
            }
        };
        assert_eq!(error.kind(), ErrorKind::ConnectionReset);
    }
    let summary = proxy.shutdown().await;
    assert_eq!((summary.connections, summary.resets), (5, 5));
    assert_eq!(summary.connections_open, 0);
}

#[test]
fn lifetimes_are_exponential_with_the_mean_asked_for() {
    let mut rng = fastrand::Rng::with_seed(9);
    let mean = Duration::from_secs(10);
    let draws: Vec<Duration> = (0..20_000).map(|_| exponential(&mut rng, mean)).collect();
    let average = draws.iter().sum::<Duration>().as_secs_f64() / draws.len() as f64;
    assert!((9.5..10.5).contains(&average), "mean {average}");
    // Same seed, same draws.
    let mut again = fastrand::Rng::with_seed(9);
    assert_eq!(exponential(&mut again, mean), draws[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_connections_and_counts_them() {
    let echo = echo_server().await;
    let proxy = proxy_to(echo, |_| {}).await;
    let mut stream = connect(&proxy).await;
    stream.write_all(b"hello").await.unwrap();
    let mut buffer = [0; 5];
    tokio::time::timeout(WAIT, stream.read_exact(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buffer, b"hello");
    assert_eq!(proxy.stats().connections_open(), 1);
    let summary = proxy.shutdown().await;
    assert_eq!((summary.connections, summary.connections_open), (1, 0));
    assert_eq!((summary.up.bytes, summary.down.bytes), (5, 5));
    // The proxy closed its side.
    let read = tokio::time::timeout(WAIT, stream.read(&mut buffer)).await.unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_resets_the_client() {
    // A port that was just free: nothing listens there.
    let free = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let proxy = proxy_to(free, |_| {}).await;
    // The reset can come so soon that it fails the connect itself.
    let connected = tokio::time::timeout(WAIT, TcpStream::connect(proxy.local_addr()))
        .await
        .unwrap();
    let read = match connected {
        Ok(mut stream) => {
            let mut buffer = [0; 1];
            tokio::time::timeout(WAIT, stream.read(&mut buffer)).await.unwrap()
        }
        Err(error) => Err(error),
    };
    assert!(
        matches!(&read, Err(error) if error.kind() == ErrorKind::ConnectionReset),
        "{read:?}"
    );
    let summary = proxy.shutdown().await;
    assert_eq!(summary.upstream_failures, 1);
}

#[test]
fn configs_that_cannot_run_are_refused() {
    let base = ProxyConfig::new("127.0.0.1:0".parse().unwrap(), "127.0.0.1:1");
    assert_eq!(base.validate(), Ok(()));
    let mut config = base.clone();
    config.down.stall = Some(Stall {
        duration: Duration::from_secs(2),
        every: Duration::from_secs(2),
    });
    assert_eq!(config.validate(), Err(ConfigError::StallTooLong(Direction::Down)));
    let mut config = base.clone();
    config.up.bandwidth_kbps = Some(0);
    assert_eq!(config.validate(), Err(ConfigError::ZeroBandwidth(Direction::Up)));
    let mut config = base;
    config.buffer_bytes = 0;
    assert_eq!(config.validate(), Err(ConfigError::ZeroBuffer));
}

/// Writes `request` through the proxy and reads until the peer closes or `expect` bytes
/// came back.
async fn exchange(proxy: &FaultProxy, request: &[u8], expect: usize) -> Vec<u8> {
    let mut stream = connect(proxy).await;
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    while answer.len() < expect {
        let n = tokio::time::timeout(WAIT, stream.read(&mut buffer))
            .await
            .expect("an answer in time")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buffer[..n]);
    }
    answer
}

#[tokio::test]
async fn websocket_upgrades_are_refused_and_plain_http_passes() {
    let proxy = proxy_to(echo_server().await, |config| config.refuse_upgrades = true).await;
    let upgrade = b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUPGRADE: WebSocket\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let answer = exchange(&proxy, upgrade, usize::MAX).await;
    let answer = String::from_utf8(answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{answer}");
    assert!(
        answer.ends_with("\r\n\r\nwebsocket upgrades are blocked by this proxy\n"),
        "{answer}"
    );
    assert_eq!(proxy.stats().upgrades_refused(), 1);
    // A request without the upgrade, in two writes, reaches the upstream whole (the echo
    // sends it back), and so does what follows it on the connection.
    let post = b"POST /http/send HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
    assert_eq!(exchange(&proxy, post, post.len()).await, post);
    // Not HTTP at all (a TLS hello starts with 0x16): relayed as it is.
    let tls = [0x16, 3, 1, 0, 5, 1, 2, 3, 4, 5];
    assert_eq!(exchange(&proxy, &tls, tls.len()).await, tls);
    assert_eq!(proxy.stats().upgrades_refused(), 1);
    proxy.shutdown().await;
}
