//! satellite-pcapgen — writes the two mirrored captures the throughput
//! harness replays: `satellite-pcapgen MACS_PER_SIDE untagged|triple A.pcap B.pcap`.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::BufWriter;
use std::process::ExitCode;

use satellite_bench::{write_pcap, Mix, Side};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: satellite-pcapgen MACS_PER_SIDE untagged|triple A.pcap B.pcap";
    let [n, tags, a, b] = args.as_slice() else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let Ok(macs_per_side) = n.parse::<u32>() else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let triple_tagged = match tags.as_str() {
        "untagged" => false,
        "triple" => true,
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    let mix = Mix {
        macs_per_side,
        triple_tagged,
    };
    for (side, path) in [(Side::A, a), (Side::B, b)] {
        let res = File::create(path).and_then(|f| {
            let mut w = BufWriter::new(f);
            write_pcap(&mut w, mix, side)?;
            std::io::Write::flush(&mut w)
        });
        if let Err(e) = res {
            eprintln!("satellite-pcapgen: {path}: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
