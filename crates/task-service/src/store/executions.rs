//! Execution history of a task, newest first. The caller checks access to
//! the task itself first (scoped `find_task`).

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entity::execution::{self, Column, Entity};

/// Executions of `task_id` with a sequence below `before` (the page cursor).
pub async fn list_executions<C: ConnectionTrait>(
    db: &C,
    task_id: &str,
    before: Option<i32>,
    limit: u64,
) -> Result<(Vec<execution::Model>, Option<i32>), DbErr> {
    let mut select = Entity::find().filter(Column::TaskId.eq(task_id));
    if let Some(b) = before {
        select = select.filter(Column::ExecutionSequence.lt(b));
    }
    let mut rows = select.order_by_desc(Column::ExecutionSequence).limit(limit + 1).all(db).await?;
    let next = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.execution_sequence)
    } else {
        None
    };
    Ok((rows, next))
}
