//! Faults on an emulated serial link, injected at configured rates per byte: bit flips, dropped, duplicated and
//! inserted bytes, garbage bursts, and board resets (counted by the board's side).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Rates of faults per byte on the link, in each direction; a board reset per byte the board receives.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Faults {
    /// A bit of the byte flipped.
    pub flip: f64,
    /// The byte lost.
    pub drop: f64,
    /// The byte arrives twice.
    pub duplicate: f64,
    /// A random byte arrives before it.
    pub insert: f64,
    /// A burst of 1 to 64 random bytes arrives before it.
    pub garbage: f64,
    /// The board restarts (losing what it was receiving) and sends its BOOT frame.
    pub reset: f64,
}

impl Faults {
    /// Each kind of fault alone, by name: bit flips, dropped, duplicated and inserted bytes and garbage bursts at
    /// `rate` per byte, board resets at `reset` per byte (what the tests and the fault bench run through).
    pub fn each_kind(rate: f64, reset: f64) -> [(&'static str, Faults); 6] {
        let none = Faults::default();
        [
            ("bit flip", Faults { flip: rate, ..none }),
            ("dropped byte", Faults { drop: rate, ..none }),
            (
                "duplicated byte",
                Faults {
                    duplicate: rate,
                    ..none
                },
            ),
            (
                "inserted byte",
                Faults {
                    insert: rate,
                    ..none
                },
            ),
            (
                "garbage burst",
                Faults {
                    garbage: rate,
                    ..none
                },
            ),
            ("board reset", Faults { reset, ..none }),
        ]
    }
}

/// The faults injected so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Bits flipped.
    pub flips: u64,
    /// Bytes dropped.
    pub drops: u64,
    /// Bytes duplicated.
    pub duplicates: u64,
    /// Bytes inserted.
    pub inserts: u64,
    /// Garbage bursts.
    pub garbage: u64,
    /// Board resets.
    pub resets: u64,
}

impl FaultCounts {
    /// All faults together.
    pub fn total(&self) -> u64 {
        self.flips + self.drops + self.duplicates + self.inserts + self.garbage + self.resets
    }
}

/// Applies [`Faults`] to bytes on their way.
pub struct Injector {
    /// The rates.
    pub faults: Faults,
    rng: StdRng,
    /// What it did.
    pub counts: FaultCounts,
}

impl Injector {
    /// An injector at `faults`, its random choices from `seed`.
    pub fn new(faults: Faults, seed: u64) -> Self {
        Injector {
            faults,
            rng: StdRng::seed_from_u64(seed),
            counts: FaultCounts::default(),
        }
    }

    fn chance(&mut self, rate: f64) -> bool {
        rate > 0.0 && self.rng.random_bool(rate.min(1.0))
    }

    /// The bytes that arrive for `bytes` sent, in order, through `deliver`.
    pub fn pass(&mut self, bytes: &[u8], deliver: &mut dyn FnMut(u8)) {
        let f = self.faults;
        for &byte in bytes {
            if self.chance(f.garbage) {
                self.counts.garbage += 1;
                for _ in 0..self.rng.random_range(1..=64) {
                    deliver(self.rng.random());
                }
            }
            if self.chance(f.insert) {
                self.counts.inserts += 1;
                deliver(self.rng.random());
            }
            if self.chance(f.drop) {
                self.counts.drops += 1;
                continue;
            }
            let mut byte = byte;
            if self.chance(f.flip) {
                self.counts.flips += 1;
                byte ^= 1 << self.rng.random_range(0..8);
            }
            deliver(byte);
            if self.chance(f.duplicate) {
                self.counts.duplicates += 1;
                deliver(byte);
            }
        }
    }

    /// Whether the board resets before the next byte it receives.
    pub fn reset_now(&mut self) -> bool {
        let reset = self.chance(self.faults.reset);
        self.counts.resets += u64::from(reset);
        reset
    }
}
