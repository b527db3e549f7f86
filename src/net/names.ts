/** Protocol and port names JUNOS accepts in firewall filters. */
export const PROTOCOLS: Record<string, number> = {
  icmp: 1, igmp: 2, ipip: 4, tcp: 6, egp: 8, udp: 17, rsvp: 46, gre: 47, esp: 50, ah: 51,
  icmp6: 58, ospf: 89, pim: 103, vrrp: 112, sctp: 132,
};
export const PORTS: Record<string, number> = {
  'ftp-data': 20, ftp: 21, ssh: 22, telnet: 23, smtp: 25, domain: 53, bootps: 67, bootpc: 68, tftp: 69,
  http: 80, kerberos: 88, pop3: 110, sunrpc: 111, nntp: 119, ntp: 123, 'netbios-ns': 137, 'netbios-dgm': 138,
  'netbios-ssn': 139, imap: 143, snmp: 161, snmptrap: 162, bgp: 179, ldap: 389, https: 443, ike: 500,
  biff: 512, exec: 512, login: 513, syslog: 514, printer: 515, talk: 517, ntalk: 518, rip: 520, timed: 525,
  klogin: 543, kshell: 544, ldp: 646, 'xnm-ssl': 3220, 'xnm-clear-text': 3221,
};

/** Protocol number -> name, for traces and decodes. */
export const PROTOCOL_NAMES: Record<number, string> = Object.fromEntries(Object.entries(PROTOCOLS).map(([k, v]) => [v, k.toUpperCase()]));
