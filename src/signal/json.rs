//! The browser form: `{"type":"offer","sdp":"v=0\r\n..."}`, as copy-paste WebRTC pages
//! print it, bare or wrapped in a call such as `join(...)` or `gotAnswer(...)`.

use super::error::DecodeError;
use super::SdpKind;

#[derive(serde::Serialize, serde::Deserialize)]
struct Json<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    sdp: std::borrow::Cow<'a, str>,
}

/// One line of JSON.
pub(crate) fn encode(kind: SdpKind, sdp: &str) -> String {
    let j = Json {
        kind: match kind {
            SdpKind::Offer => "offer".into(),
            SdpKind::Answer => "answer".into(),
        },
        sdp: sdp.into(),
    };
    // Serialising two strings cannot fail.
    serde_json::to_string(&j).unwrap_or_default()
}

/// Whether trimmed text looks like the JSON form: `{...}` or `name(...)`.
pub(crate) fn looks_like(text: &str) -> bool {
    text.starts_with('{') || call_name(text).is_some()
}

/// `name` of `name(...`, where name is a JavaScript-like identifier (dots allowed:
/// `window.join(...)`).
fn call_name(text: &str) -> Option<&str> {
    let name = &text[..text.find('(')?];
    let ident = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.');
    let ok = !name.is_empty()
        && name.chars().all(ident)
        && !name.starts_with(|c: char| c.is_ascii_digit());
    ok.then_some(name)
}

/// The argument of `name(...)` / `name(...);`.
fn unwrap_call(text: &str) -> Option<&str> {
    let name = call_name(text)?;
    let rest = text[name.len() + 1..].trim_end();
    let rest = rest.strip_suffix(';').unwrap_or(rest).trim_end();
    Some(rest.strip_suffix(')')?.trim())
}

/// Decodes trimmed JSON text into kind and SDP; the caller checks the SDP.
pub(crate) fn decode(text: &str) -> Result<(SdpKind, String), DecodeError> {
    let inner = if text.starts_with('{') {
        text
    } else {
        unwrap_call(text).ok_or_else(|| {
            DecodeError::BadJson("a call like join(...) must end with its closing bracket".into())
        })?
    };
    // A paste may break lines anywhere; JSON strings cannot hold raw line breaks (the SDP's
    // own are written \r\n), so raw ones are only ever paste damage or layout.
    let joined: String;
    let inner = if inner.contains(['\r', '\n']) {
        joined = inner
            .chars()
            .filter(|c| !matches!(c, '\r' | '\n'))
            .collect();
        joined.as_str()
    } else {
        inner
    };
    let j: Json = serde_json::from_str(inner).map_err(|e| DecodeError::BadJson(e.to_string()))?;
    let kind = match j.kind.as_ref() {
        "offer" => SdpKind::Offer,
        "answer" => SdpKind::Answer,
        other => {
            return Err(DecodeError::BadJson(format!(
                "type {:?}, not offer or answer",
                other.chars().take(20).collect::<String>()
            )))
        }
    };
    Ok((kind, j.sdp.into_owned()))
}
