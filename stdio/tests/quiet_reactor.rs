//! A relay started on reactors with nothing else to do: in a process of its own (this binary
//! holds one test), no other relay's events or timers give the reactor a turn.

use runtime_api::{RelayEnd, StdioSet};
use stdio::{PipeRelay, RelayConfig};
use testkit::bounded;

/// A relay with no pipe to watch gets no event at all: it must be started with a wake-up of
/// its own, and then completes at once, before the process is even reported exited.
#[test]
fn a_relay_with_nothing_to_watch_completes_on_an_idle_reactor() {
    let (relay, child) = PipeRelay::new(StdioSet::none(), RelayConfig::default()).unwrap();
    drop(child);
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(report.stdout.relayed + report.stderr.relayed, 0);
}
