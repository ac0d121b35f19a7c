//! C type text, parsed: what the metadata's type strings (`int *`, `struct conn`, `char [16]`,
//! `size_t`, `int (*)(int)`) mean, so that two versions' types can be compared and converted.
//!
//! [`parse`] reads one type name (specifiers and an abstract declarator) into a [`CType`].
//! Qualifiers, storage classes and attributes are ignored; text it cannot read (`__typeof__(...)`
//! of compiler temporaries, `struct { ... }` bodies, array sizes that are not integer constant
//! arithmetic, `_Complex`) becomes [`CType::Opaque`], compared by its text only.
//!
//! Names of system typedefs are not in the metadata (only user files' typedefs are), so a table of
//! well-known glibc names for x86-64 Linux stands in: scalar ones (`size_t`, `uint32_t`, `pid_t`,
//! `pthread_t`, ...) parse straight to their integer type; opaque ones (`FILE`,
//! `pthread_mutex_t`, `jmp_buf`, `va_list`, ...) stay [`CType::Typedef`] and are copied as bytes.
//! A user typedef is resolved through the module's typedef entries ([`Module::resolve`]).
//!
//! The sizes here are facts of the x86-64 System V ABI and glibc (`long` is 8 bytes, `char` is
//! signed, `long double` occupies 16 bytes); every other layout number comes from the metadata.

use std::fmt;

use crate::ids::TypeId;
use crate::model::Module;

/// The meaning of one piece of C type text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CType {
    Void,
    /// `_Bool` (and `bool`).
    Bool,
    /// `char` (signed on x86-64), `short`, `int`, `long` (8), `long long`, `__int128` (16),
    /// signed or unsigned; also the well-known integer typedefs.
    Int {
        bytes: u8,
        signed: bool,
    },
    /// `float` (4), `double` (8), `long double` (16, of which 10 carry the value).
    Float {
        bytes: u8,
    },
    Pointer(Box<CType>),
    /// `int [4]`, `char []` (no count); `int [2][3]` is `Array(Array(int, 3), 2)`.
    Array(Box<CType>, Option<u64>),
    /// A function type (its signature is not kept); `int (*)(int)` is `Pointer(Function)`.
    Function,
    /// `struct foo` (tag `foo`) or `union u`.
    Record {
        union: bool,
        tag: String,
    },
    /// `enum e` (tag `e`).
    Enum(String),
    /// A name that is neither a keyword type nor a well-known scalar typedef: a user typedef, or
    /// a well-known opaque one (`FILE`, `pthread_mutex_t`).
    Typedef(String),
    /// Text that is not read (`__typeof__(...)`, a `struct { ... }` body, anything unparsable),
    /// with its whitespace normalised: compared by text only.
    Opaque(String),
}

impl CType {
    /// True for the scalar types whose value is an integer (`_Bool`, integers, enums).
    pub fn is_integer(&self) -> bool {
        matches!(self, CType::Bool | CType::Int { .. } | CType::Enum(_))
    }

    /// `(bytes, signed)` of an integer-like type: `_Bool` is `(1, false)`, an enum `(4, true)`
    /// (gcc gives enums `int` unless a value needs more, which this does not know).
    pub fn int_repr(&self) -> Option<(u8, bool)> {
        match *self {
            CType::Bool => Some((1, false)),
            CType::Int { bytes, signed } => Some((bytes, signed)),
            CType::Enum(_) => Some((4, true)),
            _ => None,
        }
    }
}

/// Canonical C text: `unsigned long`, `int *`, `int (*)[4]`, `struct s *[8]`. A function type,
/// whose signature is not kept, prints as `function` (`function *` for a function pointer).
impl fmt::Display for CType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Walk from the outside in, building the declarator around the base.
        let mut decl = String::new();
        let mut t = self;
        loop {
            match t {
                CType::Pointer(inner) => {
                    decl.insert(0, '*');
                    t = inner;
                }
                CType::Array(inner, n) => {
                    if decl.starts_with('*') {
                        decl = format!("({decl})");
                    }
                    match n {
                        Some(n) => decl.push_str(&format!("[{n}]")),
                        None => decl.push_str("[]"),
                    }
                    t = inner;
                }
                _ => break,
            }
        }
        let base = match t {
            CType::Void => "void".to_string(),
            CType::Bool => "_Bool".to_string(),
            CType::Int { bytes, signed } => {
                let name = match bytes {
                    1 => "char",
                    2 => "short",
                    4 => "int",
                    8 => "long",
                    16 => "__int128",
                    _ => "int?",
                };
                match (*bytes, *signed) {
                    (1, true) => "char".to_string(),
                    (_, true) => name.to_string(),
                    (_, false) => format!("unsigned {name}"),
                }
            }
            CType::Float { bytes: 4 } => "float".to_string(),
            CType::Float { bytes: 8 } => "double".to_string(),
            CType::Float { .. } => "long double".to_string(),
            CType::Function => "function".to_string(),
            CType::Record { union, tag } => {
                format!("{} {tag}", if *union { "union" } else { "struct" })
            }
            CType::Enum(tag) => format!("enum {tag}"),
            CType::Typedef(name) | CType::Opaque(name) => name.clone(),
            CType::Pointer(_) | CType::Array(..) => unreachable!("peeled above"),
        };
        if decl.is_empty() {
            f.write_str(&base)
        } else {
            write!(f, "{base} {decl}")
        }
    }
}

/// Parses C type text. Never fails: what it cannot read is [`CType::Opaque`].
pub fn parse(text: &str) -> CType {
    let opaque = || CType::Opaque(normalise(text));
    let Some(toks) = tokens(text) else {
        return opaque();
    };
    let mut p = Parser {
        toks: &toks,
        pos: 0,
    };
    match p.type_name() {
        Some(t) if p.pos == toks.len() => t,
        _ => opaque(),
    }
}

/// `text` with runs of whitespace made one space, trimmed.
fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Num(String),
    Punct(&'static str),
}

/// Splits type text into tokens; `None` for text that is never read (typeof, bodies, strings).
fn tokens(text: &str) -> Option<Vec<Tok>> {
    const PUNCT: [&str; 13] = [
        "<<", ">>", "*", "(", ")", "[", "]", ",", "+", "-", "/", "%", "...",
    ];
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
        } else if c == '_' || c.is_ascii_alphanumeric() {
            let end = rest
                .find(|ch: char| ch != '_' && !ch.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            let word = &rest[..end];
            rest = &rest[end..];
            if c.is_ascii_digit() {
                out.push(Tok::Num(word.to_string()));
            } else if matches!(word, "__typeof__" | "__typeof" | "typeof" | "typeof_unqual") {
                return None;
            } else {
                out.push(Tok::Ident(word.to_string()));
            }
        } else {
            let p = PUNCT.iter().find(|p| rest.starts_with(**p))?;
            out.push(Tok::Punct(p));
            rest = &rest[p.len()..];
        }
    }
    Some(out)
}

struct Parser<'a> {
    toks: &'a [Tok],
    pos: usize,
}

/// Words that change nothing about a type's representation.
fn is_ignored_word(w: &str) -> bool {
    matches!(
        w,
        "const"
            | "__const"
            | "__const__"
            | "volatile"
            | "__volatile"
            | "__volatile__"
            | "restrict"
            | "__restrict"
            | "__restrict__"
            | "static"
            | "register"
            | "extern"
            | "auto"
            | "inline"
            | "__inline"
            | "__inline__"
            | "_Thread_local"
            | "__thread"
            | "__extension__"
            | "_Noreturn"
            | "_Atomic"
    )
}

/// Words followed by a parenthesised argument that changes nothing we model.
fn is_ignored_call(w: &str) -> bool {
    matches!(
        w,
        "__attribute__" | "__attribute" | "_Alignas" | "__declspec" | "__asm__" | "__asm"
    )
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn peek_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::Punct(q)) if *q == p)
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        let yes = self.peek_punct(p);
        if yes {
            self.pos += 1;
        }
        yes
    }

    /// The position of the token closing the bracket at `open` (`(` or `[`).
    fn matching(&self, open: usize) -> Option<usize> {
        let mut depth = 0usize;
        for (i, t) in self.toks.iter().enumerate().skip(open) {
            match t {
                Tok::Punct("(" | "[") => depth += 1,
                Tok::Punct(")" | "]") => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Skips qualifiers and attributes (after a `*`, or among specifiers).
    /// Returns `None` on a malformed attribute or on `_Atomic(T)`, which is not read.
    fn skip_ignored(&mut self) -> Option<()> {
        while let Some(Tok::Ident(w)) = self.peek() {
            if is_ignored_call(w) {
                self.pos += 1;
                if !self.peek_punct("(") {
                    return None;
                }
                self.pos = self.matching(self.pos)? + 1;
            } else if w == "_Atomic" && self.toks.get(self.pos + 1) == Some(&Tok::Punct("(")) {
                return None;
            } else if is_ignored_word(w) {
                self.pos += 1;
            } else {
                break;
            }
        }
        Some(())
    }

    fn type_name(&mut self) -> Option<CType> {
        let base = self.specifiers()?;
        self.declarator(base)
    }

    /// The declaration specifiers, as the base type.
    fn specifiers(&mut self) -> Option<CType> {
        #[derive(Default)]
        struct Seen {
            void: bool,
            bool_: bool,
            char_: bool,
            short: bool,
            int: bool,
            long: u8,
            signed: bool,
            unsigned: bool,
            float: bool,
            double: bool,
            int128: bool,
            any: bool,
        }
        let mut s = Seen::default();
        let mut named: Option<CType> = None;
        loop {
            self.skip_ignored()?;
            let toks = self.toks;
            let Some(Tok::Ident(w)) = toks.get(self.pos) else {
                break;
            };
            let w = w.as_str();
            match w {
                "void" => s.void = true,
                "_Bool" | "bool" => s.bool_ = true,
                "char" => s.char_ = true,
                "short" => s.short = true,
                "int" => s.int = true,
                "long" => s.long += 1,
                "signed" | "__signed" | "__signed__" => s.signed = true,
                "unsigned" => s.unsigned = true,
                "float" => s.float = true,
                "double" => s.double = true,
                "__int128" => s.int128 = true,
                "_Complex" | "__complex__" | "_Imaginary" | "_Decimal32" | "_Decimal64"
                | "_Decimal128" => return None,
                "_Float128" | "__float128" | "_Float64x" | "__float80" if !s.any => {
                    self.pos += 1;
                    named = Some(CType::Float { bytes: 16 });
                    s.any = true;
                    continue;
                }
                "struct" | "union" | "enum" if !s.any && named.is_none() => {
                    self.pos += 1;
                    self.skip_ignored()?;
                    let Some(Tok::Ident(tag)) = self.peek() else {
                        return None; // an anonymous body: not read
                    };
                    let tag = tag.clone();
                    self.pos += 1;
                    named = Some(match w {
                        "enum" => CType::Enum(tag),
                        _ => CType::Record {
                            union: w == "union",
                            tag,
                        },
                    });
                    continue;
                }
                _ if !s.any && named.is_none() => {
                    self.pos += 1;
                    named = Some(well_known(w).unwrap_or_else(|| CType::Typedef(w.to_string())));
                    continue;
                }
                // A name after a complete type: a declared name, which type text never holds.
                _ => return None,
            }
            if named.is_some() {
                return None; // `size_t int`
            }
            s.any = true;
            self.pos += 1;
        }
        if let Some(t) = named {
            return Some(t);
        }
        if !s.any {
            return None;
        }
        let sign_words = s.signed || s.unsigned;
        let counted = [
            s.void, s.bool_, s.char_, s.short, s.float, s.double, s.int128,
        ]
        .iter()
        .filter(|&&b| b)
        .count();
        if (s.signed && s.unsigned) || counted > 1 {
            return None;
        }
        let int = |bytes| CType::Int {
            bytes,
            signed: !s.unsigned,
        };
        Some(if s.void {
            (!sign_words && !s.int && s.long == 0).then_some(CType::Void)?
        } else if s.bool_ {
            (!sign_words && !s.int && s.long == 0).then_some(CType::Bool)?
        } else if s.float {
            (!sign_words && !s.int && s.long == 0).then_some(CType::Float { bytes: 4 })?
        } else if s.double {
            match (sign_words || s.int, s.long) {
                (false, 0) => CType::Float { bytes: 8 },
                (false, 1) => CType::Float { bytes: 16 },
                _ => return None,
            }
        } else if s.char_ {
            (!s.int && s.long == 0).then_some(int(1))?
        } else if s.short {
            (s.long == 0).then_some(int(2))?
        } else if s.int128 {
            (!s.int && s.long == 0).then_some(int(16))?
        } else {
            match s.long {
                0 => int(4),
                1 | 2 => int(8),
                _ => return None,
            }
        })
    }

    /// An abstract declarator applied to `base`: pointers, then an optional parenthesised inner
    /// declarator, then array and function suffixes. The suffixes bind tighter than the pointers
    /// before them, and the inner declarator applies last (outermost).
    fn declarator(&mut self, base: CType) -> Option<CType> {
        let mut t = base;
        loop {
            self.skip_ignored()?;
            if !self.eat_punct("*") {
                break;
            }
            t = CType::Pointer(Box::new(t));
        }
        let mut inner = None;
        if self.peek_punct("(")
            && matches!(
                self.toks.get(self.pos + 1),
                Some(Tok::Punct("*" | "(" | "["))
            )
        {
            let close = self.matching(self.pos)?;
            inner = Some((self.pos + 1, close));
            self.pos = close + 1;
        }
        enum Suffix {
            Array(Option<u64>),
            Function,
        }
        let mut suffixes = Vec::new();
        loop {
            if self.peek_punct("[") {
                let close = self.matching(self.pos)?;
                let mut size = Parser {
                    toks: &self.toks[self.pos + 1..close],
                    pos: 0,
                };
                size.skip_ignored()?;
                let n = match size.pos == size.toks.len() {
                    true => None,
                    false => {
                        let n = size.expr(0)?;
                        if size.pos != size.toks.len() || n < 0 {
                            return None;
                        }
                        Some(n as u64)
                    }
                };
                suffixes.push(Suffix::Array(n));
                self.pos = close + 1;
            } else if self.peek_punct("(") {
                self.pos = self.matching(self.pos)? + 1;
                suffixes.push(Suffix::Function);
            } else {
                break;
            }
        }
        for s in suffixes.into_iter().rev() {
            t = match s {
                Suffix::Array(n) => CType::Array(Box::new(t), n),
                Suffix::Function => CType::Function,
            };
        }
        self.skip_ignored()?;
        if let Some((start, end)) = inner {
            let mut p = Parser {
                toks: &self.toks[start..end],
                pos: 0,
            };
            t = p.declarator(t)?;
            if p.pos != p.toks.len() {
                return None;
            }
        }
        Some(t)
    }

    /// An integer constant expression of literals, parentheses and `+ - * / % << >>`, by
    /// precedence climbing (`min` is the lowest binding power accepted).
    fn expr(&mut self, min: u8) -> Option<i128> {
        let mut lhs = match self.peek()?.clone() {
            Tok::Num(n) => {
                self.pos += 1;
                int_literal(&n)?
            }
            Tok::Punct("(") => {
                self.pos += 1;
                let v = self.expr(0)?;
                self.eat_punct(")").then_some(v)?
            }
            Tok::Punct("-") => {
                self.pos += 1;
                self.expr(3)?.checked_neg()?
            }
            Tok::Punct("+") => {
                self.pos += 1;
                self.expr(3)?
            }
            _ => return None,
        };
        loop {
            let (op, power) = match self.peek() {
                Some(Tok::Punct(op @ ("<<" | ">>"))) => (*op, 0),
                Some(Tok::Punct(op @ ("+" | "-"))) => (*op, 1),
                Some(Tok::Punct(op @ ("*" | "/" | "%"))) => (*op, 2),
                _ => break,
            };
            if power < min {
                break;
            }
            self.pos += 1;
            let rhs = self.expr(power + 1)?;
            lhs = match op {
                "<<" => lhs.checked_shl(u32::try_from(rhs).ok().filter(|&r| r < 64)?)?,
                ">>" => lhs.checked_shr(u32::try_from(rhs).ok().filter(|&r| r < 64)?)?,
                "+" => lhs.checked_add(rhs)?,
                "-" => lhs.checked_sub(rhs)?,
                "*" => lhs.checked_mul(rhs)?,
                "/" => lhs.checked_div(rhs)?,
                _ => lhs.checked_rem(rhs)?,
            };
            if lhs.unsigned_abs() > u128::from(u64::MAX) {
                return None;
            }
        }
        Some(lhs)
    }
}

/// A C integer literal (decimal, octal, hex, binary; `u`/`l` suffixes).
fn int_literal(text: &str) -> Option<i128> {
    let digits = text.trim_end_matches(['u', 'U', 'l', 'L']);
    let (radix, body) = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, h)
    } else if let Some(b) = digits
        .strip_prefix("0b")
        .or_else(|| digits.strip_prefix("0B"))
    {
        (2, b)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    u64::from_str_radix(body, radix).ok().map(i128::from)
}

const fn int(bytes: u8, signed: bool) -> CType {
    CType::Int { bytes, signed }
}

/// The well-known scalar typedefs of glibc on x86-64 Linux, and what they stand for.
/// Opaque well-known names (`FILE`, ...) are not here: they stay [`CType::Typedef`].
pub fn well_known(name: &str) -> Option<CType> {
    let (bytes, signed) = match name {
        "bool" => return Some(CType::Bool),
        "float_t" => return Some(CType::Float { bytes: 4 }),
        "double_t" => return Some(CType::Float { bytes: 8 }),
        "timer_t" => return Some(CType::Pointer(Box::new(CType::Void))),
        "locale_t" | "__locale_t" => {
            return Some(CType::Pointer(Box::new(CType::Record {
                union: false,
                tag: "__locale_struct".into(),
            })))
        }
        "int8_t" | "int_least8_t" | "int_fast8_t" | "__int8_t" | "__s8" | "s8" => (1, true),
        "uint8_t" | "uint_least8_t" | "uint_fast8_t" | "__uint8_t" | "u_int8_t" | "__u8"
        | "u_char" => (1, false),
        "int16_t" | "int_least16_t" | "__int16_t" | "__s16" => (2, true),
        "uint16_t" | "uint_least16_t" | "__uint16_t" | "u_int16_t" | "__u16" | "u_short"
        | "ushort" | "in_port_t" | "sa_family_t" | "char16_t" | "__uint_least16_t" => (2, false),
        "int32_t" | "int_least32_t" | "__int32_t" | "__s32" | "pid_t" | "__pid_t" | "wchar_t"
        | "sig_atomic_t" | "__sig_atomic_t" | "clockid_t" | "__clockid_t" | "key_t"
        | "pthread_once_t" | "pthread_spinlock_t" | "__daddr_t" | "daddr_t" => (4, true),
        "uint32_t" | "uint_least32_t" | "__uint32_t" | "u_int32_t" | "__u32" | "u_int" | "uint"
        | "uid_t" | "__uid_t" | "gid_t" | "__gid_t" | "id_t" | "__id_t" | "socklen_t"
        | "__socklen_t" | "useconds_t" | "__useconds_t" | "mode_t" | "__mode_t" | "in_addr_t"
        | "wint_t" | "char32_t" | "pthread_key_t" | "__uint_least32_t" => (4, false),
        "int64_t" | "int_least64_t" | "int_fast16_t" | "int_fast32_t" | "int_fast64_t"
        | "__int64_t" | "__s64" | "intmax_t" | "__intmax_t" | "intptr_t" | "__intptr_t"
        | "ptrdiff_t" | "ssize_t" | "__ssize_t" | "off_t" | "__off_t" | "off64_t" | "__off64_t"
        | "loff_t" | "__loff_t" | "time_t" | "__time_t" | "clock_t" | "__clock_t"
        | "suseconds_t" | "__suseconds_t" | "blksize_t" | "__blksize_t" | "blkcnt_t"
        | "__blkcnt_t" | "blkcnt64_t" | "__blkcnt64_t" | "__syscall_slong_t" | "__fsword_t"
        | "__quad_t" | "quad_t" | "register_t" => (8, true),
        "uint64_t" | "uint_least64_t" | "uint_fast16_t" | "uint_fast32_t" | "uint_fast64_t"
        | "__uint64_t" | "u_int64_t" | "__u64" | "uintmax_t" | "__uintmax_t" | "uintptr_t"
        | "size_t" | "ino_t" | "__ino_t" | "ino64_t" | "__ino64_t" | "dev_t" | "__dev_t"
        | "nlink_t" | "__nlink_t" | "fsblkcnt_t" | "__fsblkcnt_t" | "fsfilcnt_t"
        | "__fsfilcnt_t" | "rlim_t" | "__rlim_t" | "nfds_t" | "pthread_t" | "u_long" | "ulong"
        | "__syscall_ulong_t" | "__u_quad_t" | "u_quad_t" | "wctype_t" => (8, false),
        "__int128_t" => (16, true),
        "__uint128_t" => (16, false),
        _ => return None,
    };
    Some(int(bytes, signed))
}

/// Sizes of well-known opaque names on x86-64 glibc: typedef names (`FILE`, `jmp_buf`) and
/// struct tags (`sockaddr_in`). Their contents are copied as bytes, never interpreted.
pub fn well_known_opaque_size(t: &CType) -> Option<u64> {
    match t {
        CType::Typedef(name) => Some(match name.as_str() {
            "FILE" | "_IO_FILE" => 216,
            "fpos_t" | "ldiv_t" | "lldiv_t" | "imaxdiv_t" => 16,
            "div_t" | "mbstate_t" | "__mbstate_t" | "pthread_rwlockattr_t" => 8,
            "pthread_mutex_t" => 40,
            "pthread_cond_t" => 48,
            "pthread_rwlock_t" | "pthread_attr_t" => 56,
            "pthread_mutexattr_t" | "pthread_condattr_t" | "pthread_barrierattr_t" => 4,
            "pthread_barrier_t" | "sem_t" | "max_align_t" => 32,
            "sigset_t" | "__sigset_t" | "fd_set" => 128,
            "jmp_buf" | "sigjmp_buf" => 200,
            "va_list" | "__builtin_va_list" | "__gnuc_va_list" => 24,
            "regex_t" => 64,
            "regmatch_t" => 8,
            "glob_t" => 72,
            _ => return None,
        }),
        CType::Record { union: false, tag } => Some(match tag.as_str() {
            "_IO_FILE" => 216,
            "sockaddr" | "sockaddr_in" | "timeval" | "timespec" | "iovec" | "rlimit"
            | "in6_addr" => 16,
            "sockaddr_in6" => 28,
            "sockaddr_un" => 110,
            "sockaddr_storage" => 128,
            "in_addr" => 4,
            "timezone" | "pollfd" | "linger" | "winsize" => 8,
            "tm" | "msghdr" => 56,
            "stat" | "rusage" => 144,
            "sigaction" => 152,
            "addrinfo" | "passwd" => 48,
            "dirent" => 280,
            "itimerval" | "itimerspec" | "hostent" | "group" | "flock" => 32,
            "epoll_event" => 12,
            "termios" => 60,
            "utsname" => 390,
            "__jmp_buf_tag" => 200,
            _ => return None,
        }),
        _ => None,
    }
}

/// How deep typedef chains are followed; deeper means a cycle in corrupt metadata.
const MAX_TYPEDEF_DEPTH: usize = 64;

impl Module {
    /// `t` with user typedefs (this module's typedef entries) followed, recursively, through
    /// pointers and arrays. A typedef whose target is not read (`typedef struct { ... } point;`)
    /// stays `Typedef("point")`: for an anonymous struct or union, that name is its type entry's
    /// name ([`Module::record`]). Unknown names and well-known opaque ones stay as they are.
    /// Typedef cycles (only possible in corrupt metadata) stop at the name.
    pub fn resolve(&self, t: &CType) -> CType {
        self.resolve_in(None, t)
    }

    /// [`Module::resolve`], preferring the typedefs of source file `file` (static scope: two
    /// files may give one typedef name different meanings).
    pub fn resolve_in(&self, file: Option<&str>, t: &CType) -> CType {
        self.resolve_depth(file, t, 0)
    }

    fn resolve_depth(&self, file: Option<&str>, t: &CType, depth: usize) -> CType {
        match t {
            CType::Pointer(inner) => {
                CType::Pointer(Box::new(self.resolve_depth(file, inner, depth)))
            }
            CType::Array(inner, n) => {
                CType::Array(Box::new(self.resolve_depth(file, inner, depth)), *n)
            }
            CType::Typedef(name) if depth < MAX_TYPEDEF_DEPTH => {
                let Some(id) = self.find_typedef(file, name) else {
                    return t.clone();
                };
                let td = &self.typedefs[id];
                match parse(&td.target) {
                    CType::Opaque(_) => t.clone(),
                    target => self.resolve_depth(Some(&td.file), &target, depth + 1),
                }
            }
            _ => t.clone(),
        }
    }

    /// The struct or union type entry `t` denotes (after [`Module::resolve`]): `struct foo` is
    /// the entry named `struct foo`; a typedef name is the entry named by it (an anonymous
    /// struct typedef). `None` for other types and for records without an entry (system ones).
    pub fn record(&self, t: &CType) -> Option<TypeId> {
        self.record_in(None, t)
    }

    /// [`Module::record`], resolving typedefs as [`Module::resolve_in`] does.
    pub fn record_in(&self, file: Option<&str>, t: &CType) -> Option<TypeId> {
        match self.resolve_in(file, t) {
            CType::Record { union, tag } => {
                let kw = if union { "union" } else { "struct" };
                self.find_type(&format!("{kw} {tag}"))
            }
            CType::Typedef(name) => self.find_type(&name),
            _ => None,
        }
    }

    /// The size of `t` in bytes, when the type or the metadata says it: scalars by the ABI,
    /// records by their type entries, typedefs by their entries, arrays with a count by their
    /// element, well-known opaque names by the glibc table. `None` for `void`, functions,
    /// arrays without a count, incomplete or unknown records and opaque text.
    pub fn size_of(&self, t: &CType) -> Option<u64> {
        self.size_of_in(None, t)
    }

    /// [`Module::size_of`], resolving typedefs as [`Module::resolve_in`] does.
    pub fn size_of_in(&self, file: Option<&str>, t: &CType) -> Option<u64> {
        let t = self.resolve_in(file, t);
        match &t {
            CType::Void | CType::Function | CType::Opaque(_) => None,
            CType::Bool => Some(1),
            CType::Int { bytes, .. } | CType::Float { bytes } => Some(u64::from(*bytes)),
            CType::Enum(_) => Some(4),
            CType::Pointer(_) => Some(8),
            CType::Array(elem, n) => self.size_of_in(file, elem)?.checked_mul((*n)?),
            CType::Record { .. } => match self.record_in(file, &t) {
                Some(id) => Some(self.types[id].size),
                None => well_known_opaque_size(&t),
            },
            CType::Typedef(name) => {
                if let Some(id) = self.find_type(name) {
                    return Some(self.types[id].size);
                }
                if let Some(id) = self.find_typedef(file, name) {
                    return Some(self.typedefs[id].size);
                }
                well_known_opaque_size(&t)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Type, Typedef};

    fn i(bytes: u8, signed: bool) -> CType {
        CType::Int { bytes, signed }
    }
    fn ptr(t: CType) -> CType {
        CType::Pointer(Box::new(t))
    }
    fn arr(t: CType, n: u64) -> CType {
        CType::Array(Box::new(t), Some(n))
    }
    fn rec(tag: &str) -> CType {
        CType::Record {
            union: false,
            tag: tag.into(),
        }
    }
    fn td(name: &str) -> CType {
        CType::Typedef(name.into())
    }
    fn opaque(text: &str) -> CType {
        CType::Opaque(text.into())
    }

    #[test]
    fn scalars() {
        let cases = [
            ("void", CType::Void),
            ("_Bool", CType::Bool),
            ("bool", CType::Bool),
            ("char", i(1, true)),
            ("signed char", i(1, true)),
            ("unsigned char", i(1, false)),
            ("char unsigned", i(1, false)),
            ("short", i(2, true)),
            ("short int", i(2, true)),
            ("unsigned short int", i(2, false)),
            ("int", i(4, true)),
            ("signed", i(4, true)),
            ("unsigned", i(4, false)),
            ("unsigned int", i(4, false)),
            ("long", i(8, true)),
            ("long int", i(8, true)),
            ("long unsigned int", i(8, false)),
            ("unsigned long", i(8, false)),
            ("long long", i(8, true)),
            ("long long unsigned int", i(8, false)),
            ("__int128", i(16, true)),
            ("unsigned __int128", i(16, false)),
            ("__int128 unsigned", i(16, false)),
            ("float", CType::Float { bytes: 4 }),
            ("double", CType::Float { bytes: 8 }),
            ("long double", CType::Float { bytes: 16 }),
            ("const volatile int", i(4, true)),
            ("static const unsigned", i(4, false)),
            ("register long", i(8, true)),
            ("_Atomic int", i(4, true)),
            ("__extension__ unsigned long long", i(8, false)),
            ("int __attribute__((aligned(16)))", i(4, true)),
            ("  unsigned\n\tlong  ", i(8, false)),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), want, "{text}");
        }
    }

    #[test]
    fn well_known_typedefs() {
        let cases = [
            ("size_t", i(8, false)),
            ("ssize_t", i(8, true)),
            ("ptrdiff_t", i(8, true)),
            ("intptr_t", i(8, true)),
            ("uintptr_t", i(8, false)),
            ("int8_t", i(1, true)),
            ("uint8_t", i(1, false)),
            ("int16_t", i(2, true)),
            ("uint16_t", i(2, false)),
            ("int32_t", i(4, true)),
            ("uint32_t", i(4, false)),
            ("int64_t", i(8, true)),
            ("uint64_t", i(8, false)),
            ("int_least16_t", i(2, true)),
            ("int_fast16_t", i(8, true)),
            ("uint_fast8_t", i(1, false)),
            ("off_t", i(8, true)),
            ("pid_t", i(4, true)),
            ("uid_t", i(4, false)),
            ("gid_t", i(4, false)),
            ("time_t", i(8, true)),
            ("socklen_t", i(4, false)),
            ("wchar_t", i(4, true)),
            ("sig_atomic_t", i(4, true)),
            ("clock_t", i(8, true)),
            ("useconds_t", i(4, false)),
            ("suseconds_t", i(8, true)),
            ("mode_t", i(4, false)),
            ("ino_t", i(8, false)),
            ("dev_t", i(8, false)),
            ("nlink_t", i(8, false)),
            ("blksize_t", i(8, true)),
            ("blkcnt_t", i(8, true)),
            ("in_addr_t", i(4, false)),
            ("in_port_t", i(2, false)),
            ("pthread_t", i(8, false)),
            ("wctype_t", i(8, false)),
            ("const size_t", i(8, false)),
            ("size_t *", ptr(i(8, false))),
            ("FILE *", ptr(td("FILE"))),
            ("pthread_mutex_t", td("pthread_mutex_t")),
            ("jmp_buf", td("jmp_buf")),
            ("va_list", td("va_list")),
            ("struct sockaddr *", ptr(rec("sockaddr"))),
            ("DIR *", ptr(td("DIR"))),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), want, "{text}");
        }
    }

    #[test]
    fn declarators() {
        let cases = [
            ("int *", ptr(i(4, true))),
            ("char **", ptr(ptr(i(1, true)))),
            ("const char *const", ptr(i(1, true))),
            ("const char * const *", ptr(ptr(i(1, true)))),
            ("int *restrict", ptr(i(4, true))),
            ("char *__restrict", ptr(i(1, true))),
            ("void *", ptr(CType::Void)),
            ("char [16]", arr(i(1, true), 16)),
            ("char []", CType::Array(Box::new(i(1, true)), None)),
            ("int [2][3]", arr(arr(i(4, true), 3), 2)),
            ("int *[8]", arr(ptr(i(4, true)), 8)),
            ("struct s *[8]", arr(ptr(rec("s")), 8)),
            ("int (*)[4]", ptr(arr(i(4, true), 4))),
            ("int *(*)[4]", ptr(arr(ptr(i(4, true)), 4))),
            ("int (*)[2][3]", ptr(arr(arr(i(4, true), 3), 2))),
            ("int (*)(int)", ptr(CType::Function)),
            ("void (*)(void)", ptr(CType::Function)),
            ("int (*)()", ptr(CType::Function)),
            ("char *(*)(const char *, ...)", ptr(CType::Function)),
            ("int (**)(int)", ptr(ptr(CType::Function))),
            ("int (*[4])(int)", arr(ptr(CType::Function), 4)),
            ("void (*(*)(int))(int)", ptr(CType::Function)),
            ("int (int)", CType::Function),
            ("int (* const)(int)", ptr(CType::Function)),
            ("int (*(*)[3])[5]", ptr(arr(ptr(arr(i(4, true), 5)), 3))),
            ("struct conn", rec("conn")),
            ("const struct conn *", ptr(rec("conn"))),
            (
                "union u",
                CType::Record {
                    union: true,
                    tag: "u".into(),
                },
            ),
            ("enum color", CType::Enum("color".into())),
            ("enum color [3]", arr(CType::Enum("color".into()), 3)),
            ("node_t *", ptr(td("node_t"))),
            ("const node_t", td("node_t")),
            ("char [2 * 8 + 1]", arr(i(1, true), 17)),
            ("char [(1 << 4) - 0x2]", arr(i(1, true), 14)),
            ("char [010]", arr(i(1, true), 8)),
            ("char [64UL]", arr(i(1, true), 64)),
            ("int [static 4]", arr(i(4, true), 4)),
            ("int [const]", CType::Array(Box::new(i(4, true)), None)),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), want, "{text}");
        }
    }

    #[test]
    fn unreadable_text_is_opaque() {
        let cases = [
            ("__typeof__(x)", "__typeof__(x)"),
            ("__typeof__ ((a + b))", "__typeof__ ((a + b))"),
            ("struct { int a, b; }", "struct { int a, b; }"),
            ("struct", "struct"),
            ("double _Complex", "double _Complex"),
            ("char [sizeof(int)]", "char [sizeof(int)]"),
            ("char [N]", "char [N]"),
            ("int x", "int x"),
            ("size_t int", "size_t int"),
            ("unsigned signed", "unsigned signed"),
            ("float int", "float int"),
            ("long long long", "long long long"),
            ("char [1/0]", "char [1/0]"),
            ("char [-1]", "char [-1]"),
            ("int (*", "int (*"),
            ("", ""),
            ("const", "const"),
            ("_Atomic(int)", "_Atomic(int)"),
            ("int\n  *  @", "int * @"),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), opaque(want), "{text}");
        }
    }

    #[test]
    fn display_is_canonical_and_reparses() {
        let cases = [
            ("long unsigned int", "unsigned long"),
            ("const char *const", "char *"),
            ("int (*)[4]", "int (*)[4]"),
            ("struct s *[8]", "struct s *[8]"),
            ("int [2][3]", "int [2][3]"),
            ("int (*)(int)", "function *"),
            ("signed char", "char"),
            ("unsigned char", "unsigned char"),
            ("long double", "long double"),
            ("int *(*)[4]", "int *(*)[4]"),
            ("__typeof__(x)", "__typeof__(x)"),
            ("union u **", "union u **"),
        ];
        for (text, want) in cases {
            let shown = parse(text).to_string();
            assert_eq!(shown, want, "{text}");
            if !want.starts_with("function") {
                assert_eq!(parse(&shown), parse(text), "{text}");
            }
        }
    }

    fn module() -> Module {
        let mut m = Module::default();
        for (name, file, target, size) in [
            ("u32", "a.c", "unsigned int", 4),
            ("node_t", "a.c", "struct node", 24),
            ("nodep", "a.c", "node_t *", 8),
            ("point", "a.c", "struct { int x, y; }", 8),
            ("handler", "a.c", "int (*)(int)", 8),
            ("row", "a.c", "u32 [4]", 16),
            ("loop_a", "a.c", "loop_b", 4),
            ("loop_b", "a.c", "loop_a", 4),
            ("word", "a.c", "int", 4),
            ("word", "b.c", "long", 8),
        ] {
            m.typedefs.push(Typedef {
                name: name.into(),
                file: file.into(),
                target: target.into(),
                size,
                align: size.min(8),
            });
        }
        for (name, size) in [("struct node", 24), ("point", 8), ("union val", 8)] {
            m.types.push(Type {
                name: name.into(),
                size,
                align: 8,
                fields: Vec::new(),
            });
        }
        m
    }

    #[test]
    fn resolve_follows_typedef_entries() {
        let m = module();
        let r = |text: &str| m.resolve(&parse(text));
        assert_eq!(r("u32"), i(4, false));
        assert_eq!(r("u32 *[2]"), arr(ptr(i(4, false)), 2));
        assert_eq!(r("nodep"), ptr(rec("node")));
        assert_eq!(r("const nodep *"), ptr(ptr(rec("node"))));
        assert_eq!(r("point"), td("point"));
        assert_eq!(r("handler"), ptr(CType::Function));
        assert_eq!(r("row"), arr(i(4, false), 4));
        assert_eq!(r("row *"), ptr(arr(i(4, false), 4)));
        assert_eq!(r("FILE *"), ptr(td("FILE")));
        assert_eq!(r("unknown_t"), td("unknown_t"));
        assert_eq!(r("size_t"), i(8, false));
        // A cycle (corrupt metadata) ends at a name instead of looping.
        assert!(matches!(r("loop_a"), CType::Typedef(_)));
        // A typedef name means what its own file says.
        assert_eq!(m.resolve_in(Some("b.c"), &td("word")), i(8, true));
        assert_eq!(m.resolve_in(Some("a.c"), &td("word")), i(4, true));
        assert_eq!(m.resolve_in(Some("c.c"), &td("word")), i(4, true));
    }

    #[test]
    fn records_and_sizes() {
        let m = module();
        let node = m.find_type("struct node");
        assert_eq!(m.record(&parse("struct node")), node);
        assert_eq!(m.record(&parse("node_t")), node);
        assert_eq!(m.record(&parse("const node_t")), node);
        assert_eq!(m.record(&parse("point")), m.find_type("point"));
        assert_eq!(m.record(&parse("union val")), m.find_type("union val"));
        assert_eq!(m.record(&parse("struct val")), None);
        assert_eq!(m.record(&parse("nodep")), None);
        assert_eq!(m.record(&parse("struct sockaddr")), None);

        let size = |text: &str| m.size_of(&parse(text));
        for (text, want) in [
            ("char", Some(1)),
            ("_Bool", Some(1)),
            ("short", Some(2)),
            ("unsigned", Some(4)),
            ("long", Some(8)),
            ("__int128", Some(16)),
            ("long double", Some(16)),
            ("enum e", Some(4)),
            ("void *", Some(8)),
            ("int (*)(int)", Some(8)),
            ("int [2][3]", Some(24)),
            ("struct node", Some(24)),
            ("node_t [2]", Some(48)),
            ("point", Some(8)),
            ("row", Some(16)),
            ("u32", Some(4)),
            ("FILE", Some(216)),
            ("pthread_mutex_t", Some(40)),
            ("jmp_buf", Some(200)),
            ("struct sockaddr_in", Some(16)),
            ("struct timespec [2]", Some(32)),
            ("void", None),
            ("char []", None),
            ("int (int)", None),
            ("DIR", None),
            ("struct unknown", None),
            ("unknown_t", None),
            ("__typeof__(x)", None),
        ] {
            assert_eq!(size(text), want, "{text}");
        }
    }
}
