//! Unit tests of the directory rules.

use chrono::TimeZone;
use wework_client::protocol::ChatType;

use super::*;

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

fn message(chat_type: ChatType, chat_name: &str, content: MessageContent, sent_at: i64) -> NewMessageData {
    NewMessageData {
        msg_id: "m-1".into(),
        chat_id: "wm-peer".into(),
        chat_type,
        chat_name: chat_name.into(),
        sender_id: "wm-peer".into(),
        sender_name: "Li Na".into(),
        content,
        at_list: Vec::new(),
        sent_at,
    }
}

#[test]
fn a_fresh_running_sync_blocks_a_second_but_a_stale_one_does_not() {
    let now = at(10_000);
    assert_eq!(sync_claim(sync_status::NEVER, now, now), SyncClaim::Start);
    assert_eq!(sync_claim(sync_status::DONE, now, now), SyncClaim::Start);
    assert_eq!(sync_claim(sync_status::FAILED, now, now), SyncClaim::Start);
    assert_eq!(sync_claim(sync_status::RUNNING, at(10_000 - 60), now), SyncClaim::AlreadyRunning);
    assert_eq!(sync_claim(sync_status::RUNNING, at(10_000 - STALE_RUNNING_SECS), now), SyncClaim::Start);
}

#[test]
fn sync_stamps_are_milliseconds_and_strictly_increasing() {
    let now = at(1_000) + Duration::microseconds(1_234_567);
    assert_eq!(sync_start(now, None), at(1_001) + Duration::milliseconds(234));
    assert_eq!(sync_start(now, Some(at(900))), at(1_001) + Duration::milliseconds(234));
    // A clock that stood still (or went back) still moves the stamp on.
    assert_eq!(sync_start(at(1_000), Some(at(1_000))), at(1_000) + Duration::milliseconds(1));
    assert_eq!(sync_start(at(999), Some(at(1_000))), at(1_000) + Duration::milliseconds(1));
}

#[test]
fn clip_keeps_short_text_and_cuts_long_text_with_an_ellipsis() {
    assert_eq!(clip("  hello\nworld ", 20), "hello world");
    let long = "字".repeat(300);
    let cut = clip(&long, MAX_SUMMARY_CHARS);
    assert_eq!(cut.chars().count(), MAX_SUMMARY_CHARS);
    assert!(cut.ends_with('…'));
    assert_eq!(clip(&"a".repeat(200), 200), "a".repeat(200));
}

#[test]
fn every_content_type_has_a_summary() {
    let cases = [
        (MessageContent::Text { text: "hi there".into() }, "hi there"),
        (MessageContent::Image { url: "u".into(), file_size: 1 }, "[Image]"),
        (MessageContent::File { url: "u".into(), file_name: "q3.pdf".into(), file_size: 1 }, "[File] q3.pdf"),
        (
            MessageContent::Link {
                title: "News".into(),
                url: "u".into(),
                description: String::new(),
                image_url: String::new(),
            },
            "[Link] News",
        ),
        (
            MessageContent::MiniProgram {
                app_id: "a".into(),
                title: "Shop".into(),
                page_path: "p".into(),
                thumb_url: String::new(),
            },
            "[Mini program] Shop",
        ),
        (MessageContent::Video { url: "u".into(), duration_secs: 3, thumb_url: String::new() }, "[Video]"),
        (MessageContent::ContactCard { user_id: "u".into(), name: "Wang Wei".into() }, "[Contact card] Wang Wei"),
        (
            MessageContent::Location { latitude: 1.0, longitude: 2.0, title: String::new(), address: "Pier 7".into() },
            "[Location] Pier 7",
        ),
    ];
    for (content, want) in cases {
        assert_eq!(summarize(&content), want);
    }
    let long = MessageContent::Text { text: "x".repeat(1_000) };
    assert_eq!(summarize(&long).chars().count(), MAX_SUMMARY_CHARS);
}

#[test]
fn an_inbound_message_names_its_conversation_and_counts_once() {
    let received = at(2_000_000_000);
    let private = message(ChatType::Private, "", MessageContent::Text { text: "hello".into() }, 1_700_000_000_123);
    let a = inbound_activity(&private, received);
    assert_eq!((a.kind, a.name.as_deref(), a.summary.as_str()), (ConversationKind::Private, Some("Li Na"), "hello"));
    assert_eq!(a.sent_at.timestamp_millis(), 1_700_000_000_123);
    assert_eq!((a.msg_id.as_deref(), a.unread_increment), (Some("m-1"), 1));

    let group = message(ChatType::Group, "Team", MessageContent::Image { url: "u".into(), file_size: 0 }, 0);
    let g = inbound_activity(&group, received);
    assert_eq!((g.kind, g.name.as_deref()), (ConversationKind::Group, Some("Team")));
    assert_eq!(g.sent_at, received, "a missing sent_at reads as the time it arrived");

    let unnamed = message(ChatType::Group, " ", MessageContent::Text { text: "x".into() }, 1);
    assert_eq!(inbound_activity(&unnamed, received).name, None, "an unnamed group keeps its stored name");
}

#[test]
fn kinds_roles_and_types_round_trip_and_default_safely() {
    for k in [ConversationKind::Private, ConversationKind::Group] {
        assert_eq!(ConversationKind::parse(k.as_str()), Some(k));
        assert_eq!(ConversationKind::from_proto(k.to_proto()), Some(k));
    }
    assert_eq!(ConversationKind::from_proto(0), None);
    for t in [ContactType::Internal, ContactType::External] {
        assert_eq!(ContactType::from_proto(t.to_proto()), Some(t));
    }
    assert_eq!(ContactType::from_instance("INTERNAL"), ContactType::Internal);
    assert_eq!(ContactType::from_instance(""), ContactType::External);
    assert_eq!((member_role("Owner"), member_role("admin"), member_role("guest")), ("owner", "admin", "member"));
}

#[test]
fn request_fields_name_themselves() {
    assert_eq!(wework_id("user_id", " wm1 ").ok().as_deref(), Some("wm1"));
    assert_eq!(wework_id("user_id", "").map_err(|e| e.field), Err("user_id".to_owned()));
    assert_eq!(wework_id("group_id", &"r".repeat(101)).map_err(|e| e.field), Err("group_id".to_owned()));
    assert_eq!(search_text("  "), Ok(None));
    assert_eq!(search_text(&"t".repeat(101)).map_err(|e| e.field), Err("text".to_owned()));
    assert_eq!(tag_filter(" vip ").ok().flatten().as_deref(), Some("vip"));
    assert_eq!(tag_filter(&"t".repeat(MAX_TAG_LEN + 1)).map_err(|e| e.field), Err("tag".to_owned()));
}
