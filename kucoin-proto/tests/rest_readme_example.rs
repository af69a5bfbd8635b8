//! The README's REST example is the `kucoin_proto::rest` doctest, character for character, so
//! the code the README shows is compiled and run by `cargo test`.

fn readme_example() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let start = readme
        .find("```rust,no_run\n")
        .expect("README has a rust example")
        + 15;
    let len = readme[start..].find("```").unwrap();
    readme[start..start + len].to_owned()
}

fn rest_doc_examples() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/rest/mod.rs");
    let src = std::fs::read_to_string(path).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in src.lines().filter_map(|l| l.strip_prefix("//!")) {
        let line = line.strip_prefix(' ').unwrap_or(line);
        match (&mut current, line.starts_with("```")) {
            (None, true) => current = Some(String::new()),
            (Some(_), true) => blocks.extend(current.take()),
            (Some(block), false) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, false) => {}
        }
    }
    blocks
}

#[test]
fn readme_rest_example_is_the_rest_module_doctest() {
    let example = readme_example();
    assert!(example.contains("client.request(&endpoint, now)"));
    assert!(
        rest_doc_examples().contains(&example),
        "README example and the kucoin_proto::rest doctest differ: keep them identical"
    );
}
