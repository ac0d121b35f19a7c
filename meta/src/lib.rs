//! Reading upstare metadata (see FORMAT.md). Work in progress.
