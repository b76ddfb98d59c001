//! Keyset page tokens: opaque to clients, the last row's sort key to us.

use crate::error::{Error, Result};

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 500;

/// The page size to use: the default for 0, capped at the maximum; negative
/// is an error.
pub fn page_size(requested: i32) -> Result<i64> {
    match requested {
        n if n < 0 => Err(Error::invalid(
            "page_size",
            "must not be negative",
            "每页条数不能为负数",
        )),
        0 => Ok(DEFAULT_PAGE_SIZE),
        n => Ok(i64::from(n).min(MAX_PAGE_SIZE)),
    }
}

/// Encodes a sort key (a few strings) as an opaque token.
pub fn encode(key: &[&str]) -> String {
    hex::encode(serde_json::to_vec(key).unwrap_or_default())
}

/// Decodes a token made by [`encode`] with `parts` parts; empty means the
/// first page.
pub fn decode(token: &str, parts: usize) -> Result<Option<Vec<String>>> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || Error::invalid("page_token", "is not a token returned by this list", "分页标记无效");
    let bytes = hex::decode(token).map_err(|_| bad())?;
    let key: Vec<String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if key.len() != parts {
        return Err(bad());
    }
    Ok(Some(key))
}

/// Cuts `limit + 1` fetched rows to a page; returns the next page's token
/// (empty on the last page), made from the last row kept.
pub fn cut<T>(rows: &mut Vec<T>, limit: i64, token: impl Fn(&T) -> String) -> String {
    if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(token).unwrap_or_default()
    } else {
        String::new()
    }
}

/// Bytes of one page at most: clients' default receive limit is 4 MB, and
/// a page of long rows must still reach them.
pub const PAGE_BYTES: usize = 3 << 20;

/// Cuts a page of built messages to [`PAGE_BYTES`] (keeping at least one);
/// returns the next page's token: made from the row of the last message
/// kept (by its index) when the page was cut, else `next` as [`cut`] gave
/// it.
pub fn fit<M: prost::Message>(messages: &mut Vec<M>, next: String, token: impl Fn(usize) -> String) -> String {
    let mut bytes = 0;
    let keep = messages
        .iter()
        .take_while(|m| {
            bytes += m.encoded_len() + 4;
            bytes <= PAGE_BYTES
        })
        .count()
        .max(1);
    if keep < messages.len() {
        messages.truncate(keep);
        token(keep - 1)
    } else {
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_of_long_rows_is_cut_under_its_byte_budget() {
        // Ten messages of a little over 1 MiB: two fit in 3 MiB, and the
        // token names the second.
        let mut page: Vec<String> = (0..10).map(|i| format!("{i}{}", "x".repeat(1 << 20))).collect();
        let next = fit(&mut page, String::new(), |i| format!("after {i}"));
        assert_eq!((page.len(), next.as_str()), (2, "after 1"));
        // A page within the budget keeps the token it had.
        let mut small = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(fit(&mut small, "t".into(), |_| unreachable!()), "t");
        assert_eq!(small.len(), 2);
        // One message over the budget alone is still sent.
        let mut one = vec!["x".repeat(4 << 20), "y".into()];
        assert_eq!(fit(&mut one, String::new(), |i| i.to_string()), "0");
    }
}
