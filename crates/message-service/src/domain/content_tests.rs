//! Unit tests of content parsing: one per rule, unhappy paths named by field.

use wework_client::protocol::{ChatType, MessageContent};
use wework_proto::message::Content;
use wework_proto::message::content::{self as pc, Kind};

use super::*;

fn proto(kind: Kind) -> Content {
    Content { kind: Some(kind) }
}

fn fields(result: Result<MessageBody, Vec<FieldError>>) -> Vec<String> {
    match result {
        Ok(body) => panic!("expected errors, got {body:?}"),
        Err(errors) => errors.into_iter().map(|e| e.field).collect(),
    }
}

fn text(t: &str) -> Content {
    proto(Kind::Text(pc::Text { text: t.to_owned() }))
}

fn link(title: &str, url: &str) -> pc::Link {
    pc::Link { title: title.into(), url: url.into(), ..Default::default() }
}

#[test]
fn missing_content_or_kind_is_named_content() {
    assert_eq!(fields(parse(None, "content")), ["content"]);
    assert_eq!(fields(parse(Some(&Content { kind: None }), "content")), ["content"]);
}

#[test]
fn text_is_trimmed_and_limited() {
    let body = parse(Some(&text("  hi \n")), "content").unwrap();
    assert_eq!(body.content(), &MessageContent::Text { text: "hi".into() });
    assert_eq!(fields(parse(Some(&text(" \n\t ")), "content")), ["content.text.text"]);
    assert!(parse(Some(&text(&"字".repeat(MAX_TEXT_CHARS))), "content").is_ok());
    assert_eq!(fields(parse(Some(&text(&"字".repeat(MAX_TEXT_CHARS + 1))), "content")), ["content.text.text"]);
    // Surrounding whitespace does not count against the limit.
    assert!(parse(Some(&text(&format!("  {}  ", "a".repeat(MAX_TEXT_CHARS)))), "content").is_ok());
    assert_eq!(fields(parse(Some(&text("a\0b")), "content")), ["content.text.text"]);
}

#[test]
fn field_names_follow_the_given_path() {
    let err = parse(Some(&text("")), "messages[3].content").unwrap_err();
    assert_eq!(err[0].field, "messages[3].content.text.text");
    assert_eq!(err[0].message, "required");
}

#[test]
fn urls_must_be_absolute_http() {
    for good in ["http://a.example/x", "HTTPS://a.example", "https://127.0.0.1:8080/p?q=1#f", "https://[::1]/"] {
        assert_eq!(url_problem(good), None, "{good}");
    }
    for bad in [
        "",
        "a.example/x",
        "ftp://a.example",
        "javascript:alert(1)",
        "https://",
        "https:///path",
        "https://a b.example",
        "https://user@a.example/",
        "https://a.example/\u{7}",
    ] {
        assert!(url_problem(bad).is_some(), "{bad}");
    }
    let long = format!("https://a.example/{}", "x".repeat(MAX_URL_CHARS));
    assert_eq!(url_problem(&long), Some("at most 2048 characters"));
    let img = |url: &str| proto(Kind::Image(pc::Image { url: url.into(), file_size: 0 }));
    assert_eq!(fields(parse(Some(&img("")), "content")), ["content.image.url"]);
    assert_eq!(fields(parse(Some(&img("/local.png")), "content")), ["content.image.url"]);
}

#[test]
fn file_sizes_are_capped_per_kind() {
    let img = |size| proto(Kind::Image(pc::Image { url: "https://a.example/i.png".into(), file_size: size }));
    assert!(parse(Some(&img(MAX_IMAGE_BYTES)), "content").is_ok());
    assert_eq!(fields(parse(Some(&img(MAX_IMAGE_BYTES + 1)), "content")), ["content.image.file_size"]);
    let file = |size| {
        proto(Kind::File(pc::File { url: "https://a.example/f".into(), file_name: "a.pdf".into(), file_size: size }))
    };
    assert!(parse(Some(&file(MAX_FILE_BYTES)), "content").is_ok());
    assert_eq!(fields(parse(Some(&file(MAX_FILE_BYTES + 1)), "content")), ["content.file.file_size"]);
}

#[test]
fn file_names_are_plain() {
    let file = |name: &str| {
        proto(Kind::File(pc::File { url: "https://a.example/f".into(), file_name: name.into(), file_size: 1 }))
    };
    assert!(parse(Some(&file("报告 2024.pdf")), "content").is_ok());
    assert!(parse(Some(&file(&"n".repeat(MAX_FILE_NAME_CHARS))), "content").is_ok());
    for bad in ["", " ", "../etc/passwd", "a\\b.txt", "..", "a\nb", &"n".repeat(MAX_FILE_NAME_CHARS + 1)] {
        assert_eq!(fields(parse(Some(&file(bad)), "content")), ["content.file.file_name"], "{bad:?}");
    }
}

#[test]
fn link_limits() {
    assert!(parse(Some(&proto(Kind::Link(link("T", "https://a.example")))), "content").is_ok());
    let mut l = link(&"t".repeat(MAX_TITLE_CHARS + 1), "https://a.example");
    l.description = "d".repeat(MAX_DESCRIPTION_CHARS + 1);
    l.image_url = "not a url".into();
    assert_eq!(
        fields(parse(Some(&proto(Kind::Link(l))), "content")),
        ["content.link.title", "content.link.description", "content.link.image_url"]
    );
    assert_eq!(
        fields(parse(Some(&proto(Kind::Link(link("", "")))), "content")),
        ["content.link.title", "content.link.url"]
    );
}

#[test]
fn mini_program_limits() {
    let mp = |app_id: &str, page_path: &str| {
        proto(Kind::MiniProgram(pc::MiniProgram {
            app_id: app_id.into(),
            title: "Shop".into(),
            page_path: page_path.into(),
            thumb_url: String::new(),
        }))
    };
    assert!(parse(Some(&mp("wx1234567890abcdef", "pages/index?id=1")), "content").is_ok());
    for bad in ["", "wx-123", "wx 1", &"a".repeat(MAX_APP_ID_CHARS + 1)] {
        assert_eq!(fields(parse(Some(&mp(bad, "")), "content")), ["content.mini_program.app_id"], "{bad:?}");
    }
    assert_eq!(
        fields(parse(Some(&mp("wx1", &"p".repeat(MAX_PAGE_PATH_CHARS + 1))), "content")),
        ["content.mini_program.page_path"]
    );
    let no_title = proto(Kind::MiniProgram(pc::MiniProgram { app_id: "wx1".into(), ..Default::default() }));
    assert_eq!(fields(parse(Some(&no_title), "content")), ["content.mini_program.title"]);
}

#[test]
fn video_duration_and_thumb() {
    let video = |secs, thumb: &str| {
        proto(Kind::Video(pc::Video {
            url: "https://a.example/v.mp4".into(),
            duration_secs: secs,
            thumb_url: thumb.into(),
        }))
    };
    assert!(parse(Some(&video(MAX_VIDEO_SECS, "https://a.example/t.jpg")), "content").is_ok());
    assert_eq!(
        fields(parse(Some(&video(MAX_VIDEO_SECS + 1, "t.jpg")), "content")),
        ["content.video.duration_secs", "content.video.thumb_url"]
    );
}

#[test]
fn contact_card_user_id() {
    let card = |id: &str| proto(Kind::ContactCard(pc::ContactCard { user_id: id.into(), name: String::new() }));
    assert!(parse(Some(&card("zhangsan")), "content").is_ok());
    assert_eq!(fields(parse(Some(&card("")), "content")), ["content.contact_card.user_id"]);
    assert_eq!(fields(parse(Some(&card(&"u".repeat(65))), "content")), ["content.contact_card.user_id"]);
}

#[test]
fn location_ranges() {
    let loc = |latitude, longitude| {
        proto(Kind::Location(pc::Location { latitude, longitude, title: String::new(), address: String::new() }))
    };
    assert!(parse(Some(&loc(-90.0, 180.0)), "content").is_ok());
    assert!(parse(Some(&loc(31.23, 121.47)), "content").is_ok());
    assert_eq!(
        fields(parse(Some(&loc(90.1, -180.1)), "content")),
        ["content.location.latitude", "content.location.longitude"]
    );
    assert_eq!(
        fields(parse(Some(&loc(f64::NAN, f64::INFINITY)), "content")),
        ["content.location.latitude", "content.location.longitude"]
    );
}

#[test]
fn at_list_rules() {
    let ids = |n: usize| (0..n).map(|i| format!("u{i}")).collect::<Vec<_>>();
    assert!(check_at_list(&[], ChatType::Private, "at_list").is_empty());
    assert!(check_at_list(&ids(MAX_AT_LIST), ChatType::Group, "at_list").is_empty());
    let private = check_at_list(&ids(1), ChatType::Private, "at_list");
    assert_eq!(private, [FieldError::new("at_list", "only allowed in group chats")]);
    let too_many = check_at_list(&ids(MAX_AT_LIST + 1), ChatType::Group, "at_list");
    assert_eq!(too_many.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["at_list"]);
    let bad = vec!["all".into(), String::new(), "x".repeat(MAX_AT_ID_CHARS + 1)];
    let errors = check_at_list(&bad, ChatType::Group, "at_list");
    assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["at_list[1]", "at_list[2]"]);
}

#[test]
fn kinds_use_the_stored_names() {
    let body = |k| parse(Some(&proto(k)), "c").unwrap();
    let file = pc::File { url: "https://a.example/f".into(), file_name: "f".into(), file_size: 0 };
    let mp = pc::MiniProgram { app_id: "wx1".into(), title: "t".into(), ..Default::default() };
    let cases = [
        (body(Kind::Text(pc::Text { text: "x".into() })), "text"),
        (body(Kind::Image(pc::Image { url: "https://a.example/i".into(), file_size: 0 })), "image"),
        (body(Kind::File(file)), "file"),
        (body(Kind::Link(link("t", "https://a.example"))), "link"),
        (body(Kind::MiniProgram(mp)), "miniprogram"),
        (body(Kind::Video(pc::Video { url: "https://a.example/v".into(), ..Default::default() })), "video"),
        (body(Kind::ContactCard(pc::ContactCard { user_id: "u".into(), name: String::new() })), "card"),
        (body(Kind::Location(pc::Location::default())), "location"),
    ];
    for (body, name) in cases {
        assert_eq!(kind(&body), name);
    }
}

#[test]
fn summaries_are_one_short_line() {
    let s = |k| summary(&parse(Some(&proto(k)), "c").unwrap());
    assert_eq!(s(Kind::Text(pc::Text { text: "hello\n\n  world".into() })), "hello world");
    assert_eq!(s(Kind::Image(pc::Image { url: "https://a.example/i".into(), file_size: 0 })), "[image]");
    let file = pc::File { url: "https://a.example/f".into(), file_name: "q3.pdf".into(), file_size: 0 };
    assert_eq!(s(Kind::File(file)), "[file] q3.pdf");
    assert_eq!(s(Kind::Link(link("News", "https://a.example"))), "[link] News");
    assert_eq!(s(Kind::ContactCard(pc::ContactCard { user_id: "u1".into(), name: String::new() })), "[card] u1");
    let loc = pc::Location { address: "1 Main St".into(), ..Default::default() };
    assert_eq!(s(Kind::Location(loc)), "[location] 1 Main St");
    let long = s(Kind::Text(pc::Text { text: "长".repeat(MAX_TEXT_CHARS) }));
    assert_eq!(long.chars().count(), MAX_SUMMARY_CHARS);
    assert!(long.ends_with('…'));
}

#[test]
fn json_and_proto_round_trips() {
    let original = link("T", "https://a.example");
    let body = parse(Some(&proto(Kind::Link(original.clone()))), "content").unwrap();
    let json = serde_json::to_value(&body).unwrap();
    assert_eq!(json["msg_type"], "link");
    assert_eq!(json["url"], "https://a.example");
    let back: MessageBody = serde_json::from_value(json).unwrap();
    assert_eq!(back, body);
    assert_eq!(to_proto(body.content()), proto(Kind::Link(original)));
    let for_driver: MessageContent = body.into();
    assert_eq!(for_driver.kind(), "link");
}

#[test]
fn all_errors_are_reported_together() {
    let l = pc::Link { title: String::new(), url: "x".into(), description: "\0".into(), image_url: "y".into() };
    assert_eq!(fields(parse(Some(&proto(Kind::Link(l))), "content")).len(), 4);
}
