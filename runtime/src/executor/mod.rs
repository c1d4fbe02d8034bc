//! The executor: tasks, run queues, wakers, and the worker loop that alternates between
//! running ready tasks and one trip into the kernel.

mod inbox;
pub(crate) mod queue;
pub(crate) mod raw;
mod waker;
pub(crate) mod worker;
