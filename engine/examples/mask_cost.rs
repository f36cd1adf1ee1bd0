//! What masking costs with many secrets registered: every line of a run's
//! output goes through `Secrets::mask`, and an inventory with vaulted values
//! per host registers thousands (each value with its encoded forms).
//!
//! `cargo run --release -p kbz-engine --example mask_cost -- 1000` registers
//! 1,000 values, masks a line of output 10,000 times, then registers 250
//! more, one before each masked line (a value per host, as a template's
//! `password_hash` makes one), and prints the times.

use std::time::Instant;

use kbz_engine::secrets::Secrets;

const LINE: &str = "h042  changed  template /etc/pgbouncer/pgbouncer.ini  (~ content) \
    server_reset_query = DISCARD ALL; listen_addr = 0.0.0.0; pool_mode = transaction";

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let secrets = Secrets::new();
    let started = Instant::now();
    for i in 0..count {
        secrets.add(&format!("pw-{i:05}-Xy7#q{}", i * 7919 % 1000));
    }
    let registered = started.elapsed();
    let started = Instant::now();
    let masked: usize = (0..10_000).map(|_| secrets.mask(LINE).len()).sum();
    let lines = started.elapsed();
    let started = Instant::now();
    let mut interleaved = 0;
    for i in 0..250 {
        secrets.add(&format!("$6$host{i:04}$hashhashhashhash"));
        interleaved += secrets.mask(LINE).len();
    }
    println!(
        "{} values registered in {registered:?}; 10,000 lines masked in {lines:?}; \
         250 more, each before a line, in {:?} ({})",
        secrets.len(),
        started.elapsed(),
        masked + interleaved
    );
}
