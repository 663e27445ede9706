//! Whether satellited runs on hugepages: the `[dataplane] hugepages`
//! setting against what the machine offers, decided by a pure function
//! ([`decide`]) of the hugetlbfs mounts and the free pages of each size,
//! which [`Machine::read`] takes from `/proc/mounts` and
//! `/sys/kernel/mm/hugepages`.
//!
//! On hugepages the EAL gets `--huge-dir DIR --in-memory` (no hugepage
//! files are left behind if the daemon dies), and the tables workers read
//! go to DPDK's hugepage heap too (`satellite_dataplane::tablemem`).
//! Without, `--no-huge`: 4 KB pages, for labs and CI.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `[dataplane] hugepages`: `"auto"`, `true` or `false`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Hugepages {
    /// Hugepages when a hugetlbfs is mounted whose page size has enough
    /// free pages for `memory_mb`; otherwise `--no-huge`, and the log says
    /// why.
    #[default]
    Auto,
    /// Hugepages or no start: the daemon refuses to run without them.
    On,
    /// `--no-huge`.
    Off,
}

impl Serialize for Hugepages {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Hugepages::Auto => s.serialize_str("auto"),
            Hugepages::On => s.serialize_bool(true),
            Hugepages::Off => s.serialize_bool(false),
        }
    }
}

impl<'de> Deserialize<'de> for Hugepages {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Hugepages;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"auto\", true or false")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Hugepages, E> {
                Ok(if v { Hugepages::On } else { Hugepages::Off })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Hugepages, E> {
                match v {
                    "auto" => Ok(Hugepages::Auto),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A mounted hugetlbfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub dir: PathBuf,
    /// Its page size, bytes.
    pub page_size: u64,
}

/// The machine's hugepages: mounts, and pages free (and not reserved) by
/// page size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Machine {
    pub mounts: Vec<Mount>,
    /// (page size in bytes, pages free and unreserved).
    pub free: Vec<(u64, u64)>,
}

/// What the EAL runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Memory {
    Hugepages {
        dir: PathBuf,
        page_size: u64,
    },
    /// `--no-huge`, and why.
    NoHuge {
        why: String,
    },
    /// `dataplane.eal` already says (`--no-huge`, `--huge-dir`,
    /// `--socket-mem` or `--in-memory`): nothing is added.
    AsEalArgsSay,
}

/// The EAL flags by which a user's `dataplane.eal` picks the memory itself.
pub const MEMORY_FLAGS: [&str; 4] = ["--no-huge", "--huge-dir", "--socket-mem", "--in-memory"];

/// Whether `args` contain `flag` (alone or as `flag=value`).
pub fn has_flag(args: &[String], flag: &str) -> bool {
    args.iter()
        .any(|a| a == flag || a.strip_prefix(flag).is_some_and(|r| r.starts_with('=')))
}

fn mb(bytes: u64) -> u64 {
    bytes >> 20
}

/// The decision: `setting` against `machine`, for an EAL that wants
/// `memory_mb`. `Err` only for `hugepages = true` on a machine that cannot
/// give them.
pub fn decide(
    setting: Hugepages,
    user_eal: &[String],
    machine: &Machine,
    memory_mb: u32,
) -> Result<Memory, String> {
    if MEMORY_FLAGS.iter().any(|f| has_flag(user_eal, f)) {
        return Ok(Memory::AsEalArgsSay);
    }
    if setting == Hugepages::Off {
        return Ok(Memory::NoHuge {
            why: "hugepages = false".into(),
        });
    }
    let need = u64::from(memory_mb) << 20;
    let free_of = |size: u64| {
        machine
            .free
            .iter()
            .filter(|(s, _)| *s == size)
            .map(|(_, n)| n)
            .sum::<u64>()
    };
    let usable = machine
        .mounts
        .iter()
        .find(|m| free_of(m.page_size) * m.page_size >= need);
    if let Some(m) = usable {
        return Ok(Memory::Hugepages {
            dir: m.dir.clone(),
            page_size: m.page_size,
        });
    }
    let why = if machine.mounts.is_empty() {
        "no hugetlbfs is mounted".to_string()
    } else {
        let seen: Vec<String> = machine
            .mounts
            .iter()
            .map(|m| {
                format!(
                    "{} ({} kB pages, {} MB free)",
                    m.dir.display(),
                    m.page_size >> 10,
                    mb(free_of(m.page_size) * m.page_size)
                )
            })
            .collect();
        format!(
            "no hugetlbfs has {memory_mb} MB free (dataplane.memory_mb): {}",
            seen.join(", ")
        )
    };
    match setting {
        Hugepages::On => Err(format!("hugepages = true, but {why}")),
        _ => Ok(Memory::NoHuge {
            why: format!("hugepages = \"auto\": {why}"),
        }),
    }
}

/// Parses a size as the kernel writes it in hugetlbfs options and sysfs
/// names: `2M`, `1G`, `2048k`, `2048kB`.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let s = s.strip_suffix("B").unwrap_or(s);
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().ok()?;
    let shift = match unit {
        "" => 0,
        "k" | "K" => 10,
        "m" | "M" => 20,
        "g" | "G" => 30,
        _ => return None,
    };
    n.checked_mul(1 << shift)
}

/// The hugetlbfs mounts in `/proc/mounts` text; a mount without a
/// `pagesize=` option has the default size (`default_size`).
pub fn parse_mounts(text: &str, default_size: u64) -> Vec<Mount> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.get(2) != Some(&"hugetlbfs") {
                return None;
            }
            let page_size = f
                .get(3)?
                .split(',')
                .find_map(|o| o.strip_prefix("pagesize="))
                .and_then(parse_size)
                .unwrap_or(default_size);
            // /proc/mounts escapes blanks in paths as octal (\040).
            let dir = f.get(1)?.replace("\\040", " ");
            Some(Mount {
                dir: dir.into(),
                page_size,
            })
        })
        .collect()
}

impl Machine {
    /// This machine now.
    pub fn read() -> Machine {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let default_size = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("Hugepagesize:"))
            .and_then(|v| parse_size(&v.replace(' ', "")))
            .unwrap_or(2 << 20);
        let mounts = parse_mounts(
            &std::fs::read_to_string("/proc/mounts").unwrap_or_default(),
            default_size,
        );
        let mut free = Vec::new();
        let root = Path::new("/sys/kernel/mm/hugepages");
        for e in std::fs::read_dir(root).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(size) = name.strip_prefix("hugepages-").and_then(parse_size) else {
                continue;
            };
            let read = |f: &str| -> u64 {
                std::fs::read_to_string(e.path().join(f))
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0)
            };
            free.push((
                size,
                read("free_hugepages").saturating_sub(read("resv_hugepages")),
            ));
        }
        Machine { mounts, free }
    }
}

/// The EAL's memory arguments for `memory`.
pub fn eal_memory_args(memory: &Memory) -> Vec<String> {
    match memory {
        Memory::Hugepages { dir, .. } => vec![
            format!("--huge-dir={}", dir.display()),
            // No hugepage files (and no shared configuration): nothing
            // stays reserved if the daemon dies.
            "--in-memory".into(),
        ],
        Memory::NoHuge { .. } => vec!["--no-huge".into()],
        Memory::AsEalArgsSay => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB2: u64 = 2 << 20;
    const GB1: u64 = 1 << 30;

    fn machine(mounts: &[(&str, u64)], free: &[(u64, u64)]) -> Machine {
        Machine {
            mounts: mounts
                .iter()
                .map(|(d, s)| Mount {
                    dir: d.into(),
                    page_size: *s,
                })
                .collect(),
            free: free.to_vec(),
        }
    }

    fn no_eal() -> Vec<String> {
        Vec::new()
    }

    #[test]
    fn auto_uses_a_mount_with_enough_free_pages() {
        let m = machine(&[("/dev/hugepages", MB2)], &[(MB2, 200), (GB1, 0)]);
        assert_eq!(
            decide(Hugepages::Auto, &no_eal(), &m, 256),
            Ok(Memory::Hugepages {
                dir: "/dev/hugepages".into(),
                page_size: MB2
            })
        );
        // 200 pages are 400 MB: not enough for 512.
        let d = decide(Hugepages::Auto, &no_eal(), &m, 512).unwrap();
        let Memory::NoHuge { why } = d else {
            panic!("{d:?}")
        };
        assert!(why.contains("400 MB free"), "{why}");
        assert!(why.contains("/dev/hugepages"), "{why}");
    }

    #[test]
    fn auto_skips_mounts_whose_size_has_no_pages() {
        let m = machine(
            &[("/mnt/huge1g", GB1), ("/mnt/huge2m", MB2)],
            &[(MB2, 1000), (GB1, 0)],
        );
        assert_eq!(
            decide(Hugepages::Auto, &no_eal(), &m, 256),
            Ok(Memory::Hugepages {
                dir: "/mnt/huge2m".into(),
                page_size: MB2
            })
        );
    }

    #[test]
    fn nothing_mounted() {
        let m = machine(&[], &[(MB2, 1000)]);
        let d = decide(Hugepages::Auto, &no_eal(), &m, 256).unwrap();
        assert_eq!(
            d,
            Memory::NoHuge {
                why: "hugepages = \"auto\": no hugetlbfs is mounted".into()
            }
        );
        let e = decide(Hugepages::On, &no_eal(), &m, 256).unwrap_err();
        assert_eq!(e, "hugepages = true, but no hugetlbfs is mounted");
    }

    #[test]
    fn off_and_explicit_eal_flags_win() {
        let m = machine(&[("/dev/hugepages", MB2)], &[(MB2, 1000)]);
        assert!(matches!(
            decide(Hugepages::Off, &no_eal(), &m, 256),
            Ok(Memory::NoHuge { .. })
        ));
        for flags in [
            vec!["--no-huge".to_string()],
            vec!["--huge-dir=/x".to_string()],
            vec!["--huge-dir".to_string(), "/x".to_string()],
            vec!["--socket-mem=512".to_string()],
        ] {
            assert_eq!(
                decide(Hugepages::On, &flags, &m, 256),
                Ok(Memory::AsEalArgsSay),
                "{flags:?}"
            );
        }
        // A flag that merely starts like one does not count.
        assert!(!has_flag(&["--no-hugeX".to_string()], "--no-huge"));
    }

    #[test]
    fn eal_arguments_follow_the_decision() {
        let on = Memory::Hugepages {
            dir: "/mnt/h".into(),
            page_size: MB2,
        };
        assert_eq!(eal_memory_args(&on), ["--huge-dir=/mnt/h", "--in-memory"]);
        let off = Memory::NoHuge { why: String::new() };
        assert_eq!(eal_memory_args(&off), ["--no-huge"]);
        assert!(eal_memory_args(&Memory::AsEalArgsSay).is_empty());
    }

    #[test]
    fn mounts_and_sizes_parse() {
        let text = "proc /proc proc rw 0 0\n\
                    none /mnt/my\\040huge hugetlbfs rw,relatime,pagesize=1024M 0 0\n\
                    hugetlbfs /dev/hugepages hugetlbfs rw,relatime 0 0\n\
                    tmpfs /tmp tmpfs rw 0 0\n";
        assert_eq!(
            parse_mounts(text, MB2),
            vec![
                Mount {
                    dir: "/mnt/my huge".into(),
                    page_size: GB1
                },
                Mount {
                    dir: "/dev/hugepages".into(),
                    page_size: MB2
                }
            ]
        );
        assert_eq!(parse_size("2048kB"), Some(MB2));
        assert_eq!(parse_size("2M"), Some(MB2));
        assert_eq!(parse_size("1G"), Some(GB1));
        assert_eq!(parse_size("1048576kB"), Some(GB1));
        assert_eq!(parse_size("2X"), None);
        assert_eq!(parse_size(""), None);
    }
}
