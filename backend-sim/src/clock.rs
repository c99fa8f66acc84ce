//! Virtual time: a clock that only moves when the simulator says so.
//!
//! The simulator never reads the wall clock to decide anything. Time advances by a small
//! seeded cost per executed step and jumps straight to the next timer (a `sleep` ending, a
//! drain grace expiring) when nothing is runnable. A simulated `sleep 3600` therefore costs one
//! jump, not an hour.

use std::fmt;
use std::time::Duration;

/// Nanoseconds since the start of the simulated run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(pub u64);

impl Instant {
    /// The instant `d` later (saturating).
    pub fn after(self, d: Duration) -> Instant {
        Instant(
            self.0
                .saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        )
    }

    /// Nanoseconds since the start of the run.
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// The time since the start of the run.
    pub fn since_start(self) -> Duration {
        Duration::from_nanos(self.0)
    }
}

impl fmt::Display for Instant {
    /// `SSSS.nnnnnnnnn` seconds, fixed width so that trace lines align.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>6}.{:09}",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

/// The simulated run's clock. Monotonic: it never goes back.
#[derive(Debug, Default, Clone)]
pub struct VirtualClock {
    now: Instant,
}

/// The wall-clock date that virtual time zero stands for, in seconds since the Unix epoch
/// (2000-01-01T00:00:00Z). Only used to render `created` timestamps; never read from the system.
pub const EPOCH_UNIX_SECS: u64 = 946_684_800;

impl VirtualClock {
    /// A clock at time zero.
    pub fn new() -> VirtualClock {
        VirtualClock::default()
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Moves forward by `nanos`.
    pub fn advance_by(&mut self, nanos: u64) {
        self.now = Instant(self.now.0.saturating_add(nanos));
    }

    /// Jumps to `t` if it is later than now; never moves back.
    pub fn advance_to(&mut self, t: Instant) {
        if t > self.now {
            self.now = t;
        }
    }

    /// `t` as an RFC 3339 timestamp, counting virtual time from [`EPOCH_UNIX_SECS`].
    pub fn rfc3339(t: Instant) -> String {
        let secs = EPOCH_UNIX_SECS + t.0 / 1_000_000_000;
        let nanos = t.0 % 1_000_000_000;
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
            rem / 3600,
            (rem / 60) % 60,
            rem % 60
        )
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_is_monotonic() {
        let mut c = VirtualClock::new();
        c.advance_to(Instant(50));
        c.advance_to(Instant(10));
        assert_eq!(c.now(), Instant(50));
        c.advance_by(5);
        assert_eq!(c.now(), Instant(55));
    }

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(
            VirtualClock::rfc3339(Instant(0)),
            "2000-01-01T00:00:00.000000000Z"
        );
        let t = Instant(((31 + 29) * 86_400 + 3_723) * 1_000_000_000 + 5);
        assert_eq!(VirtualClock::rfc3339(t), "2000-03-01T01:02:03.000000005Z");
    }

    #[test]
    fn display_is_fixed_width() {
        assert_eq!(Instant(1_500_000_000).to_string(), "     1.500000000");
    }
}
