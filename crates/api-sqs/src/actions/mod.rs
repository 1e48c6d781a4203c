//! One module per family of SQS actions. Each action parses its input shape, calls the broker
//! and encodes its output shape; none of them decides an SQS rule of its own.

mod delete;
mod move_tasks;
mod permissions;
mod queues;
mod receive;
mod send;
mod tags;
mod visibility;

use tern_broker::Broker;
use tern_core::{ErrorCode, SqsError};

use crate::RequestContext;

pub async fn dispatch(
    broker: &Broker,
    context: &RequestContext,
    operation: &str,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    match operation {
        "CreateQueue" => queues::create_queue(broker, context, body).await,
        "GetQueueUrl" => queues::get_queue_url(broker, context, body),
        "ListQueues" => queues::list_queues(broker, context, body),
        "DeleteQueue" => queues::delete_queue(broker, context, body).await,
        "GetQueueAttributes" => queues::get_queue_attributes(broker, context, body).await,
        "SetQueueAttributes" => queues::set_queue_attributes(broker, context, body).await,
        "ListDeadLetterSourceQueues" => {
            queues::list_dead_letter_source_queues(broker, context, body)
        }
        "StartMessageMoveTask" => move_tasks::start_message_move_task(broker, body).await,
        "ListMessageMoveTasks" => move_tasks::list_message_move_tasks(broker, body),
        "CancelMessageMoveTask" => move_tasks::cancel_message_move_task(broker, body),
        "AddPermission" => permissions::add_permission(broker, context, body).await,
        "RemovePermission" => permissions::remove_permission(broker, context, body).await,
        "PurgeQueue" => queues::purge_queue(broker, context, body).await,
        "TagQueue" => tags::tag_queue(broker, context, body).await,
        "UntagQueue" => tags::untag_queue(broker, context, body).await,
        "ListQueueTags" => tags::list_queue_tags(broker, context, body),
        "SendMessage" => send::send_message(broker, context, body).await,
        "SendMessageBatch" => send::send_message_batch(broker, context, body).await,
        "ReceiveMessage" => receive::receive_message(broker, context, body).await,
        "DeleteMessage" => delete::delete_message(broker, context, body).await,
        "DeleteMessageBatch" => delete::delete_message_batch(broker, context, body).await,
        "ChangeMessageVisibility" => {
            visibility::change_message_visibility(broker, context, body).await
        }
        "ChangeMessageVisibilityBatch" => {
            visibility::change_message_visibility_batch(broker, context, body).await
        }
        other => Err(SqsError::new(
            ErrorCode::UnknownOperation,
            format!("The action {other} is not valid for this endpoint."),
        )),
    }
}
