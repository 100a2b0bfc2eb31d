//! The connection under the HTTP/1 dispatcher. actix-http answers requests it cannot parse
//! itself, before any service sees them: a malformed request line or header (a bad
//! `Content-Length`, a NUL in a value) gets a bodiless 400, a head over its 128 KiB buffer a
//! bodiless 431, a head that does not arrive in time a bodiless 408, and the connection is
//! closed. [`ProblemIo`] passes every byte through unchanged but those answers, which it gives
//! an `application/problem+json` body like every other error.
//!
//! Such an answer is recognised as the last response head of a write that ends the stream's
//! output: status 400, 408 or 431 with `content-length: 0`. The service never sends one (every
//! error it sends has a problem body, and a response to HEAD keeps its real length).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use actix_web::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::{PROBLEM_JSON, ProblemDetails};

/// A connection whose dispatcher-made error answers are rewritten as problem+json.
pub struct ProblemIo<T> {
    inner: T,
    /// A rewritten answer not yet passed on.
    pending: Vec<u8>,
}

impl<T> ProblemIo<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            pending: Vec::new(),
        }
    }
}

impl<T: AsyncWrite + Unpin> ProblemIo<T> {
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let written = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..written);
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemIo<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        match rewrite(buf) {
            Some(rewritten) => {
                // Taken whole: the answer is kept and passed on by this and later polls.
                self.pending = rewritten;
                if let Poll::Ready(Err(e)) = self.poll_pending(cx) {
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(buf.len()))
            }
            None => Pin::new(&mut self.inner).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The longest head the dispatcher writes for its own errors, with room to spare.
const TAIL: usize = 512;

/// `output` with its closing dispatcher error answer given a problem body, or `None`.
fn rewrite(output: &[u8]) -> Option<Vec<u8>> {
    if !output.ends_with(b"\r\n\r\n") {
        return None;
    }
    let tail_start = output.len().saturating_sub(TAIL);
    let head_start = tail_start + rfind(&output[tail_start..], b"HTTP/1.")?;
    let head = std::str::from_utf8(&output[head_start..]).ok()?;
    let mut lines = head.strip_suffix("\r\n\r\n")?.split("\r\n");
    let status_line = lines.next()?;
    let (version, rest) = status_line.split_once(' ')?;
    let status = StatusCode::from_u16(rest.get(..3)?.parse().ok()?).ok()?;
    let (slug, detail) = match status {
        StatusCode::BAD_REQUEST => (
            "bad-request",
            "the request is not valid HTTP/1.1: a malformed request line, header or Content-Length",
        ),
        StatusCode::REQUEST_TIMEOUT => ("request-timeout", "the request head did not arrive in time"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (
            "request-header-fields-too-large",
            "the request line and headers exceed 128 KiB (or 96 headers)",
        ),
        _ => return None,
    };
    let headers: Vec<&str> = lines.collect();
    let bodiless = headers.iter().any(|h| {
        h.split_once(':')
            .is_some_and(|(name, value)| name.eq_ignore_ascii_case("content-length") && value.trim() == "0")
    });
    if !bodiless {
        return None;
    }
    let body = serde_json::to_vec(&ProblemDetails::new(status, slug, detail)).ok()?;
    let mut answer = output[..head_start].to_vec();
    answer.extend_from_slice(format!("{version} {status}\r\n").as_bytes());
    for header in headers {
        let name = header.split_once(':').map_or("", |(name, _)| name);
        if !name.eq_ignore_ascii_case("content-length") {
            answer.extend_from_slice(format!("{header}\r\n").as_bytes());
        }
    }
    answer.extend_from_slice(
        format!(
            "content-type: {PROBLEM_JSON}\r\nx-content-type-options: nosniff\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    answer.extend_from_slice(&body);
    Some(answer)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rewritten output as text; empty when nothing was rewritten.
    fn rewritten(output: &[u8]) -> String {
        String::from_utf8(rewrite(output).unwrap_or_default()).unwrap_or_default()
    }

    #[test]
    fn a_bodiless_431_after_a_pipelined_answer_gets_a_problem_body() {
        let answer = rewritten(
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}\
            HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\
            date: Thu, 03 Dec 2026 12:00:00 GMT\r\n\r\n",
        );
        let (kept, rewritten) = answer.split_at(answer.find("HTTP/1.1 431").unwrap_or_default());
        assert_eq!(kept, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}");
        let (head, body) = rewritten.split_once("\r\n\r\n").unwrap_or_default();
        assert!(
            head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
        assert!(
            head.contains("\r\ncontent-type: application/problem+json\r\n"),
            "{head}"
        );
        assert!(head.contains(&format!("\r\ncontent-length: {}", body.len())), "{head}");
        let problem: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(problem["status"], 431);
        assert_eq!(
            problem["type"],
            "urn:salesfunnel:problem:request-header-fields-too-large"
        );
    }

    #[test]
    fn answers_with_a_body_or_of_other_statuses_pass_unchanged() {
        for output in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n"[..],
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}",
        ] {
            assert!(rewrite(output).is_none(), "{}", String::from_utf8_lossy(output));
        }
    }

    #[test]
    fn a_bodiless_408_or_400_keeps_its_version_and_gets_its_detail() {
        let answer = rewritten(b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{answer}");
        assert!(
            answer.ends_with("\"detail\":\"the request head did not arrive in time\"}"),
            "{answer}"
        );
        let answer = rewritten(b"HTTP/1.0 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.0 400 Bad Request\r\n"), "{answer}");
        assert!(
            answer.contains("\"type\":\"urn:salesfunnel:problem:bad-request\""),
            "{answer}"
        );
    }
}
