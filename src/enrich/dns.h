/* SPDX-License-Identifier: MIT */
/*
 * DNS message parser (RFC 1035, AAAA from RFC 3596) for packets the kernel
 * copied off UDP and TCP port 53. Every byte is hostile: the parser never
 * reads past the length it is given, follows only backward compression
 * pointers (each jump strictly below the previous one, so no loop), bounds
 * names to 255 wire bytes and labels to 63, and prints names lowercased with
 * odd bytes escaped (\DDD), so they are safe as label values and in logs.
 * It needs no allocation and keeps no state: the tracker (dnstrack.c)
 * correlates what it parses.
 */
#ifndef GESPANN_DNS_H
#define GESPANN_DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX	256 /* text form incl. NUL (max 253 chars unescaped) */
#define DNS_MAX_ANSWERS 16
#define DNS_HEADER_LEN	12

/* Resource record types and classes the parser gives meaning to. */
#define DNS_T_A	    1
#define DNS_T_NS    2
#define DNS_T_CNAME 5
#define DNS_T_SOA   6
#define DNS_T_PTR   12
#define DNS_T_MX    15
#define DNS_T_TXT   16
#define DNS_T_AAAA  28
#define DNS_T_SRV   33
#define DNS_T_DNAME 39
#define DNS_T_OPT   41
#define DNS_T_SVCB  64
#define DNS_T_HTTPS 65
#define DNS_C_IN    1

/* One answer record. family/addr are set for A (AF_INET, first 4 bytes) and
 * AAAA (AF_INET6) records, target for CNAME, NS, PTR, DNAME, MX (exchange)
 * and SRV (target); other types keep only name/type/class/ttl. */
struct dns_answer {
	char name[DNS_NAME_MAX];
	uint16_t type, rclass;
	uint32_t ttl;
	uint16_t family;
	uint8_t addr[16];
	char target[DNS_NAME_MAX];
};

struct dns_msg {
	uint16_t id;
	uint8_t qr, opcode, rcode, tc, rd, ra;
	uint16_t qdcount, ancount, nscount, arcount;
	char qname[DNS_NAME_MAX];
	uint16_t qtype, qclass;
	size_t n_answers;
	struct dns_answer answers[DNS_MAX_ANSWERS];
	int partial; /* answers cut short: capture truncated or > DNS_MAX_ANSWERS */
};

/* Parse one DNS message of len bytes (a UDP payload). Requires the header
 * and exactly one question; answer records are parsed up to
 * DNS_MAX_ANSWERS (more set partial). The authority and additional sections
 * are not parsed. Returns 0, or -EINVAL with one line naming the problem and
 * its offset in err (err may be NULL). A message that ends inside an answer
 * is an error here; use dns_parse_capture when the buffer may be a cut
 * capture. m is zeroed first; on error it holds what was parsed before the
 * failure. */
int dns_parse(const uint8_t *buf, size_t len, struct dns_msg *m, char *err, size_t errlen);

/* Like dns_parse, for a capture of the first len bytes of a message of
 * wire_len bytes. When len < wire_len and the cut falls inside the answer
 * section, the answers before it are kept, partial is set and 0 returned. */
int dns_parse_capture(const uint8_t *buf, size_t len, size_t wire_len, struct dns_msg *m, char *err,
		      size_t errlen);

/* Parse a DNS-over-TCP message: a 2-byte big-endian length, then the
 * message (RFC 1035 4.2.2). Bytes after the first message are ignored; a
 * capture shorter than the announced length is treated as cut (partial
 * answers, as dns_parse_capture). Offsets in err count from the message
 * start, after the prefix. */
int dns_parse_tcp(const uint8_t *buf, size_t len, struct dns_msg *m, char *err, size_t errlen);

/* Type mnemonic ("A", "AAAA", "CNAME", "HTTPS", ...) or "TYPE<n>" for
 * types without one (RFC 3597 style). Returns a static string or buf. */
const char *dns_type_name(uint16_t type, char *buf, size_t len);

/* Response code name ("NOERROR", "NXDOMAIN", "SERVFAIL", ...) or
 * "RCODE<n>". Returns a static string or buf. */
const char *dns_rcode_name(unsigned rcode, char *buf, size_t len);

#endif
