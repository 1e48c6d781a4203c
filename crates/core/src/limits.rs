//! Every bound Tern enforces, named, with units last. Values follow the AWS SQS documentation.

pub const QUEUE_NAME_LENGTH_MAX: usize = 80;

pub const DELAY_SECONDS_MAX: u64 = 900;
pub const VISIBILITY_TIMEOUT_SECONDS_MAX: u64 = 43_200;
pub const VISIBILITY_TIMEOUT_SECONDS_DEFAULT: u64 = 30;
pub const WAIT_TIME_SECONDS_MAX: u64 = 20;
pub const MESSAGE_RETENTION_SECONDS_MIN: u64 = 60;
pub const MESSAGE_RETENTION_SECONDS_MAX: u64 = 1_209_600;
pub const MESSAGE_RETENTION_SECONDS_DEFAULT: u64 = 345_600;
pub const MESSAGE_SIZE_BYTES_MIN: u64 = 1_024;
pub const MESSAGE_SIZE_BYTES_MAX: u64 = 1_048_576;
pub const KMS_DATA_KEY_REUSE_SECONDS_MIN: u64 = 60;
pub const KMS_DATA_KEY_REUSE_SECONDS_MAX: u64 = 86_400;

pub const RECEIVE_MESSAGES_MAX: u32 = 10;
pub const BATCH_ENTRIES_MAX: usize = 10;
pub const BATCH_ENTRY_ID_LENGTH_MAX: usize = 80;
/// A batch's bodies and attributes together may not exceed one message's maximum.
pub const BATCH_PAYLOAD_BYTES_MAX: u64 = MESSAGE_SIZE_BYTES_MAX;

pub const MESSAGE_ATTRIBUTES_MAX: usize = 10;
pub const MESSAGE_ATTRIBUTE_NAME_LENGTH_MAX: usize = 256;
pub const MESSAGE_ATTRIBUTE_TYPE_LENGTH_MAX: usize = 256;

pub const LIST_QUEUES_RESULTS_MAX: usize = 1_000;
pub const QUEUE_TAGS_MAX: usize = 50;
pub const TAG_KEY_LENGTH_MAX: usize = 128;
pub const TAG_VALUE_LENGTH_MAX: usize = 256;
pub const POLICY_LENGTH_BYTES_MAX: usize = 20_480;
