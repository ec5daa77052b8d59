// Package firewall owns the box's packet filter: one nftables table,
// `inet facteur`, built from a Policy and replaced in a single nftables
// transaction, plus the ban sets inside it and the fail2ban-like Banner
// that fills them. It never touches another table, so rules that belong to
// anyone else stay as they are. It imports nothing else from this
// repository.
//
// # Table layout
//
// Render prints the table exactly as `nft list table inet facteur` lists it
// (see testdata/*.nft); Build sends the same table over netlink, compiled
// the way nft compiles that text.
//
//	counter banned, invalid, icmp_in, ratelimited, smtp, submission,
//	        imap, pop3, dns, web, sieve, dropped
//	                    one per rule class, for the UI and metrics (ReadCounters)
//	set banned4/6       flags timeout; each element expires in the kernel
//	set lan4/6          flags interval; Policy.LAN
//	set allow4/6        flags interval; Policy.AllowList
//	set smtp_rate4/6,   flags dynamic,timeout; one token bucket per source,
//	    login_rate4/6   for the new-connection rate limits
//	chain input         hook input, policy drop:
//	                      loopback; IPv6 neighbour discovery; banned
//	                      sources dropped (even mid-connection);
//	                      established/related accepted; invalid dropped;
//	                      the other ICMP/ICMPv6 IP needs (errors, PMTU,
//	                      MLD queries, echo rate-limited); then by
//	                      source: LAN → chain lan,
//	                      allow-list → chain allowlist, else → chain public;
//	                      what is left is logged (rate-limited) and dropped
//	chain lan           every enabled service, recursive DNS included
//	chain allowlist     every enabled service but recursive-only DNS
//	chain public        per-source rate limits on port 25 and the login
//	                    ports, then mail ports and authoritative DNS
//
// The web UI (80, 443) and ManageSieve (4190) are reachable from the LAN
// and the allow-list only. IPv4 and IPv6 are treated alike. There is no
// forward or output chain: the box routes nothing and may send anything.
//
// A new policy keeps the ban sets (with their elements) and the counters
// (with their values); everything else in the table is replaced. If the
// kernel refuses any part of the transaction, the previous table stays
// whole.
//
// # Bans
//
// The Banner counts failures per source (auth failures, protocol abuse,
// scans, as the core reports them): Policy.Bans.MaxFailures within Window
// ban the source for BanTime, doubled for each further ban up to
// MaxBanTime. The LAN, the allow-list, loopback and link-local addresses
// are never banned. Its records are kept in the role's state file, so bans
// survive a restart of the role.
//
// # The role
//
// Run is the `facteur firewall` role (root, CAP_NET_ADMIN). It reads no
// network input: the core writes the policy file and reports events over
// a unix socket (JSON lines, see Request), which the admin CLI also uses
// (Call). Report is the core's side: quick, and harmless when the role is
// down.
package firewall
