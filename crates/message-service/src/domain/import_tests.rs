//! Import tests: quoting edge cases, row errors with their lines, limits, and
//! a generated 100,000-row list.

use std::fmt::Write as _;

use super::*;

fn parse(csv: &str) -> (Vec<ImportedReceiver>, Vec<RowError>) {
    parse_import(csv).expect("import accepted")
}

fn ids(receivers: &[ImportedReceiver]) -> Vec<&str> {
    receivers.iter().map(|r| r.conversation_id.as_str()).collect()
}

/// (line, field) of each row error.
fn where_(errors: &[RowError]) -> Vec<(u32, &str)> {
    errors.iter().map(|e| (e.line, e.field.as_str())).collect()
}

#[test]
fn header_and_columns() {
    let (ok, errors) = parse("conversation_id,chat_type,name,city,code\nwm1,group,Team A,Paris,7\nwm2,,Bob,,\n");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(ok.len(), 2);
    assert_eq!((ok[0].line, ok[0].chat_type, ok[0].name.as_str()), (2, ChatType::Group, "Team A"));
    let vars: Vec<_> = ok[0].variables.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(vars, [("city", "Paris"), ("code", "7")]);
    // Empty cells: default chat type, variables left out.
    assert_eq!((ok[1].chat_type, ok[1].variables.len()), (ChatType::Private, 0));
}

#[test]
fn only_conversation_id_is_required() {
    let (ok, errors) = parse("conversation_id\nwm1\n wm2 \n");
    assert!(errors.is_empty());
    assert_eq!(ids(&ok), ["wm1", "wm2"]);
    assert_eq!(ok[0].chat_type, ChatType::Private);
}

#[test]
fn rfc4180_quoting() {
    let csv = "conversation_id,name,note\r\n\"wm,1\",\"Smith, J.\",\"she said \"\"hi\"\"\"\r\nwm2,\"two\r\nlines\",\"\"\r\nwm3,a\"b,x\r\n";
    let (ok, errors) = parse(csv);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(ids(&ok), ["wm,1", "wm2", "wm3"]);
    assert_eq!(ok[0].name, "Smith, J.");
    assert_eq!(ok[0].variables["note"], "she said \"hi\"");
    assert_eq!(ok[1].name, "two\r\nlines");
    assert!(ok[1].variables.is_empty());
    // A stray quote inside an unquoted field is literal.
    assert_eq!(ok[2].name, "a\"b");
    // The multi-line record moves the physical line count on.
    assert_eq!(ok.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 5]);
}

#[test]
fn bom_lf_cr_and_blank_lines() {
    let (ok, errors) = parse("\u{feff}conversation_id,name\n\nwm1,a\rwm2,b\r\n\n\n");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(ids(&ok), ["wm1", "wm2"]);
    assert_eq!((ok[0].line, ok[1].line), (3, 4));
    // No final line break.
    let (ok, _) = parse("conversation_id\nwm1");
    assert_eq!(ids(&ok), ["wm1"]);
}

#[test]
fn trailing_comma_means_an_empty_last_field() {
    let (ok, errors) = parse("conversation_id,city\nwm1,\nwm2\n");
    assert_eq!(ids(&ok), ["wm1"]);
    assert_eq!(where_(&errors), [(3, "")]);
    assert!(errors[0].message.contains("expected 2 fields"), "{}", errors[0].message);
}

#[test]
fn row_errors_name_line_and_field() {
    let long_id = "x".repeat(101);
    let csv = format!(
        "conversation_id,chat_type,city\n\
         ,private,a\n\
         {long_id},private,a\n\
         wm1,channel,a\n\
         wm1,group,a\n\
         wm2,group\n\
         wm2,group,a,b\n\
         wm1,GROUP,a\n\
         wm3,Private,\"bad\"x\n"
    );
    let (ok, errors) = parse(&csv);
    assert_eq!(ids(&ok), ["wm1"]);
    assert_eq!(ok[0].line, 5, "an errored row does not claim its id");
    assert_eq!(
        where_(&errors),
        [
            (2, "conversation_id"),
            (3, "conversation_id"),
            (4, "chat_type"),
            (6, ""),
            (7, ""),
            (8, "conversation_id"),
            (9, "city")
        ]
    );
    assert_eq!(errors[5].message, "duplicate of line 5");
}

#[test]
fn a_100_char_id_is_fine_and_fields_are_capped() {
    let id = "é".repeat(100);
    let (ok, errors) = parse(&format!("conversation_id,note\n{id},{}\nwm2,{}\n", "n".repeat(4_000), "n".repeat(4_001)));
    assert_eq!(ids(&ok), [id.as_str()]);
    assert_eq!(where_(&errors), [(3, "note")]);
}

#[test]
fn unterminated_quote_swallows_the_rest() {
    let (ok, errors) = parse("conversation_id,name\nwm1,a\nwm2,\"open\nwm3,b\n");
    assert_eq!(ids(&ok), ["wm1"]);
    assert_eq!(where_(&errors), [(3, "name")]);
    assert_eq!(errors[0].message, "unterminated quoted field");
}

#[test]
fn header_problems_are_row_errors_on_its_line() {
    let (ok, errors) = parse("conversation_id,City,name,x-y,ok_1,ok_1,conversation_id\nwm1,Paris,n,1,2,3,wm9\n");
    assert_eq!(where_(&errors), [(1, "City"), (1, "x-y"), (1, "ok_1"), (1, "conversation_id")]);
    assert_eq!(ids(&ok), ["wm1"]);
    let vars: Vec<_> = ok[0].variables.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(vars, [("ok_1", "2")]);
    let reader = ImportReader::new("conversation_id,a,b\n").expect("reader");
    assert_eq!(reader.variable_names().collect::<Vec<_>>(), ["a", "b"]);
}

#[test]
fn variable_name_rule() {
    assert!(is_variable_name("a"));
    assert!(is_variable_name(&format!("a{}", "_9".repeat(15) + "z")));
    assert!(!is_variable_name(&"a".repeat(33)));
    for bad in ["", "1a", "_a", "aB", "a-b", "a b", "é"] {
        assert!(!is_variable_name(bad), "{bad:?}");
    }
}

#[test]
fn whole_import_errors() {
    let field = |csv: &str| {
        let e = ImportReader::new(csv).expect_err(csv);
        assert_eq!(e.field, "targets.import.csv");
        e.message
    };
    assert!(field("").contains("header row is required"));
    assert!(field("\u{feff}\r\n\r\n").contains("header row is required"));
    assert!(field("name,city\nbob,paris\n").contains("conversation_id"));
    assert!(field("conversation_id,\"name\n").contains("header row"));
    let big = format!("conversation_id,pad\nwm1,{}\n", "p".repeat(MAX_INPUT_BYTES));
    assert!(field(&big).contains("8 MiB"));
}

#[test]
fn row_limit_counts_data_rows() {
    let mut csv = String::from("conversation_id\n");
    for i in 0..=MAX_ROWS {
        let _ = writeln!(csv, "wm{i}");
    }
    assert!(ImportReader::new(&csv).expect_err("too many").message.contains("100000"));
    // Exactly the limit (drop the last row) is accepted.
    let cut = csv.trim_end().rfind('\n').expect("rows");
    assert_eq!(ImportReader::new(&csv[..=cut]).expect("at limit").total_rows(), MAX_ROWS);
}

#[test]
fn hundred_thousand_rows_stream_in_chunks() {
    let mut csv = String::from("conversation_id,chat_type,name,first_name,amount\r\n");
    for i in 0..MAX_ROWS {
        let kind = if i % 10 == 0 { "group" } else { "private" };
        let _ = write!(csv, "wm{i:06},{kind},\"Name, {i}\",F{i},{}\r\n", i * 3);
    }
    let started = std::time::Instant::now();
    let mut reader = ImportReader::new(&csv).expect("reader");
    assert_eq!(reader.total_rows(), MAX_ROWS);
    let (mut ok, mut groups, mut chunks) = (0, 0, 0);
    loop {
        let chunk: Vec<_> = reader.by_ref().take(1_000).collect();
        if chunk.is_empty() {
            break;
        }
        chunks += 1;
        for r in chunk {
            let r = r.expect("valid row");
            assert_eq!(r.line as usize, ok + 2);
            groups += usize::from(r.chat_type == ChatType::Group);
            ok += 1;
        }
    }
    assert_eq!((ok, groups, chunks), (MAX_ROWS, MAX_ROWS / 10, 100));
    // Generous for a debug build on a busy 2-core machine; release is ~20x faster.
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
}

#[test]
fn duplicates_in_a_large_import_keep_the_first() {
    let mut csv = String::from("conversation_id\n");
    for i in 0..50_000 {
        let _ = writeln!(csv, "wm{}", i % 40_000);
    }
    let (ok, errors) = parse(&csv);
    assert_eq!((ok.len(), errors.len()), (40_000, 10_000));
    assert_eq!(errors[0].line, 40_002);
    assert_eq!(errors[0].message, "duplicate of line 2");
}
