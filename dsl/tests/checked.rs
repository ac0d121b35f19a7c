//! The checked representation, on versions built in memory: what the JIT receives for small
//! rules (offsets from the metadata, explicit conversions, relocations, boxed locals), so that a
//! change of that contract shows up here first.

use upstare_dsl::checked::{Builtin, ExprKind, FrameDest, PlaceBase, Proj, Stmt};
use upstare_dsl::{checked, CType};
use upstare_meta::{
    Field, FieldLayout, FuncId, Function, Global, GlobalFlags, Local, LocalFlags, Module, Point,
    PointId, PointKey, Type,
};

fn field(name: &str, ty: &str, offset: u64, size: u64) -> Field {
    Field {
        name: name.into(),
        ty: ty.into(),
        layout: FieldLayout::Bytes { offset, size },
    }
}

fn global(name: &str, ty: &str, size: u64) -> Global {
    Global {
        key: name.into(),
        name: name.into(),
        ty: ty.into(),
        size,
        align: size.min(8),
        flags: GlobalFlags::default(),
    }
}

fn local(name: &str, ty: &str, offset: u64, size: u64, boxed: bool) -> Local {
    Local {
        name: name.into(),
        ty: ty.into(),
        offset,
        size,
        flags: LocalFlags {
            boxed,
            ..Default::default()
        },
    }
}

/// Old: `struct conn { int fd; int bytes; struct conn *next; }`, `int hits`, `struct conn *head`,
/// `void loop(void)` with point loop#1 holding `int i` and a boxed `int buf`.
/// New: `bytes` is `unsigned long` at offset 8, `next` at 16, `hits` is `long`.
fn versions() -> (Module, Module) {
    let mut old = Module::default();
    old.types.push(Type {
        name: "struct conn".into(),
        size: 16,
        align: 8,
        fields: vec![
            field("fd", "int", 0, 4),
            field("bytes", "int", 4, 4),
            field("next", "struct conn *", 8, 8),
        ],
    });
    old.globals.push(global("hits", "int", 4));
    old.globals.push(global("head", "struct conn *", 8));
    let mut new = Module::default();
    new.types.push(Type {
        name: "struct conn".into(),
        size: 24,
        align: 8,
        fields: vec![
            field("fd", "int", 0, 4),
            field("bytes", "unsigned long", 8, 8),
            field("next", "struct conn *", 16, 8),
        ],
    });
    new.globals.push(global("hits", "long", 8));
    new.globals.push(global("head", "struct conn *", 8));
    for m in [&mut old, &mut new] {
        m.functions.push(Function {
            file: "a.c".into(),
            name: "loop".into(),
            line: 1,
            flags: Default::default(),
            points: vec![PointId(0)],
        });
        m.points.push(Point {
            function: FuncId(0),
            key: PointKey::Loop(1),
            index: 0,
            file: "a.c".into(),
            line: 2,
            record_size: 16,
            record_align: 8,
            locals: vec![
                local("i", "int", 0, 4, false),
                local("buf", "int", 8, 8, true),
            ],
        });
    }
    (old, new)
}

fn check_ok(src: &str) -> checked::Spec {
    let (old, new) = versions();
    match upstare_dsl::check(src, "t.upd", &old, &new) {
        Ok((spec, _)) => spec,
        Err(d) => panic!("{}", upstare_dsl::render(&d, src, "t.upd", false)),
    }
}

fn body_of_type(spec: &checked::Spec) -> &[Stmt] {
    &spec.types[0].body.as_ref().expect("a body").stmts
}

#[test]
fn fields_are_offsets_and_conversions_are_explicit() {
    let spec = check_ok("type struct conn { new.bytes = old.bytes as u64 + 1; }");
    let [Stmt::Assign { place, value, .. }] = body_of_type(&spec) else {
        panic!("{spec:#?}")
    };
    assert_eq!(place.base, PlaceBase::New);
    assert_eq!(place.proj, vec![Proj::Field { offset: 8, size: 8 }]);
    assert_eq!(
        value.ty,
        CType::Int {
            bytes: 8,
            signed: false
        }
    );
    let ExprKind::Binary(_, lhs, rhs) = &value.kind else {
        panic!("{value:#?}")
    };
    // `old.bytes as u64`: a conversion of a load at the old offset.
    let ExprKind::Convert(inner) = &lhs.kind else {
        panic!("{lhs:#?}")
    };
    let ExprKind::Load(p) = &inner.kind else {
        panic!("{inner:#?}")
    };
    assert_eq!(p.base, PlaceBase::Old);
    assert_eq!(p.proj, vec![Proj::Field { offset: 4, size: 4 }]);
    // The literal `1` was folded to the common type.
    assert_eq!(rhs.kind, ExprKind::Int(1));
    assert_eq!(rhs.ty, lhs.ty);
}

#[test]
fn old_pointers_are_relocated_or_migrated() {
    let spec =
        check_ok("type struct conn { new.next = old.next; }\nglobal head { new = migrate(old); }");
    let [Stmt::Assign { value, .. }] = body_of_type(&spec) else {
        panic!()
    };
    assert!(matches!(value.kind, ExprKind::Relocate(_)), "{value:#?}");
    let g = &spec.globals[0];
    let [Stmt::Assign { value, .. }] = &g.body.as_ref().unwrap().stmts[..] else {
        panic!()
    };
    let ExprKind::Call(Builtin::Migrate { old_ty, new_ty }, _) = &value.kind else {
        panic!("{value:#?}")
    };
    let conn = CType::Record {
        union: false,
        tag: "conn".into(),
    };
    assert_eq!((old_ty, new_ty), (&conn, &conn));
}

#[test]
fn boxed_locals_are_reached_through_their_box() {
    let spec = check_ok("frame loop @ loop#1 -> loop @ loop#1 { new.buf = old.buf + old.i; }");
    let f = &spec.frames[0];
    assert_eq!(
        f.dest,
        FrameDest::At {
            func: FuncId(0),
            point: PointId(0)
        }
    );
    let [Stmt::Assign { place, .. }] = &f.body.as_ref().unwrap().stmts[..] else {
        panic!()
    };
    // The slot at offset 8 holds the box's address; the local is behind it.
    let PlaceBase::Deref(ptr) = &place.base else {
        panic!("{place:#?}")
    };
    let ExprKind::Load(slot) = &ptr.kind else {
        panic!()
    };
    assert_eq!(slot.base, PlaceBase::New);
    assert_eq!(slot.proj, vec![Proj::Field { offset: 8, size: 8 }]);
}

#[test]
fn globals_get_their_rules_in_order() {
    let spec = check_ok("global hits { new = old * 2; }\nassert old::hits >= 0, \"negative\";");
    assert_eq!(spec.globals.len(), 1);
    assert_eq!(spec.globals[0].origin.name, "global hits");
    assert_eq!(spec.asserts[0].message, "negative");
    let v = &spec.globals[0].body.as_ref().unwrap().stmts;
    let Stmt::Assign { value, .. } = &v[0] else {
        panic!()
    };
    // int * int is int, then converted to the new global's long.
    assert_eq!(
        value.ty,
        CType::Int {
            bytes: 8,
            signed: true
        }
    );
    assert!(matches!(value.kind, ExprKind::Convert(_)));
}

#[test]
fn an_old_write_is_refused() {
    let (old, new) = versions();
    let err = upstare_dsl::check("global hits { old = 1; }", "t.upd", &old, &new).unwrap_err();
    assert_eq!(err[0].code, upstare_dsl::Code::WriteToOld);
}
