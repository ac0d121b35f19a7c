//! Maps byte offsets of preprocessed text back to the original file and line.
//!
//! The preprocessor marks every change of file with `# LINE "FILE" FLAGS`; flag 3 says the
//! text comes from a system header. This module only reads those markers; it never changes text.

/// One run of lines from the same file, starting at a byte offset of the preprocessed text.
#[derive(Debug, Clone)]
struct Run {
    offset: usize,
    file: usize,
    line: u32,
    system: bool,
}

/// Where a byte of preprocessed text came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin<'a> {
    pub file: &'a str,
    pub line: u32,
    pub column: u32,
    pub system: bool,
}

/// Offsets of line markers and line starts of one preprocessed unit.
pub struct LineMap {
    files: Vec<String>,
    runs: Vec<Run>,
    line_starts: Vec<usize>,
}

impl LineMap {
    pub fn new(text: &str) -> LineMap {
        let mut files: Vec<String> = Vec::new();
        let mut runs = Vec::new();
        let mut line_starts = vec![0];
        let mut pos = 0;
        for line in text.split_inclusive('\n') {
            let next = pos + line.len();
            if let Some((num, file, flags)) = parse_marker(line) {
                let idx = match files.iter().position(|f| *f == file) {
                    Some(i) => i,
                    None => {
                        files.push(file);
                        files.len() - 1
                    }
                };
                runs.push(Run {
                    offset: next,
                    file: idx,
                    line: num,
                    system: flags.contains(&3),
                });
            }
            line_starts.push(next);
            pos = next;
        }
        if files.is_empty() {
            files.push("<input>".to_string());
            runs.push(Run {
                offset: 0,
                file: 0,
                line: 1,
                system: false,
            });
        }
        LineMap {
            files,
            runs,
            line_starts,
        }
    }

    /// The original location of `offset`.
    pub fn origin(&self, offset: usize) -> Origin<'_> {
        let run_idx = match self.runs.binary_search_by(|r| r.offset.cmp(&offset)) {
            Ok(i) => i,
            Err(0) => 0,
            Err(i) => i - 1,
        };
        let run = &self.runs[run_idx];
        let line_of = |off: usize| match self.line_starts.binary_search(&off) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let here = line_of(offset);
        let base = line_of(run.offset.min(offset));
        let column = offset - self.line_starts[here] + 1;
        Origin {
            file: &self.files[run.file],
            line: run.line + (here - base) as u32,
            column: column as u32,
            system: run.system,
        }
    }

    /// The first file named by a marker: the unit's main source file.
    pub fn main_file(&self) -> &str {
        self.files.first().map(String::as_str).unwrap_or("<input>")
    }
}

/// Parses `# 12 "file.c" 1 3` (and `#line 12 "file.c"`).
fn parse_marker(line: &str) -> Option<(u32, String, Vec<u32>)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let rest = rest.strip_prefix("line").unwrap_or(rest).trim_start();
    let digits = rest.find(|c: char| !c.is_ascii_digit())?;
    if digits == 0 {
        return None;
    }
    let num: u32 = rest[..digits].parse().ok()?;
    let rest = rest[digits..].trim_start().strip_prefix('"')?;
    let mut file = String::new();
    let mut chars = rest.char_indices();
    let mut end = None;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, e)) = chars.next() {
                    file.push(e);
                }
            }
            '"' => {
                end = Some(i);
                break;
            }
            _ => file.push(c),
        }
    }
    let flags = rest[end? + 1..]
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    Some((num, file, flags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_offsets_through_markers() {
        let text =
            "# 1 \"a.c\"\nint x;\n# 5 \"/usr/include/h.h\" 1 3\nint y;\n# 3 \"a.c\" 2\n\nint z;\n";
        let map = LineMap::new(text);
        let at = |s: &str| map.origin(text.find(s).unwrap());
        assert_eq!(
            (at("int x").file, at("int x").line, at("int x").system),
            ("a.c", 1, false)
        );
        assert_eq!(
            (at("int y").file, at("int y").line, at("int y").system),
            ("/usr/include/h.h", 5, true)
        );
        assert_eq!((at("int z").file, at("int z").line), ("a.c", 4));
        assert_eq!(at("z;").column, 5);
        assert_eq!(map.main_file(), "a.c");
    }
}
