//! One module per family of SQS actions. Each action is a typed operation — input type in, output
//! type or `SqsError` out — that calls the broker and decides no SQS rule of its own. Beside each
//! input type sits its Query description (`codec::Input`), beside each output type its XML
//! rendering (`XmlResult`); the dispatcher below reads and writes both through the request's codec.

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
use crate::codec::{Codec, RequestError};

pub(crate) async fn dispatch(
    broker: &Broker,
    context: &RequestContext,
    operation: &str,
    codec: &Codec<'_>,
) -> Result<Vec<u8>, RequestError> {
    // `serve!(input => call)`: decode the operation's input with the request's codec, run the
    // call, and encode its output with the same codec.
    macro_rules! serve {
        ($input:ident => $call:expr) => {{
            let $input = codec.input()?;
            codec.reply(&$call?)
        }};
    }
    match operation {
        "CreateQueue" => serve!(input => queues::create_queue(broker, context, input).await),
        "GetQueueUrl" => serve!(input => queues::get_queue_url(broker, context, input)),
        "ListQueues" => serve!(input => queues::list_queues(broker, context, input)),
        "DeleteQueue" => serve!(input => queues::delete_queue(broker, context, input).await),
        "GetQueueAttributes" => {
            serve!(input => queues::get_queue_attributes(broker, context, input).await)
        }
        "SetQueueAttributes" => {
            serve!(input => queues::set_queue_attributes(broker, context, input).await)
        }
        "ListDeadLetterSourceQueues" => {
            serve!(input => queues::list_dead_letter_source_queues(broker, context, input))
        }
        "StartMessageMoveTask" => {
            serve!(input => move_tasks::start_message_move_task(broker, input).await)
        }
        "ListMessageMoveTasks" => {
            serve!(input => move_tasks::list_message_move_tasks(broker, input))
        }
        "CancelMessageMoveTask" => {
            serve!(input => move_tasks::cancel_message_move_task(broker, input))
        }
        "AddPermission" => {
            serve!(input => permissions::add_permission(broker, context, input).await)
        }
        "RemovePermission" => {
            serve!(input => permissions::remove_permission(broker, context, input).await)
        }
        "PurgeQueue" => serve!(input => queues::purge_queue(broker, context, input).await),
        "TagQueue" => serve!(input => tags::tag_queue(broker, context, input).await),
        "UntagQueue" => serve!(input => tags::untag_queue(broker, context, input).await),
        "ListQueueTags" => serve!(input => tags::list_queue_tags(broker, context, input)),
        "SendMessage" => serve!(input => send::send_message(broker, context, input).await),
        "SendMessageBatch" => {
            serve!(input => send::send_message_batch(broker, context, input).await)
        }
        "ReceiveMessage" => {
            serve!(input => receive::receive_message(broker, context, input).await)
        }
        "DeleteMessage" => serve!(input => delete::delete_message(broker, context, input).await),
        "DeleteMessageBatch" => {
            serve!(input => delete::delete_message_batch(broker, context, input).await)
        }
        "ChangeMessageVisibility" => {
            serve!(input => visibility::change_message_visibility(broker, context, input).await)
        }
        "ChangeMessageVisibilityBatch" => serve!(input =>
            visibility::change_message_visibility_batch(broker, context, input).await),
        other => Err(SqsError::new(
            ErrorCode::UnknownOperation,
            format!("The action {other} is not valid for this endpoint."),
        )
        .into()),
    }
}

/// The Query description of every action's input: each indexed shape decodes into the JSON
/// shape, and that JSON deserializes into the action's input type.
#[cfg(test)]
mod query_inputs {
    use serde_json::{Value, json};
    use tern_aws_wire::query::{self, Params};

    use super::*;
    use crate::codec::Input;

    fn check<I: Input>(form: &str, expected: Value) {
        let params = Params::parse(None, form.as_bytes()).unwrap();
        let decoded = query::decode(&params, I::QUERY_MEMBERS).unwrap();
        assert_eq!(decoded, expected, "{form}");
        let codec = Codec::Query {
            params: &params,
            action: "Test",
            request_id: "r",
        };
        if let Err(error) = codec.input::<I>() {
            panic!("{form}: {error}");
        }
    }

    #[test]
    fn create_and_set_queue_attributes_and_tags() {
        check::<queues::CreateQueueInput>(
            "Action=CreateQueue&QueueName=q&Attribute.1.Name=DelaySeconds&Attribute.1.Value=5\
             &Attribute.2.Name=VisibilityTimeout&Attribute.2.Value=60&Tag.1.Key=team&Tag.1.Value=core",
            json!({"QueueName": "q",
                   "Attributes": {"DelaySeconds": "5", "VisibilityTimeout": "60"},
                   "tags": {"team": "core"}}),
        );
        check::<queues::SetQueueAttributesInput>(
            "QueueUrl=u&Attribute.1.Name=Policy&Attribute.1.Value=%7B%7D",
            json!({"QueueUrl": "u", "Attributes": {"Policy": "{}"}}),
        );
        check::<tags::TagQueueInput>(
            "QueueUrl=u&Tag.1.Key=a&Tag.1.Value=1&Tag.2.Key=b&Tag.2.Value=",
            json!({"QueueUrl": "u", "Tags": {"a": "1", "b": ""}}),
        );
        check::<tags::UntagQueueInput>(
            "QueueUrl=u&TagKey.1=a&TagKey.2=b",
            json!({"QueueUrl": "u", "TagKeys": ["a", "b"]}),
        );
    }

    #[test]
    fn attribute_name_lists_and_integers() {
        check::<queues::GetQueueAttributesInput>(
            "QueueUrl=u&AttributeName.1=All",
            json!({"QueueUrl": "u", "AttributeNames": ["All"]}),
        );
        check::<receive::ReceiveMessageInput>(
            "QueueUrl=u&AttributeName.1=SenderId&MessageSystemAttributeName.1=SentTimestamp\
             &MessageAttributeName.1=color&MessageAttributeName.2=size&MaxNumberOfMessages=10\
             &VisibilityTimeout=30&WaitTimeSeconds=0&ReceiveRequestAttemptId=x",
            json!({"QueueUrl": "u", "AttributeNames": ["SenderId"],
                   "MessageSystemAttributeNames": ["SentTimestamp"],
                   "MessageAttributeNames": ["color", "size"], "MaxNumberOfMessages": 10,
                   "VisibilityTimeout": 30, "WaitTimeSeconds": 0,
                   "ReceiveRequestAttemptId": "x"}),
        );
        check::<queues::ListQueuesInput>(
            "QueueNamePrefix=p&MaxResults=2&NextToken=t",
            json!({"QueueNamePrefix": "p", "MaxResults": 2, "NextToken": "t"}),
        );
        check::<queues::ListDeadLetterSourceQueuesInput>(
            "QueueUrl=u&MaxResults=1",
            json!({"QueueUrl": "u", "MaxResults": 1}),
        );
        check::<visibility::ChangeMessageVisibilityInput>(
            "QueueUrl=u&ReceiptHandle=h&VisibilityTimeout=0",
            json!({"QueueUrl": "u", "ReceiptHandle": "h", "VisibilityTimeout": 0}),
        );
        check::<permissions::AddPermissionInput>(
            "QueueUrl=u&Label=l&AWSAccountId.1=111111111111&ActionName.1=SendMessage\
             &ActionName.2=ReceiveMessage",
            json!({"QueueUrl": "u", "Label": "l", "AWSAccountIds": ["111111111111"],
                   "Actions": ["SendMessage", "ReceiveMessage"]}),
        );
        check::<move_tasks::StartMessageMoveTaskInput>(
            "SourceArn=a&MaxNumberOfMessagesPerSecond=10",
            json!({"SourceArn": "a", "MaxNumberOfMessagesPerSecond": 10}),
        );
        check::<move_tasks::ListMessageMoveTasksInput>(
            "SourceArn=a&MaxResults=10",
            json!({"SourceArn": "a", "MaxResults": 10}),
        );
    }

    #[test]
    fn message_attributes_in_send_and_batch_entries() {
        check::<send::SendMessageInput>(
            "QueueUrl=u&MessageBody=hi&DelaySeconds=2&MessageGroupId=g\
             &MessageAttribute.1.Name=color&MessageAttribute.1.Value.DataType=String\
             &MessageAttribute.1.Value.StringValue=red\
             &MessageAttribute.2.Name=raw&MessageAttribute.2.Value.DataType=Binary\
             &MessageAttribute.2.Value.BinaryValue=AAEC",
            json!({"QueueUrl": "u", "MessageBody": "hi", "DelaySeconds": 2, "MessageGroupId": "g",
                   "MessageAttributes": {
                       "color": {"DataType": "String", "StringValue": "red"},
                       "raw": {"DataType": "Binary", "BinaryValue": "AAEC"}}}),
        );
        check::<send::SendMessageBatchInput>(
            "QueueUrl=u&SendMessageBatchRequestEntry.1.Id=a\
             &SendMessageBatchRequestEntry.1.MessageBody=one\
             &SendMessageBatchRequestEntry.1.DelaySeconds=1\
             &SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=n\
             &SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=Number\
             &SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=7\
             &SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=two",
            json!({"QueueUrl": "u", "Entries": [
                {"Id": "a", "MessageBody": "one", "DelaySeconds": 1, "MessageAttributes": {
                    "n": {"DataType": "Number", "StringValue": "7"}}},
                {"Id": "b", "MessageBody": "two"}]}),
        );
    }

    #[test]
    fn delete_and_visibility_batch_entries() {
        check::<delete::DeleteMessageBatchInput>(
            "QueueUrl=u&DeleteMessageBatchRequestEntry.1.Id=a\
             &DeleteMessageBatchRequestEntry.1.ReceiptHandle=h1\
             &DeleteMessageBatchRequestEntry.2.Id=b&DeleteMessageBatchRequestEntry.2.ReceiptHandle=h2",
            json!({"QueueUrl": "u", "Entries": [
                {"Id": "a", "ReceiptHandle": "h1"}, {"Id": "b", "ReceiptHandle": "h2"}]}),
        );
        check::<visibility::ChangeMessageVisibilityBatchInput>(
            "QueueUrl=u&ChangeMessageVisibilityBatchRequestEntry.1.Id=a\
             &ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle=h\
             &ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout=45",
            json!({"QueueUrl": "u", "Entries": [
                {"Id": "a", "ReceiptHandle": "h", "VisibilityTimeout": 45}]}),
        );
    }

    #[test]
    fn plain_inputs_pass_strings_through() {
        check::<queues::GetQueueUrlInput>(
            "QueueName=q&QueueOwnerAWSAccountId=000000000000",
            json!({"QueueName": "q", "QueueOwnerAWSAccountId": "000000000000"}),
        );
        check::<queues::QueueUrlInput>("QueueUrl=u", json!({"QueueUrl": "u"}));
        check::<tags::ListQueueTagsInput>("QueueUrl=u", json!({"QueueUrl": "u"}));
        check::<delete::DeleteMessageInput>(
            "QueueUrl=u&ReceiptHandle=h",
            json!({"QueueUrl": "u", "ReceiptHandle": "h"}),
        );
        check::<permissions::RemovePermissionInput>(
            "QueueUrl=u&Label=l",
            json!({"QueueUrl": "u", "Label": "l"}),
        );
        check::<move_tasks::CancelMessageMoveTaskInput>("TaskHandle=t", json!({"TaskHandle": "t"}));
    }
}
