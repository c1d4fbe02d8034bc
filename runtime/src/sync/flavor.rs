//! The two flavours every sync type comes in, as one type parameter.
//!
//! Owns: [`Flavor`] (sealed) and its two implementations, [`Local`] (`Rc`, `RefCell`: for
//! tasks of one worker, no atomics, `!Sync`) and [`Shared`] (`Arc`, `std::sync` locks:
//! `Send + Sync`, for tasks on any worker or thread). Each sync type is written once over
//! `F: Flavor`; what it may be sent or shared with follows from the flavour's cells, with no
//! `unsafe impl`. Must not hold an algorithm: those live with their type.

use std::cell::{Ref, RefCell, RefMut};
use std::ops::{Deref, DerefMut};
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

mod sealed {
    pub trait Sealed {}
}

/// Where a sync type may be used: [`Local`] or [`Shared`]. Sealed: the two are all there
/// is. Its items are the runtime's business; what a user picks is the flavour.
pub trait Flavor: sealed::Sealed + Sized + 'static {
    /// A cell for state changed under exclusive access: `RefCell` or `Mutex`.
    #[doc(hidden)]
    type Cell<S>;
    /// The exclusive access to a [`Cell`](Flavor::Cell).
    #[doc(hidden)]
    type Guard<'a, S: 'a>: DerefMut<Target = S>;
    /// A cell with shared reads: `RefCell` or `RwLock`.
    #[doc(hidden)]
    type RwCell<S>;
    /// A shared read of an [`RwCell`](Flavor::RwCell).
    #[doc(hidden)]
    type Read<'a, S: 'a>: Deref<Target = S>;
    /// An exclusive write of an [`RwCell`](Flavor::RwCell).
    #[doc(hidden)]
    type Write<'a, S: 'a>: DerefMut<Target = S>;
    /// A counted reference: `Rc` or `Arc`.
    #[doc(hidden)]
    type Ptr<T>: Deref<Target = T> + Clone;

    #[doc(hidden)]
    fn cell<S>(state: S) -> Self::Cell<S>;
    /// Exclusive access. A poisoned lock is entered anyway: every sync type keeps its
    /// state consistent between statements that can panic.
    #[doc(hidden)]
    fn lock<S>(cell: &Self::Cell<S>) -> Self::Guard<'_, S>;
    /// Exclusive access if nobody holds it now.
    #[doc(hidden)]
    fn try_lock<S>(cell: &Self::Cell<S>) -> Option<Self::Guard<'_, S>>;
    #[doc(hidden)]
    fn get_mut<S>(cell: &mut Self::Cell<S>) -> &mut S;
    #[doc(hidden)]
    fn into_inner<S>(cell: Self::Cell<S>) -> S;

    #[doc(hidden)]
    fn rw_cell<S>(state: S) -> Self::RwCell<S>;
    #[doc(hidden)]
    fn read<S>(cell: &Self::RwCell<S>) -> Self::Read<'_, S>;
    #[doc(hidden)]
    fn try_read<S>(cell: &Self::RwCell<S>) -> Option<Self::Read<'_, S>>;
    #[doc(hidden)]
    fn write<S>(cell: &Self::RwCell<S>) -> Self::Write<'_, S>;
    #[doc(hidden)]
    fn rw_get_mut<S>(cell: &mut Self::RwCell<S>) -> &mut S;
    #[doc(hidden)]
    fn rw_into_inner<S>(cell: Self::RwCell<S>) -> S;

    #[doc(hidden)]
    fn ptr<T>(value: T) -> Self::Ptr<T>;

    /// Runs `f` with exclusive access to `cell`'s state.
    #[doc(hidden)]
    #[inline]
    fn with<S, R>(cell: &Self::Cell<S>, f: impl FnOnce(&mut S) -> R) -> R {
        f(&mut Self::lock(cell))
    }

    /// Runs `f` with write access to a reader-writer cell's state.
    #[doc(hidden)]
    #[inline]
    fn with_write<S, R>(cell: &Self::RwCell<S>, f: impl FnOnce(&mut S) -> R) -> R {
        f(&mut Self::write(cell))
    }
}

/// The flavour for tasks of one worker (the default): `Rc` and `RefCell`, no atomics and
/// no locks. Its types are `!Sync`, and those that hand out `Rc` clones (channels, owned
/// permits) are `!Send`.
#[derive(Debug, Clone, Copy)]
pub enum Local {}

/// The flavour for tasks on different workers, or plain threads: `Arc` and `std::sync`
/// locks, `Send + Sync` (for `Send` values), a lock per operation.
#[derive(Debug, Clone, Copy)]
pub enum Shared {}

impl sealed::Sealed for Local {}
impl sealed::Sealed for Shared {}

impl Flavor for Local {
    type Cell<S> = RefCell<S>;
    type Guard<'a, S: 'a> = RefMut<'a, S>;
    type RwCell<S> = RefCell<S>;
    type Read<'a, S: 'a> = Ref<'a, S>;
    type Write<'a, S: 'a> = RefMut<'a, S>;
    type Ptr<T> = Rc<T>;

    #[inline]
    fn cell<S>(state: S) -> RefCell<S> {
        RefCell::new(state)
    }
    #[inline]
    fn lock<S>(cell: &RefCell<S>) -> RefMut<'_, S> {
        cell.borrow_mut()
    }
    #[inline]
    fn try_lock<S>(cell: &RefCell<S>) -> Option<RefMut<'_, S>> {
        cell.try_borrow_mut().ok()
    }
    #[inline]
    fn get_mut<S>(cell: &mut RefCell<S>) -> &mut S {
        cell.get_mut()
    }
    #[inline]
    fn into_inner<S>(cell: RefCell<S>) -> S {
        cell.into_inner()
    }
    #[inline]
    fn rw_cell<S>(state: S) -> RefCell<S> {
        RefCell::new(state)
    }
    #[inline]
    fn read<S>(cell: &RefCell<S>) -> Ref<'_, S> {
        cell.borrow()
    }
    #[inline]
    fn try_read<S>(cell: &RefCell<S>) -> Option<Ref<'_, S>> {
        cell.try_borrow().ok()
    }
    #[inline]
    fn write<S>(cell: &RefCell<S>) -> RefMut<'_, S> {
        cell.borrow_mut()
    }
    #[inline]
    fn rw_get_mut<S>(cell: &mut RefCell<S>) -> &mut S {
        cell.get_mut()
    }
    #[inline]
    fn rw_into_inner<S>(cell: RefCell<S>) -> S {
        cell.into_inner()
    }
    #[inline]
    fn ptr<T>(value: T) -> Rc<T> {
        Rc::new(value)
    }
}

impl Flavor for Shared {
    type Cell<S> = Mutex<S>;
    type Guard<'a, S: 'a> = MutexGuard<'a, S>;
    type RwCell<S> = RwLock<S>;
    type Read<'a, S: 'a> = RwLockReadGuard<'a, S>;
    type Write<'a, S: 'a> = RwLockWriteGuard<'a, S>;
    type Ptr<T> = Arc<T>;

    #[inline]
    fn cell<S>(state: S) -> Mutex<S> {
        Mutex::new(state)
    }
    #[inline]
    fn lock<S>(cell: &Mutex<S>) -> MutexGuard<'_, S> {
        cell.lock().unwrap_or_else(|e| e.into_inner())
    }
    #[inline]
    fn try_lock<S>(cell: &Mutex<S>) -> Option<MutexGuard<'_, S>> {
        match cell.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
    #[inline]
    fn get_mut<S>(cell: &mut Mutex<S>) -> &mut S {
        cell.get_mut().unwrap_or_else(|e| e.into_inner())
    }
    #[inline]
    fn into_inner<S>(cell: Mutex<S>) -> S {
        cell.into_inner().unwrap_or_else(|e| e.into_inner())
    }
    #[inline]
    fn rw_cell<S>(state: S) -> RwLock<S> {
        RwLock::new(state)
    }
    #[inline]
    fn read<S>(cell: &RwLock<S>) -> RwLockReadGuard<'_, S> {
        cell.read().unwrap_or_else(|e| e.into_inner())
    }
    #[inline]
    fn try_read<S>(cell: &RwLock<S>) -> Option<RwLockReadGuard<'_, S>> {
        match cell.try_read() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
    #[inline]
    fn write<S>(cell: &RwLock<S>) -> RwLockWriteGuard<'_, S> {
        cell.write().unwrap_or_else(|e| e.into_inner())
    }
    #[inline]
    fn rw_get_mut<S>(cell: &mut RwLock<S>) -> &mut S {
        cell.get_mut().unwrap_or_else(|e| e.into_inner())
    }
    #[inline]
    fn rw_into_inner<S>(cell: RwLock<S>) -> S {
        cell.into_inner().unwrap_or_else(|e| e.into_inner())
    }
    #[inline]
    fn ptr<T>(value: T) -> Arc<T> {
        Arc::new(value)
    }
}
