//! Typed ids and the dense tables they index.
//!
//! Every table of a [`crate::Module`] is a `Vec` in section order; an id is the position in it, as
//! a `u32` newtype so that a `FuncId` can never index the points. Names are looked up only at the
//! boundaries (`Module::find_*`); inside, everything refers by id.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Index;

use serde::{Serialize, Serializer};

/// A typed index into one [`Table`].
pub trait Id: Copy + Eq + fmt::Debug {
    /// The id of the `index`-th element. Tables hold fewer than `u32::MAX` elements.
    fn from_index(index: usize) -> Self;
    /// The position this id stands for.
    fn index(self) -> usize;
}

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl Id for $name {
            fn from_index(index: usize) -> Self {
                $name(u32::try_from(index).expect("metadata tables hold fewer than 2^32 entries"))
            }
            fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    )*};
}

ids! {
    /// A translation unit (one `unit` entry).
    UnitId;
    /// A type (struct, union, enum or typedef).
    TypeId;
    /// A typedef of a user file (a `typedef` entry).
    TypedefId;
    /// A global variable or static local.
    GlobalId;
    /// An instrumented function.
    FuncId;
    /// An update point of some function.
    PointId;
}

/// A dense vector indexed by the id type `I`.
#[derive(Clone, PartialEq, Eq)]
pub struct Table<I, T> {
    items: Vec<T>,
    _id: PhantomData<I>,
}

impl<I: Id, T> Table<I, T> {
    /// An empty table.
    pub fn new() -> Self {
        Table {
            items: Vec::new(),
            _id: PhantomData,
        }
    }

    /// Appends `item` and returns its id.
    pub fn push(&mut self, item: T) -> I {
        let id = I::from_index(self.items.len());
        self.items.push(item);
        id
    }

    /// The element `id`, or `None` when the id belongs to another module.
    pub fn get(&self, id: I) -> Option<&T> {
        self.items.get(id.index())
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the table holds nothing.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The elements with their ids, in id order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (I, &T)> + '_ {
        self.items
            .iter()
            .enumerate()
            .map(|(i, t)| (I::from_index(i), t))
    }

    pub(crate) fn get_mut(&mut self, id: I) -> &mut T {
        &mut self.items[id.index()]
    }
}

impl<I: Id, T> Default for Table<I, T> {
    fn default() -> Self {
        Table::new()
    }
}

impl<I: Id, T> Index<I> for Table<I, T> {
    type Output = T;
    fn index(&self, id: I) -> &T {
        &self.items[id.index()]
    }
}

impl<I, T: fmt::Debug> fmt::Debug for Table<I, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.items).finish()
    }
}

/// A table serialises as the plain list of its elements; ids are positions in it.
impl<I, T: Serialize> Serialize for Table<I, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.items.serialize(s)
    }
}
