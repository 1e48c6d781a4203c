//! Builders shared by the crate's unit tests.

use tern_core::time::Millis;
use tern_store::NewMessage;

/// A message with id `id-<body>`, visible from `sent_at`, in `group` if given.
pub fn message(body: &str, group: Option<&str>, sent_at: Millis) -> NewMessage {
    NewMessage {
        message_id: format!("id-{body}"),
        body: body.to_owned(),
        attributes: Default::default(),
        md5_of_body: String::new(),
        md5_of_attributes: None,
        sender_id: "s".to_owned(),
        sent_at,
        visible_at: sent_at,
        group_id: group.map(str::to_owned),
        deduplication: None,
        trace_header: None,
    }
}
