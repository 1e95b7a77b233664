//! A log file is read as a stream: a hundred megabytes of CloudTrail JSON pass through the
//! reader without the process's peak memory growing anywhere near that (the reader keeps at
//! most its 8 MiB head buffer and one record).

use std::io::Read;

use flate2::Compression;
use flate2::read::GzEncoder;
use trailport::trail_events::{Query, read_log_file};

/// Decompressed size of the generated log file.
const JSON_BYTES: usize = 100 * 1024 * 1024;

/// Writes `{"Records": [...]}` with ~1 KiB records, on demand, until `JSON_BYTES` are out.
struct GeneratedLog {
    pending: Vec<u8>,
    offset: usize,
    produced: usize,
    index: usize,
    closed: bool,
    padding: String,
}

impl GeneratedLog {
    fn new() -> Self {
        Self {
            pending: b"{\"Records\": [".to_vec(),
            offset: 0,
            produced: 0,
            index: 0,
            closed: false,
            padding: "x".repeat(800),
        }
    }

    fn refill(&mut self) {
        self.pending.clear();
        self.offset = 0;
        if self.produced >= JSON_BYTES {
            if !self.closed {
                self.pending.extend_from_slice(b"]}");
                self.closed = true;
            }
            return;
        }
        let separator = if self.index == 0 { "" } else { "," };
        let record = format!(
            "{separator}{{\"eventTime\":\"2026-12-01T{:02}:{:02}:{:02}Z\",\
             \"eventName\":\"GetObject\",\
             \"eventSource\":\"s3.amazonaws.com\",\"awsRegion\":\"us-east-1\",\
             \"eventID\":\"{:032x}\",\"userIdentity\":{{\"type\":\"IAMUser\",\
             \"arn\":\"arn:aws:iam::111122223333:user/u{}\"}},\
             \"requestParameters\":{{\"key\":\"{}\",\"list\":[1,2,3,{{\"deep\":[true,null]}}]}}}}",
            self.index / 3600 % 24,
            self.index / 60 % 60,
            self.index % 60,
            self.index,
            self.index % 97,
            self.padding,
        );
        self.index += 1;
        self.produced += record.len();
        self.pending.extend_from_slice(record.as_bytes());
    }
}

impl Read for GeneratedLog {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.offset == self.pending.len() {
            self.refill();
            if self.pending.is_empty() {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.pending.len() - self.offset);
        buf[..n].copy_from_slice(&self.pending[self.offset..self.offset + n]);
        self.offset += n;
        Ok(n)
    }
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"))
}

#[test]
fn a_hundred_megabyte_log_file_streams_through_in_a_few_megabytes() {
    let query = Query::parse([("limit", "200")]).expect("query");

    // Resets the peak (VmHWM) to the current resident size, so the peak below is this read's.
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak resident size");
    let before = status_kib("VmRSS:");

    let gzip = GzEncoder::new(GeneratedLog::new(), Compression::fast());
    let events = read_log_file(gzip, &query).expect("a well-formed log");

    let peak_growth = status_kib("VmHWM:").saturating_sub(before);
    assert!(
        events.bytes >= JSON_BYTES as u64,
        "read {} bytes",
        events.bytes
    );
    assert_eq!(events.len(), 200);
    assert!(
        peak_growth < 24 * 1024,
        "peak resident memory grew by {peak_growth} KiB while streaming {} MiB",
        events.bytes / (1024 * 1024)
    );
}
