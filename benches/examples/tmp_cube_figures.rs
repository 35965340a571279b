//! Temporary: the cube pile's byte figures in a debug build.
use tickcast_benches::cube_pile::{Layout, TRACE_TICKS, Trace, measure};
fn main() {
    let trace = Trace::record(TRACE_TICKS);
    for layout in [Layout::OneKind, Layout::TwoKinds] {
        for baseline in [1, 6] {
            let r = measure(&trace, layout, baseline);
            println!(
                "{} {}-tick: {:.1} B/packet {:.1} kbit/s {:.1} changed/packet {:.2} B/changed max {} idle {}",
                layout.name(),
                baseline,
                r.packet_bytes,
                r.kbps(),
                r.changed,
                r.bytes_per_changed(),
                r.max_packet_bytes,
                r.idle_packets
            );
        }
    }
}
