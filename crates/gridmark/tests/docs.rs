//! `docs/data-model.md` shows the catalog as it is.

#[test]
fn data_model_doc_matches_the_catalog() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/data-model.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let (begin, end) = ("<!-- catalog:begin -->\n", "<!-- catalog:end -->");
    let start = doc.find(begin).expect("begin marker") + begin.len();
    let stop = doc.find(end).expect("end marker");
    let generated = gridmark_core::catalog::markdown();
    if std::env::var("GRIDMARK_UPDATE_DOCS").is_ok() {
        let updated = format!("{}{}{}", &doc[..start], generated, &doc[stop..]);
        std::fs::write(path, updated).unwrap();
        return;
    }
    assert!(
        doc[start..stop] == generated,
        "docs/data-model.md is out of date: run GRIDMARK_UPDATE_DOCS=1 cargo test -p gridmark --test docs"
    );
}
