//! The write shapes' workload: each client creates tasks of its own in seeded
//! accounts, changes and deletes them, and deletes whatever is left at the end,
//! through the sync store or, with `--async-vs-sync`, the async one.

use todo_store::{
    AsyncStore, Error, NewTask, Owner, Store, Task, TaskId, TaskPatch, TaskRepo, TaskStatus,
    VersionCheck,
};
use tokio::runtime::Runtime;

use super::shape::Shape;
use crate::rng::Rng;

/// Where a writer's calls go: the four single-task writes.
pub trait Target {
    /// `create_task`.
    fn create(&mut self, owner: &Owner, new: NewTask) -> Result<Task, Error>;
    /// `update_task`.
    fn update(
        &mut self,
        owner: &Owner,
        id: TaskId,
        patch: TaskPatch,
        check: VersionCheck,
    ) -> Result<Task, Error>;
    /// `set_task_status`.
    fn set_status(
        &mut self,
        owner: &Owner,
        id: TaskId,
        status: TaskStatus,
        check: VersionCheck,
    ) -> Result<Task, Error>;
    /// `delete_task`.
    fn delete(&mut self, owner: &Owner, id: TaskId, check: VersionCheck) -> Result<(), Error>;
}

impl Target for Store {
    fn create(&mut self, owner: &Owner, new: NewTask) -> Result<Task, Error> {
        self.create_task(owner, new)
    }

    fn update(
        &mut self,
        owner: &Owner,
        id: TaskId,
        patch: TaskPatch,
        check: VersionCheck,
    ) -> Result<Task, Error> {
        self.update_task(owner, id, patch, check)
    }

    fn set_status(
        &mut self,
        owner: &Owner,
        id: TaskId,
        status: TaskStatus,
        check: VersionCheck,
    ) -> Result<Task, Error> {
        self.set_task_status(owner, id, status, check)
    }

    fn delete(&mut self, owner: &Owner, id: TaskId, check: VersionCheck) -> Result<(), Error> {
        self.delete_task(owner, id, check)
    }
}

/// An async client: each call run to its end on the client's own runtime.
impl Target for (Runtime, AsyncStore) {
    fn create(&mut self, owner: &Owner, new: NewTask) -> Result<Task, Error> {
        self.0.block_on(self.1.create_task(owner, new))
    }

    fn update(
        &mut self,
        owner: &Owner,
        id: TaskId,
        patch: TaskPatch,
        check: VersionCheck,
    ) -> Result<Task, Error> {
        self.0.block_on(self.1.update_task(owner, id, patch, check))
    }

    fn set_status(
        &mut self,
        owner: &Owner,
        id: TaskId,
        status: TaskStatus,
        check: VersionCheck,
    ) -> Result<Task, Error> {
        self.0
            .block_on(self.1.set_task_status(owner, id, status, check))
    }

    fn delete(&mut self, owner: &Owner, id: TaskId, check: VersionCheck) -> Result<(), Error> {
        self.0.block_on(self.1.delete_task(owner, id, check))
    }
}

/// A task the benchmark created, as it last saw it.
#[derive(Debug, Clone)]
pub struct Created {
    owner: Owner,
    id: TaskId,
    version: i32,
    done: bool,
}

/// One client's write workload: the tasks it created and where it is in them.
#[derive(Debug, Default)]
pub struct Writer {
    tasks: Vec<Created>,
    next: usize,
    made: u64,
}

impl Writer {
    /// Makes one call of the write shape `shape`. `Ok(false)` when there is
    /// nothing left to delete.
    pub fn call(
        &mut self,
        shape: Shape,
        store: &mut impl Target,
        owners: &[Owner],
        rng: &mut Rng,
    ) -> Result<bool, Error> {
        match shape {
            Shape::Create => self.create(store, rng.pick(owners)),
            Shape::Update | Shape::Complete => {
                if self.tasks.is_empty() {
                    return Ok(false);
                }
                let at = self.next % self.tasks.len();
                self.next += 1;
                let task = &mut self.tasks[at];
                let check = VersionCheck::Exactly(task.version);
                let updated = if shape == Shape::Update {
                    let title = format!("Bench task, edit {}", task.version + 1);
                    store.update(
                        &task.owner,
                        task.id,
                        TaskPatch::default().title(title),
                        check,
                    )?
                } else {
                    let status = if task.done {
                        TaskStatus::Open
                    } else {
                        TaskStatus::Done
                    };
                    store.set_status(&task.owner, task.id, status, check)?
                };
                task.version = updated.version;
                task.done = updated.completed;
                Ok(true)
            }
            Shape::Delete => match self.tasks.pop() {
                Some(task) => {
                    store.delete(&task.owner, task.id, VersionCheck::Exactly(task.version))?;
                    Ok(true)
                }
                None => Ok(false),
            },
            _ => Ok(false),
        }
    }

    /// Creates tasks (unmeasured) until there are at least `n` to work on.
    pub fn stock(
        &mut self,
        n: usize,
        store: &mut impl Target,
        owners: &[Owner],
        rng: &mut Rng,
    ) -> Result<(), Error> {
        while self.tasks.len() < n {
            self.create(store, rng.pick(owners))?;
        }
        Ok(())
    }

    /// Deletes every task still here (unmeasured), leaving the data as it was.
    pub fn clean_up(&mut self, store: &mut impl Target) -> Result<(), Error> {
        while let Some(task) = self.tasks.pop() {
            store.delete(&task.owner, task.id, VersionCheck::Any)?;
        }
        Ok(())
    }

    fn create(&mut self, store: &mut impl Target, owner: &Owner) -> Result<bool, Error> {
        self.made += 1;
        let task = store.create(owner, NewTask::new(format!("Bench task {}", self.made)))?;
        self.tasks.push(Created {
            owner: owner.clone(),
            id: task.id,
            version: task.version,
            done: task.completed,
        });
        Ok(true)
    }
}
