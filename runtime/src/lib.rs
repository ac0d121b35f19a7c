//! The upstare runtime. Work in progress.
