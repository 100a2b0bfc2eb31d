//! Where a webhook may point: never at this machine, the private network, link-local (cloud
//! metadata) or other special addresses, unless `WEBHOOK_ALLOW_PRIVATE_TARGETS` says so. Checked
//! when a URL is saved and again at every delivery, on the addresses the name resolves to then
//! (a name that later points inside, DNS rebinding, is refused without connecting).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// How long a name may take to resolve before it counts as unresolvable.
const DNS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Why a target is refused; the text is the 422 message and the delivery log's error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("must not contain a user name or password; put credentials into the receiver's own check")]
    Userinfo,
    #[error("must name its host in full: numeric shorthand such as 127.1 or 0x7f000001 is refused")]
    NumericShorthand,
    #[error("must not point at {0}: loopback, private, link-local, multicast and unspecified addresses are refused")]
    Forbidden(String),
    #[error("its host name does not resolve")]
    Unresolvable,
}

/// Whether `ip` is special: loopback, private (RFC 1918, CGNAT, fc00::/7), link-local
/// (169.254/16 with the cloud metadata address, fe80::/10), unspecified, multicast, broadcast,
/// documentation or reserved; IPv4-mapped IPv6 addresses count as their IPv4 address.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => forbidden_v4(v4),
            None => forbidden_v6(v6),
        },
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (b == 18 || b == 19))
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        || first == 0x2001 && ip.segments()[1] == 0x0db8
        || ip
            .to_ipv4()
            .is_some_and(|v4| ip.segments()[..6] == [0; 6] && forbidden_v4(v4))
}

/// The checks that need no DNS: userinfo, numeric shorthand, names of this machine and
/// literal addresses. `raw` is the URL as sent, `url` its parsed form.
pub fn check_syntax(raw: &str, url: &Url, allow_private: bool) -> Result<(), Refusal> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::Userinfo);
    }
    match url.host() {
        // The URL parser turns 127.1, 0x7f000001, 2130706433 and 0177.0.0.1 into 127.0.0.1:
        // only the dotted quad as written is taken literally.
        Some(url::Host::Ipv4(ip)) => {
            if !raw.contains(&ip.to_string()) {
                return Err(Refusal::NumericShorthand);
            }
            refuse_address(IpAddr::V4(ip), allow_private)
        }
        Some(url::Host::Ipv6(ip)) => refuse_address(IpAddr::V6(ip), allow_private),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if !allow_private && (name == "localhost" || name.ends_with(".localhost")) {
                return Err(Refusal::Forbidden(name));
            }
            Ok(())
        }
        None => Err(Refusal::Unresolvable),
    }
}

fn refuse_address(ip: IpAddr, allow_private: bool) -> Result<(), Refusal> {
    if !allow_private && is_forbidden(ip) {
        Err(Refusal::Forbidden(ip.to_string()))
    } else {
        Ok(())
    }
}

/// The full check of a URL being saved: syntax, then every address its host resolves to now.
pub async fn check(raw: &str, allow_private: bool) -> Result<(), Refusal> {
    let url = Url::parse(raw).map_err(|_| Refusal::Unresolvable)?;
    check_syntax(raw, &url, allow_private)?;
    if allow_private {
        return Ok(());
    }
    if let Some(url::Host::Domain(name)) = url.host() {
        resolve(name, allow_private).await?;
    }
    Ok(())
}

/// The addresses of `name`, all of them allowed, or why not.
async fn resolve(name: &str, allow_private: bool) -> Result<Vec<SocketAddr>, Refusal> {
    let lookup = tokio::time::timeout(DNS_TIMEOUT, tokio::net::lookup_host((name, 0)));
    let addresses: Vec<SocketAddr> = lookup
        .await
        .map_err(|_| Refusal::Unresolvable)?
        .map_err(|_| Refusal::Unresolvable)?
        .collect();
    if addresses.is_empty() {
        return Err(Refusal::Unresolvable);
    }
    for address in &addresses {
        refuse_address(address.ip(), allow_private)?;
    }
    Ok(addresses)
}

/// The delivery client's resolver: connects only to addresses that pass [`is_forbidden`].
#[derive(Debug, Clone, Copy)]
pub struct CheckedResolver {
    pub allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addresses = resolve(name.as_str(), allow_private).await?;
            let addrs: Addrs = Box::new(addresses.into_iter());
            Ok(addrs)
        })
    }
}

impl CheckedResolver {
    pub fn shared(self) -> Arc<Self> {
        Arc::new(self)
    }
}

/// A URL as shown: without user name or password (stored before they were refused).
pub fn shown(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syntax(raw: &str) -> Result<(), Refusal> {
        check_syntax(raw, &Url::parse(raw).map_err(|_| Refusal::Unresolvable)?, false)
    }

    #[test]
    fn special_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(
                is_forbidden(ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))),
                "{ip}"
            );
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(
                !is_forbidden(ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))),
                "{ip}"
            );
        }
    }

    #[test]
    fn loopback_in_any_spelling_is_refused() {
        for url in [
            "http://127.0.0.1/hook",
            "http://localhost/hook",
            "http://LocalHost./hook",
            "http://api.localhost/hook",
            "http://[::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://169.254.169.254/latest/meta-data",
        ] {
            assert!(matches!(syntax(url), Err(Refusal::Forbidden(_))), "{url}");
        }
        for url in [
            "http://127.1/hook",
            "http://0x7f000001/hook",
            "http://2130706433/hook",
            "http://0177.0.0.1/hook",
            "http://8.8/hook",
        ] {
            assert_eq!(syntax(url), Err(Refusal::NumericShorthand), "{url}");
        }
        assert_eq!(syntax("https://user:pass@erp.example.com/"), Err(Refusal::Userinfo));
        assert_eq!(syntax("https://token@erp.example.com/"), Err(Refusal::Userinfo));
        assert_eq!(syntax("https://erp.example.com/hooks"), Ok(()));
        assert_eq!(syntax("https://93.184.216.34/hooks"), Ok(()));
    }

    #[test]
    fn allowing_private_targets_allows_loopback_but_not_userinfo_or_shorthand() {
        let allowed = |raw: &str| check_syntax(raw, &Url::parse(raw).unwrap_or_else(|_| unreachable!()), true);
        assert_eq!(allowed("http://127.0.0.1:8080/hook"), Ok(()));
        assert_eq!(allowed("http://localhost/hook"), Ok(()));
        assert_eq!(allowed("http://127.1/hook"), Err(Refusal::NumericShorthand));
        assert_eq!(allowed("http://a:b@127.0.0.1/"), Err(Refusal::Userinfo));
    }

    #[tokio::test]
    async fn the_delivery_resolver_refuses_names_that_resolve_inside() {
        // `localhost` resolves through /etc/hosts, without DNS.
        let strict = CheckedResolver { allow_private: false };
        let name: Name = "localhost".parse().unwrap_or_else(|_| unreachable!());
        let refused = strict.resolve(name).await.err().map(|e| e.to_string());
        assert!(refused.is_some_and(|e| e.contains("must not point at")));
        let relaxed = CheckedResolver { allow_private: true };
        let name: Name = "localhost".parse().unwrap_or_else(|_| unreachable!());
        assert!(relaxed.resolve(name).await.is_ok());
    }

    #[test]
    fn userinfo_is_never_shown() {
        assert_eq!(shown("https://a:b@erp.example.com/x"), "https://erp.example.com/x");
        assert_eq!(shown("https://erp.example.com/x"), "https://erp.example.com/x");
    }
}
