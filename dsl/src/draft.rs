//! `upstare diff`: a draft spec.
pub fn draft(old: &upstare_meta::Module, new: &upstare_meta::Module) -> String {
    let _ = (old, new);
    String::new()
}
