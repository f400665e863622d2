//! The envelope and message shapes WeCom sends, and the documents refused.

use super::*;

#[test]
fn reads_the_encrypted_envelope() {
    let xml = "<xml>\n<ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHK+/=]]></Encrypt>\n<AgentID><![CDATA[218]]></AgentID>\n</xml>";
    let f = parse(xml).expect("parses");
    assert_eq!(f.root, "xml");
    assert_eq!(f.get("ToUserName"), Some("wx5823bf96d3bd56c7"));
    assert_eq!(f.get("Encrypt"), Some("RypEvHK+/="));
    assert_eq!(f.get("AgentID"), Some("218"));
    assert_eq!(f.fields.len(), 3);
}

#[test]
fn reads_a_decrypted_message_with_plain_text_fields_and_entities() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>
<FromUserName><![CDATA[mycreate]]></FromUserName>
<CreateTime>1409659813</CreateTime>
<MsgType><![CDATA[text]]></MsgType>
<Content>a &lt;b&gt; &amp; &#20320;&#x597D; <![CDATA[<raw>]]></Content>
<MsgId>4561255354251345929</MsgId>
<AgentID>218</AgentID>
<Empty/><Blank></Blank>
</xml>"#;
    let f = parse(xml).expect("parses");
    assert_eq!(f.get("CreateTime"), Some("1409659813"));
    assert_eq!(f.get("MsgId"), Some("4561255354251345929"));
    assert_eq!(f.get("Content"), Some("a <b> & 你好 <raw>"));
    assert_eq!(f.get("Empty"), Some(""));
    assert_eq!(f.get("Blank"), Some(""));
    assert_eq!(f.get("Missing"), None);
}

#[test]
fn nested_elements_are_not_mapped_and_their_parent_is_trimmed() {
    let xml = "<xml><Event><![CDATA[pic_sysphoto]]></Event><SendPicsInfo>\n  <Count>1</Count>\n  <PicList><item><PicMd5Sum>x</PicMd5Sum></item></PicList>\n</SendPicsInfo><AgentID>1</AgentID></xml>";
    let f = parse(xml).expect("parses");
    assert_eq!(f.get("Event"), Some("pic_sysphoto"));
    assert_eq!(f.get("SendPicsInfo"), Some(""));
    assert_eq!(f.get("Count"), None);
    assert_eq!(f.get("AgentID"), Some("1"));
}

#[test]
fn malformed_documents_are_errors() {
    for xml in [
        "",
        "   ",
        "not xml",
        "<xml><A>1</B></xml>",
        "<xml><A>1</A>",
        "<xml><A>1</A></xml><xml/>",
        "<xml/>trailing",
        "<xml><A>1</A></xml></xml>",
        "<xml><A><![CDATA[x]]</A></xml>",
        "<xml><A>&#xD800;</A></xml>",
    ] {
        assert!(parse(xml).is_err(), "accepted {xml:?}");
    }
}

#[test]
fn dtd_and_custom_entities_are_refused() {
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><xml><A>&lol2;</A></xml>"#;
    assert_eq!(parse(bomb), Err(XmlError::DocType));
    assert_eq!(parse("<xml><A>&lol;</A></xml>"), Err(XmlError::UnknownEntity("lol".into())));
}

#[test]
fn duplicate_fields_are_refused() {
    assert_eq!(
        parse("<xml><ToUserName>a</ToUserName><ToUserName>b</ToUserName></xml>"),
        Err(XmlError::DuplicateField("ToUserName".into()))
    );
}

#[test]
fn size_and_depth_are_bounded() {
    let big = format!("<xml><A>{}</A></xml>", "x".repeat(MAX_XML_BYTES));
    assert_eq!(parse(&big), Err(XmlError::TooLarge));
    let deep = format!("<xml>{}{}</xml>", "<a>".repeat(40), "</a>".repeat(40));
    assert_eq!(parse(&deep), Err(XmlError::TooDeep));
    let fits = format!("<xml><A>{}</A></xml>", "x".repeat(MAX_XML_BYTES - 64));
    assert_eq!(parse(&fits).map(|f| f.fields["A"].len()), Ok(MAX_XML_BYTES - 64));
}

#[test]
fn reads_tencents_decrypted_message_vector() {
    use crate::domain::wecom_crypto::WecomCrypto;
    let envelope = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt>\n<AgentID><![CDATA[218]]></AgentID>\n</xml>";
    let outer = parse(envelope).expect("envelope");
    let crypto =
        WecomCrypto::new("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7").expect("key");
    let encrypted = outer.get("Encrypt").expect("Encrypt field");
    let xml = crypto.decrypt("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", encrypted);
    let inner = parse(&xml.expect("decrypts")).expect("message xml");
    let expected = [
        ("ToUserName", "wx5823bf96d3bd56c7"),
        ("FromUserName", "mycreate"),
        ("CreateTime", "1409659813"),
        ("MsgType", "text"),
        ("Content", "hello"),
        ("MsgId", "4561255354251345929"),
        ("AgentID", "218"),
    ];
    for (name, value) in expected {
        assert_eq!(inner.get(name), Some(value), "{name}");
    }
    assert_eq!(inner.fields.len(), expected.len());
}
