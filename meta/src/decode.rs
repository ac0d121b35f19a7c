//! Decoding the raw bytes of an `upstare_meta` section into a [`Module`].
//!
//! Two steps. `entries` walks the section: it skips zero words the linker left between entries,
//! checks each header (magic, counts, bounds) and splits the strings. `build` then interprets
//! each entry by kind, checks that its counts agree with the numbers it announces (fields,
//! locals), and finally resolves every point to its function by (file, name) and checks that each
//! function has exactly the points it declares. All arithmetic on sizes read from the section is
//! checked, so corrupt input yields a [`MetaError`], never a panic or a huge allocation.

use std::collections::HashMap;

use crate::error::MetaError;
use crate::ids::{FuncId, Table};
use crate::model::{
    Field, FieldLayout, Function, FunctionFlags, Global, GlobalFlags, Local, LocalFlags, Module,
    Point, PointKey, Type, Typedef, Unit,
};
use crate::FORMAT_VERSION;

/// `U P S T` read as a little-endian u32.
pub(crate) const MAGIC: u32 = 0x5453_5055;
const HEADER: u64 = 16;

pub(crate) const KIND_UNIT: u32 = 1;
pub(crate) const KIND_TYPE: u32 = 2;
pub(crate) const KIND_GLOBAL: u32 = 3;
pub(crate) const KIND_FUNCTION: u32 = 4;
pub(crate) const KIND_POINT: u32 = 5;
pub(crate) const KIND_TYPEDEF: u32 = 6;

/// One entry as laid out in the section, before interpretation.
struct RawEntry<'a> {
    offset: u64,
    kind: u32,
    numbers: Vec<u64>,
    strings: Vec<&'a str>,
}

impl Module {
    /// Decodes the contents of one `upstare_meta` section (e.g. read from memory between
    /// `__start_upstare_meta` and `__stop_upstare_meta`).
    pub fn from_section(bytes: &[u8]) -> Result<Module, MetaError> {
        Module::from_sections(&[bytes])
    }

    /// Decodes several `upstare_meta` sections as one module (a relocatable object may hold
    /// more than one). Offsets in errors are relative to the section they occur in.
    pub fn from_sections(sections: &[&[u8]]) -> Result<Module, MetaError> {
        let mut raw = Vec::new();
        for bytes in sections {
            entries(bytes, &mut raw)?;
        }
        build(&raw)
    }
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// Splits `bytes` into raw entries, appended to `out`.
fn entries<'a>(bytes: &'a [u8], out: &mut Vec<RawEntry<'a>>) -> Result<(), MetaError> {
    let len = bytes.len() as u64;
    let mut pos: u64 = 0;
    while pos < len {
        let rest = &bytes[pos as usize..];
        let available = len - pos;
        // A word whose magic is zero is padding the linker left between entries (FORMAT.md);
        // so is a zero tail shorter than a magic.
        let magic_bytes = &rest[..rest.len().min(4)];
        if magic_bytes.iter().all(|&b| b == 0) {
            pos += 8;
            continue;
        }
        if available < HEADER {
            return Err(MetaError::Truncated {
                offset: pos,
                needed: HEADER,
                available,
            });
        }
        let magic = le_u32(&rest[0..4]);
        if magic != MAGIC {
            return Err(MetaError::BadMagic {
                offset: pos,
                found: magic,
            });
        }
        let kind = le_u32(&rest[4..8]);
        let n = u64::from(le_u32(&rest[8..12]));
        let s = u64::from(le_u32(&rest[12..16]));
        let kind_name = kind_name(kind).ok_or(MetaError::UnknownKind { offset: pos, kind })?;
        if n == 0 || s == 0 {
            let problem = format!("{n} numbers and {s} string bytes (at least 1 of each)");
            return Err(MetaError::WrongCount {
                offset: pos,
                kind: kind_name,
                problem,
            });
        }
        // n and s are u32, so this cannot overflow a u64.
        let needed = HEADER + 8 * n + s;
        if needed > available {
            return Err(MetaError::Truncated {
                offset: pos,
                needed,
                available,
            });
        }
        let numbers = rest[HEADER as usize..(HEADER + 8 * n) as usize]
            .chunks_exact(8)
            .map(le_u64)
            .collect();
        let text = &rest[(HEADER + 8 * n) as usize..needed as usize];
        let strings = split_strings(text, pos + HEADER + 8 * n, kind_name)?;
        out.push(RawEntry {
            offset: pos,
            kind,
            numbers,
            strings,
        });
        // The last entry's padding may be cut off at the end of the section.
        pos += needed.next_multiple_of(8);
    }
    Ok(())
}

/// Splits NUL-terminated strings; `offset` is where `text` starts, for messages.
fn split_strings<'a>(
    text: &'a [u8],
    offset: u64,
    kind: &'static str,
) -> Result<Vec<&'a str>, MetaError> {
    let Some((&0, body)) = text.split_last() else {
        return Err(MetaError::Invalid {
            offset,
            kind,
            problem: "the last string is not NUL-terminated".into(),
        });
    };
    let body = std::str::from_utf8(body).map_err(|e| MetaError::BadUtf8 {
        offset: offset + e.valid_up_to() as u64,
    })?;
    Ok(body.split('\0').collect())
}

fn kind_name(kind: u32) -> Option<&'static str> {
    Some(match kind {
        KIND_UNIT => "unit",
        KIND_TYPE => "type",
        KIND_GLOBAL => "global",
        KIND_FUNCTION => "function",
        KIND_POINT => "point",
        KIND_TYPEDEF => "typedef",
        _ => return None,
    })
}

impl RawEntry<'_> {
    fn kind_name(&self) -> &'static str {
        kind_name(self.kind).unwrap_or("unknown")
    }

    /// Checks the entry holds `fixed + per * count` numbers and `sfixed + sper * count` strings.
    fn expect(
        &self,
        count: u64,
        (fixed, per): (u64, u64),
        (sfixed, sper): (u64, u64),
        what: &str,
    ) -> Result<(), MetaError> {
        let want_n = per.checked_mul(count).and_then(|x| x.checked_add(fixed));
        let want_s = sper.checked_mul(count).and_then(|x| x.checked_add(sfixed));
        let (n, s) = (self.numbers.len() as u64, self.strings.len() as u64);
        if want_n == Some(n) && want_s == Some(s) {
            return Ok(());
        }
        let show = |w: Option<u64>| {
            w.map_or_else(|| "an impossible number of".to_string(), |w| w.to_string())
        };
        let problem = format!(
            "{n} numbers and {s} strings; with {count} {what} it needs {} numbers and {} strings",
            show(want_n),
            show(want_s)
        );
        Err(MetaError::WrongCount {
            offset: self.offset,
            kind: self.kind_name(),
            problem,
        })
    }

    /// The count announced in number `i` (only called once the entry has at least `i + 1`).
    fn count_at(&self, i: usize, fixed: usize) -> Result<u64, MetaError> {
        match self.numbers.get(i) {
            Some(&c) => Ok(c),
            None => Err(MetaError::WrongCount {
                offset: self.offset,
                kind: self.kind_name(),
                problem: format!(
                    "{} numbers, fewer than the {fixed} fixed ones",
                    self.numbers.len()
                ),
            }),
        }
    }

    fn u32(&self, what: &str, value: u64) -> Result<u32, MetaError> {
        u32::try_from(value).map_err(|_| self.invalid(format!("{what} {value} is out of range")))
    }

    fn invalid(&self, problem: String) -> MetaError {
        MetaError::Invalid {
            offset: self.offset,
            kind: self.kind_name(),
            problem,
        }
    }
}

/// A function entry kept until its points are resolved.
struct PendingFunction {
    offset: u64,
    npoints: u32,
}

/// Interprets raw entries and resolves cross-references.
fn build(raw: &[RawEntry<'_>]) -> Result<Module, MetaError> {
    let mut m = Module::default();
    let mut pending = Vec::new();
    let mut raw_points = Vec::new();
    for e in raw {
        match e.kind {
            KIND_UNIT => {
                e.expect(0, (1, 0), (2, 0), "")?;
                let unit = Unit {
                    source: e.strings[0].into(),
                    producer: e.strings[1].into(),
                    format_version: e.numbers[0],
                };
                if unit.format_version != FORMAT_VERSION {
                    return Err(MetaError::UnsupportedVersion {
                        source_file: unit.source,
                        version: unit.format_version,
                    });
                }
                m.units.push(unit);
            }
            KIND_TYPE => {
                let nfields = e.count_at(2, 3)?;
                e.expect(nfields, (3, 3), (1, 2), "fields")?;
                let fields = (0..nfields as usize)
                    .map(|i| {
                        let [offset, size, width] = [0, 1, 2].map(|k| e.numbers[3 + 3 * i + k]);
                        let layout = match (offset, size, width) {
                            (u64::MAX, 0, w) if w > 0 => FieldLayout::Bits { width: w },
                            (o, s, 0) if o != u64::MAX => FieldLayout::Bytes { offset: o, size: s },
                            _ => {
                                return Err(e.invalid(format!(
                                    "field {i} has offset {offset}, size {size} and bit width {width}, which is neither a field nor a bit-field"
                                )))
                            }
                        };
                        Ok(Field { name: e.strings[1 + 2 * i].into(), ty: e.strings[2 + 2 * i].into(), layout })
                    })
                    .collect::<Result<_, _>>()?;
                m.types.push(Type {
                    name: e.strings[0].into(),
                    size: e.numbers[0],
                    align: e.numbers[1],
                    fields,
                });
            }
            KIND_GLOBAL => {
                e.expect(0, (3, 0), (3, 0), "")?;
                let bits = e.numbers[2];
                if bits & !7 != 0 {
                    return Err(e.invalid(format!("unknown flag bits {bits:#x}")));
                }
                let flags = GlobalFlags {
                    internal: bits & 1 != 0,
                    static_local: bits & 2 != 0,
                    constant: bits & 4 != 0,
                };
                m.globals.push(Global {
                    key: e.strings[0].into(),
                    name: e.strings[1].into(),
                    ty: e.strings[2].into(),
                    size: e.numbers[0],
                    align: e.numbers[1],
                    flags,
                });
            }
            KIND_FUNCTION => {
                e.expect(0, (3, 0), (2, 0), "")?;
                let bits = e.numbers[2];
                if bits & !3 != 0 {
                    return Err(e.invalid(format!("unknown flag bits {bits:#x}")));
                }
                let npoints = e.u32("point count", e.numbers[0])?;
                m.functions.push(Function {
                    file: e.strings[0].into(),
                    name: e.strings[1].into(),
                    line: e.u32("line", e.numbers[1])?,
                    flags: FunctionFlags {
                        internal: bits & 1 != 0,
                        not_updatable: bits & 2 != 0,
                    },
                    points: Vec::new(),
                });
                pending.push(PendingFunction {
                    offset: e.offset,
                    npoints,
                });
            }
            KIND_POINT => {
                let nlocals = e.count_at(4, 5)?;
                e.expect(nlocals, (5, 3), (3, 2), "locals")?;
                let locals = (0..nlocals as usize)
                    .map(|i| {
                        let bits = e.numbers[5 + 3 * i + 2];
                        if bits & !7 != 0 {
                            return Err(
                                e.invalid(format!("local {i} has unknown flag bits {bits:#x}"))
                            );
                        }
                        Ok(Local {
                            name: e.strings[3 + 2 * i].into(),
                            ty: e.strings[4 + 2 * i].into(),
                            offset: e.numbers[5 + 3 * i],
                            size: e.numbers[5 + 3 * i + 1],
                            flags: LocalFlags {
                                boxed: bits & 1 != 0,
                                temporary: bits & 2 != 0,
                                parameter: bits & 4 != 0,
                            },
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let key: PointKey = e.strings[1]
                    .parse()
                    .map_err(|err| e.invalid(format!("{err}")))?;
                raw_points.push((e, key, locals));
            }
            KIND_TYPEDEF => {
                e.expect(0, (2, 0), (3, 0), "")?;
                m.typedefs.push(Typedef {
                    name: e.strings[0].into(),
                    file: e.strings[1].into(),
                    target: e.strings[2].into(),
                    size: e.numbers[0],
                    align: e.numbers[1],
                });
            }
            // `entries` only lets known kinds through.
            _ => {
                return Err(MetaError::UnknownKind {
                    offset: e.offset,
                    kind: e.kind,
                })
            }
        }
    }
    resolve_points(&mut m, &pending, raw_points)?;
    Ok(m)
}

/// Gives every point its function and every function its points, checking both sides agree.
fn resolve_points(
    m: &mut Module,
    pending: &[PendingFunction],
    raw_points: Vec<(&RawEntry<'_>, PointKey, Vec<Local>)>,
) -> Result<(), MetaError> {
    // (file, name) -> function; `None` marks a pair defined twice, an error only if a point uses it.
    let mut by_name: HashMap<(String, String), Option<FuncId>> = HashMap::new();
    for (id, f) in m.functions.iter() {
        by_name
            .entry((f.file.clone(), f.name.clone()))
            .and_modify(|v| *v = None)
            .or_insert(Some(id));
    }
    // Per function, its points as (index, id); checked against the declared count at the end.
    // (No table sized by a declared count: a corrupt count must not become a huge allocation.)
    let mut found: Vec<Vec<(u32, crate::PointId)>> = pending.iter().map(|_| Vec::new()).collect();
    let mut points = Table::new();
    for (e, key, locals) in raw_points {
        let (function_name, file) = (e.strings[0], e.strings[2]);
        let func = match by_name.get(&(file.to_string(), function_name.to_string())) {
            Some(Some(id)) => *id,
            Some(None) => {
                return Err(e.invalid(format!(
                    "function `{function_name}` of {file} is defined twice"
                )))
            }
            None => {
                return Err(e.invalid(format!(
                    "function `{function_name}` of {file} has no function entry"
                )))
            }
        };
        let index = e.u32("point index", e.numbers[0])?;
        let declared = pending[func.0 as usize].npoints;
        if index >= declared {
            return Err(e.invalid(format!(
                "point {index} of `{function_name}`, which declares {declared} points"
            )));
        }
        let point = Point {
            function: func,
            key,
            index,
            file: file.into(),
            line: e.u32("line", e.numbers[1])?,
            record_size: e.numbers[2],
            record_align: e.numbers[3],
            locals,
        };
        found[func.0 as usize].push((index, points.push(point)));
    }
    for ((id, mut list), p) in (0..).map(FuncId).zip(found).zip(pending) {
        list.sort_unstable();
        let f = &m.functions[id];
        if let Some(w) = list.windows(2).find(|w| w[0].0 == w[1].0) {
            let e = &points[w[1].1];
            let problem = format!(
                "point {} of `{}` appears twice (key {})",
                w[1].0, f.name, e.key
            );
            return Err(MetaError::Invalid {
                offset: p.offset,
                kind: "function",
                problem,
            });
        }
        // Indices are distinct and below `npoints`, so equal counts mean every index is present.
        if list.len() != p.npoints as usize {
            let problem = format!(
                "{} points declared for `{}` but {} found in the section",
                p.npoints,
                f.name,
                list.len()
            );
            return Err(MetaError::WrongCount {
                offset: p.offset,
                kind: "function",
                problem,
            });
        }
        m.functions.get_mut(id).points = list.into_iter().map(|(_, pid)| pid).collect();
    }
    m.points = points;
    Ok(())
}
