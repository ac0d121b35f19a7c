//! Diagnostics about the user's C source, located in the original file (through line markers).

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// A problem in the user's program, located in its original source file (not the preprocessed
/// text): an unsupported construct, a parse error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("{file}:{line}:{column}: {}: {message}", match severity { Severity::Error => "error", Severity::Warning => "warning" })]
pub struct CDiagnostic {
    pub severity: Severity,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
    #[help]
    pub help: Option<String>,
}

impl CDiagnostic {
    /// True for errors (the unit is not compiled).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
