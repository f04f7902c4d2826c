// Package notify owns what heck sends to people and services when a
// target's state changes, and how one such message goes out over one
// channel.
//
// It defines:
//
//   - Message, the notification itself (its JSON form is the body of the
//     generic webhook and a stable, documented schema);
//   - Channel, the one-method interface a channel implements, and the error
//     classification a caller's retry loop relies on (Permanent,
//     RetryAfter);
//   - Spec, a notifier as written in the config file or sent to the API,
//     with its validation (Validate), its ${VAR} secret references
//     (EnvRefs, Expand) and its API form (Redacted);
//   - New, which builds the Channel for a Spec;
//   - Post and PostJSON, the HTTP posting shared by every HTTP channel.
//
// Each channel lives in its own subpackage (webhook, slack, discord, teams,
// telegram, ntfy, pagerduty, email) and registers its builder with
// Register from an init function. Import internal/notify/all once (the
// node does) to link every channel in.
//
// What this package does not own: deciding when to notify, routing a
// transition to notifiers, retrying, and exactly-once delivery across the
// cluster. Those belong to the caller, which uses Permanent and RetryAfter
// to decide whether and when a failed Send is worth another try, and
// Message.ID to deduplicate.
package notify
