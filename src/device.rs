//! The devices neurtl builds for, in one vocabulary shared by every
//! command: a family (`xilinx`, `ice40`, `asic`), optionally with a part
//! (`ice40:hx1k`, `xilinx:xc7a35t`). The family decides the delay model
//! and the synthesis flow; the part decides what a design must fit.

use crate::backend::timing::DEVICES;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A device family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Xilinx 7-series: LUT6, CARRY4, flip-flops; timing from datasheet
    /// delays.
    Xilinx,
    /// Lattice iCE40: timing fitted to nextpnr-ice40.
    Ice40,
    /// A standard-cell flow: hardware counts only (no LUTs, no timing).
    Asic,
}

impl Family {
    pub const ALL: [Family; 3] = [Family::Xilinx, Family::Ice40, Family::Asic];

    /// The name a user writes.
    pub fn name(self) -> &'static str {
        match self {
            Family::Xilinx => "xilinx",
            Family::Ice40 => "ice40",
            Family::Asic => "asic",
        }
    }

    /// The name a table prints.
    pub fn title(self) -> &'static str {
        match self {
            Family::Xilinx => "Xilinx 7-series",
            Family::Ice40 => "iCE40",
            Family::Asic => "ASIC",
        }
    }

    /// Which of the back end's delay models (`DEVICES`, and the entries of
    /// each `Arrival`) is this family's, when it has one.
    pub fn delay_model(self) -> Option<usize> {
        match self {
            Family::Asic => None,
            f => DEVICES.iter().position(|d| d.name == f.name()),
        }
    }

    /// The parts of this family neurtl knows.
    pub fn parts(self) -> impl Iterator<Item = &'static Part> {
        PARTS.iter().filter(move |p| p.family == self)
    }

    fn part_names(self) -> String {
        self.parts().map(|p| p.name).collect::<Vec<_>>().join(", ")
    }
}

/// A part: what it holds, for the fit check, and for iCE40 what
/// nextpnr-ice40 is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub family: Family,
    /// The part's name; for iCE40 nextpnr's `--NAME` flag.
    pub name: &'static str,
    /// iCE40: the package passed with it (nextpnr's default for the part,
    /// which it wants stated). Empty elsewhere.
    pub package: &'static str,
    /// 7-series: LUT6s. iCE40: logic cells (ICESTORM_LC, one LUT4 and one
    /// flip-flop each; the 4k parts are the 8k die to nextpnr).
    pub luts: u64,
    pub flip_flops: u64,
}

const fn ice40(name: &'static str, package: &'static str, cells: u64) -> Part {
    Part {
        family: Family::Ice40,
        name,
        package,
        luts: cells,
        flip_flops: cells,
    }
}

const fn xc7(name: &'static str, luts: u64) -> Part {
    Part {
        family: Family::Xilinx,
        name,
        package: "",
        luts,
        // Every 7-series slice holds two flip-flops per LUT.
        flip_flops: 2 * luts,
    }
}

/// The known parts: the iCE40s nextpnr-ice40 places, and common 7-series
/// parts with the LUT counts of their data sheets.
pub const PARTS: &[Part] = &[
    ice40("lp384", "qn32", 384),
    ice40("lp1k", "tq144", 1280),
    ice40("lp4k", "tq144", 7680),
    ice40("lp8k", "ct256", 7680),
    ice40("hx1k", "tq144", 1280),
    ice40("hx4k", "tq144", 7680),
    ice40("hx8k", "ct256", 7680),
    ice40("up3k", "sg48", 5280),
    ice40("up5k", "sg48", 5280),
    ice40("u4k", "sg48", 3520),
    xc7("xc7a35t", 20_800),
    xc7("xc7a50t", 32_600),
    xc7("xc7a100t", 63_400),
    xc7("xc7a200t", 134_600),
    xc7("xc7z020", 53_200),
    xc7("xc7k160t", 101_400),
    xc7("xc7k325t", 203_800),
    xc7("xc7vx690t", 433_200),
];

/// The part the iCE40 flow routes on when none is named: the largest, so
/// most small designs fit.
pub const DEFAULT_ICE40_PART: &str = "hx8k";

/// What a user names with `--device`: a family, optionally with a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceSpec {
    pub family: Family,
    pub part: Option<&'static Part>,
}

impl DeviceSpec {
    pub fn family(family: Family) -> DeviceSpec {
        DeviceSpec { family, part: None }
    }

    /// The part to place on: the one named, or the family's default
    /// (iCE40 only: placement needs a part).
    pub fn part_or_default(&self) -> Option<&'static Part> {
        self.part.or_else(|| match self.family {
            Family::Ice40 => PARTS.iter().find(|p| p.name == DEFAULT_ICE40_PART),
            _ => None,
        })
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.part {
            Some(p) => write!(f, "{}:{}", self.family.name(), p.name),
            None => f.write_str(self.family.name()),
        }
    }
}

/// Why a `--device` value was refused, with the way to say it right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DeviceError(String);

impl std::str::FromStr for DeviceSpec {
    type Err = DeviceError;

    fn from_str(s: &str) -> Result<DeviceSpec, DeviceError> {
        let (fam, part) = match s.split_once(':') {
            Some((f, p)) => (f, Some(p)),
            None => (s, None),
        };
        let families = Family::ALL.map(|f| f.name()).join(", ");
        let Some(family) = Family::ALL.into_iter().find(|f| f.name() == fam) else {
            let hint = match PARTS.iter().find(|p| p.name == s) {
                Some(p) => format!("; `{s}` is a part: write `{}:{s}`", p.family.name()),
                None => String::new(),
            };
            return Err(DeviceError(format!(
                "unknown device `{s}`: a device is a family ({families}), optionally with a \
                 part after a colon, as in `ice40:hx1k`{hint}"
            )));
        };
        let part = match part {
            None => None,
            Some(p) => Some(family.parts().find(|q| q.name == p).ok_or_else(|| {
                DeviceError(match family.part_names() {
                    n if n.is_empty() => format!("`{s}`: {fam} has no parts to choose"),
                    n => format!("`{s}`: unknown {} part; known: {n}", family.title()),
                })
            })?),
        };
        Ok(DeviceSpec { family, part })
    }
}

// Written to neurtl.json as the user wrote it, so build directories from
// before parts existed (`"device": "ice40"`) still load.
impl Serialize for DeviceSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<DeviceSpec, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// One resource of a part: used of available.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Utilization {
    pub resource: String,
    pub used: u64,
    pub available: u64,
}

impl Utilization {
    pub fn fits(&self) -> bool {
        self.used <= self.available
    }

    /// `1,234 of 20,800 LUTs (5.9 %)`.
    pub fn text(&self) -> String {
        format!(
            "{} of {} {} ({:.1} %){}",
            self.used,
            self.available,
            self.resource,
            100.0 * self.used as f64 / self.available as f64,
            if self.fits() { "" } else { ": DOES NOT FIT" }
        )
    }
}

/// How much of `part` a design of `luts` 7-series LUTs and `flip_flops`
/// takes. On iCE40 a logic cell holds one LUT4, never more logic than a
/// LUT6, and one flip-flop: the larger of the two is a lower bound on the
/// cells.
pub fn utilization(part: &Part, luts: u64, flip_flops: u64) -> Vec<Utilization> {
    let u = |resource: &str, used, available| Utilization {
        resource: resource.into(),
        used,
        available,
    };
    match part.family {
        Family::Ice40 => vec![u("logic cells (at least)", luts.max(flip_flops), part.luts)],
        _ => vec![
            u("LUTs", luts, part.luts),
            u("flip-flops", flip_flops, part.flip_flops),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_and_part_reads_back_as_written() {
        for f in Family::ALL {
            let s = DeviceSpec::family(f);
            assert_eq!(s.to_string().parse::<DeviceSpec>(), Ok(s));
            for p in f.parts() {
                let text = format!("{}:{}", f.name(), p.name);
                let s: DeviceSpec = text.parse().unwrap();
                assert_eq!((s.family, s.part.map(|p| p.name)), (f, Some(p.name)));
                assert_eq!(s.to_string(), text);
            }
        }
    }

    #[test]
    fn a_bare_part_or_a_wrong_part_is_refused_with_the_right_spelling() {
        let err = |s: &str| s.parse::<DeviceSpec>().unwrap_err().to_string();
        assert!(
            err("hx1k").contains("write `ice40:hx1k`"),
            "{}",
            err("hx1k")
        );
        assert!(err("xc7a35t").contains("`xilinx:xc7a35t`"));
        assert!(err("ice40:xc7a35t").contains("unknown iCE40 part"));
        assert!(err("asic:x").contains("asic has no parts"));
        assert!(err("altera").contains("xilinx, ice40, asic"));
    }

    #[test]
    fn only_ice40_defaults_a_part() {
        let d = |s: &str| s.parse::<DeviceSpec>().unwrap().part_or_default();
        assert_eq!(d("ice40").map(|p| p.name), Some(DEFAULT_ICE40_PART));
        assert_eq!(d("ice40:hx1k").map(|p| p.name), Some("hx1k"));
        assert_eq!(d("xilinx"), None);
        assert_eq!(d("asic"), None);
    }

    #[test]
    fn utilization_flags_one_over_the_part() {
        let p = "xilinx:xc7a35t"
            .parse::<DeviceSpec>()
            .unwrap()
            .part
            .unwrap();
        let at = |luts| utilization(p, luts, 0)[0].fits();
        assert!(at(p.luts) && !at(p.luts + 1));
        let ice = "ice40:hx1k".parse::<DeviceSpec>().unwrap().part.unwrap();
        let cells = |l, f| utilization(ice, l, f)[0].used;
        assert_eq!((cells(5, 9), cells(9, 5)), (9, 9));
    }
}
