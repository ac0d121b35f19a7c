//! Finding the `upstare_meta` section in an ELF file (relocatable object, executable or shared
//! object). It does not map anything into memory or follow dynamic dependencies: each module
//! carries its own section.

use std::path::Path;

use object::{Object, ObjectSection};

use crate::error::MetaError;
use crate::model::Module;
use crate::SECTION_NAME;

impl Module {
    /// Decodes the metadata of an ELF file held in memory. A relocatable object may hold several
    /// `upstare_meta` sections; they are read in section-header order.
    pub fn from_elf(file: &[u8]) -> Result<Module, MetaError> {
        let obj = object::File::parse(file)?;
        let mut sections = Vec::new();
        for section in obj.sections().filter(|s| s.name() == Ok(SECTION_NAME)) {
            sections.push(section.data()?);
        }
        if sections.is_empty() {
            return Err(MetaError::NoSection);
        }
        Module::from_sections(&sections)
    }

    /// Reads the ELF file at `path` and decodes its metadata.
    pub fn read(path: &Path) -> Result<Module, MetaError> {
        let bytes = std::fs::read(path).map_err(|source| MetaError::Io {
            path: path.to_owned(),
            source,
        })?;
        Module::from_elf(&bytes)
    }
}
