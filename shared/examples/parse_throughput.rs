//! Parsing throughput of CloudTrail log files, for `make bench`: reads every `.json.gz` file
//! in a folder with the events function's reader (filter: failed calls, newest 50) on one
//! core, several times, and prints the median in MB/s of decompressed JSON.
//!
//!     cargo run --release -p trailport --example parse_throughput -- DIR [ROUNDS]

use std::time::Instant;

use trailport::trail_events::{Query, read_log_file};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: parse_throughput DIR [ROUNDS]")?;
    let rounds: usize = args.next().map_or(Ok(5), |r| r.parse())?;

    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.to_string_lossy().ends_with(".json.gz") {
            // Read into memory first, so the disk is not what is measured.
            files.push(std::fs::read(&path)?);
        }
    }
    let query = Query::parse([("errors_only", "true")]).map_err(|e| e.message().to_owned())?;

    let mut rates = Vec::with_capacity(rounds);
    let mut kept = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        let mut bytes = 0;
        kept = 0;
        for file in &files {
            let events = read_log_file(&file[..], &query)?;
            bytes += events.bytes;
            kept += events.len();
        }
        rates.push(bytes as f64 / 1e6 / started.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "{{\"files\": {}, \"kept\": {kept}, \"mb_per_s\": {:.1}}}",
        files.len(),
        rates[rates.len() / 2]
    );
    Ok(())
}
