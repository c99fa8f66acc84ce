//! Container id validation, shared by every backend so that all refuse the same ids.

use crate::{Error, ErrorKind, Result};

/// The longest id accepted, in bytes. runc itself accepts longer ids, but ids become path
/// components (state directories, socket paths under the 108-byte `sun_path` limit), so we
/// bound them.
pub const MAX_ID_LEN: usize = 64;

/// Accepts ids that are non-empty, at most [`MAX_ID_LEN`] bytes, made of `[A-Za-z0-9_+.-]`,
/// and not `.` or `..`. Anything else is [`ErrorKind::InvalidId`] with the reason.
///
/// Pure: touches nothing, so backends call it before creating any directory.
pub fn validate_container_id(id: &str) -> Result<()> {
    let refuse = |why: &str| {
        Err(Error::new(
            ErrorKind::InvalidId,
            format!("{:?}: {why}", shorten(id)),
        ))
    };
    if id.is_empty() {
        return refuse("empty");
    }
    if id.len() > MAX_ID_LEN {
        return refuse(&format!("{} bytes, at most {MAX_ID_LEN} allowed", id.len()));
    }
    if id == "." || id == ".." {
        return refuse("not a usable name");
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '.' | '-')))
    {
        return refuse(&format!(
            "character {c:?} not allowed (only [A-Za-z0-9_+.-])"
        ));
    }
    Ok(())
}

fn shorten(id: &str) -> String {
    if id.chars().count() <= 40 {
        id.to_string()
    } else {
        let head: String = id.chars().take(40).collect();
        format!("{head}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_ids() {
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "a b",
            "x\0",
            "é",
            &"a".repeat(1000),
        ] {
            let e = validate_container_id(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidId, "{bad:?}");
        }
    }

    #[test]
    fn accepts_good_ids() {
        for good in ["a", "A-b_c+d.e", "...", "0", &"z".repeat(MAX_ID_LEN)] {
            validate_container_id(good).unwrap();
        }
    }

    #[test]
    fn long_id_message_is_bounded() {
        let e = validate_container_id(&"a".repeat(1000)).unwrap_err();
        assert!(e.to_string().len() < 200, "{e}");
    }
}
