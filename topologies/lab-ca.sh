#!/bin/sh
# The certificate lab's CA node: a SCEP server (Debian's scepserver) on http://ADDR/scep and an LDAP
# server (Debian's slapd) on ldap://ADDR that publishes the CA's CRL at the CA's DN
# (ou=SCEP CA,o=vrouter-lab,c=US, attribute certificateRevocationList;binary). Everything lives in
# $VROUTER_STATE (the node's state directory, in the lab directory: a lab brought up again keeps its
# CA, its key and what it issued and revoked, so certificates enrolled before stay valid).
#   lab-ca.sh start ADDR        the CA (a new key), both servers, and an empty CRL
#   lab-ca.sh revoke CERT.der   revoke a certificate the CA issued, and publish the new CRL
set -eu
S=${VROUTER_STATE:?}
D=$S/depot
crl() {
  openssl ca -config "$S/ca.cnf" -gencrl -keyfile "$D/ca.key" -passin pass: -cert "$D/ca.pem" -out "$S/crl.pem" 2>>"$S/openssl.log"
  openssl crl -in "$S/crl.pem" -outform der -out "$S/crl.der"
  printf 'dn: ou=SCEP CA,o=vrouter-lab,c=US\nchangetype: modify\nreplace: certificateRevocationList;binary\ncertificateRevocationList;binary:< file://%s\n' "$S/crl.der" \
    | ldapmodify -x -H "ldapi://$(printf %s "$S/ldapi" | sed 's|/|%2F|g')" -D cn=admin,c=US -w lab-secret >/dev/null
}
case "$1" in
start)
  A=$2
  [ -f "$D/ca.pem" ] || scepserver ca -init -depot "$D" -keySize 2048 -organization vrouter-lab >/dev/null
  nohup scepserver -depot "$D" -port 80 >"$S/scep.log" 2>&1 &
  # openssl ca keeps the revocations
  [ -f "$S/index.txt" ] || { : >"$S/index.txt"; echo 1000 >"$S/crlnumber"; }
  printf '[ca]\ndefault_ca = lab\n[lab]\ndatabase = %s/index.txt\ncrlnumber = %s/crlnumber\ndefault_md = sha256\ndefault_crl_days = 30\n' "$S" "$S" >"$S/ca.cnf"
  # slapd: one mdb database under c=US, readable by anyone, written by cn=admin,c=US
  mkdir -p "$S/ldap"
  cat >"$S/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $S/slapd.pid
database mdb
suffix "c=US"
rootdn "cn=admin,c=US"
rootpw lab-secret
directory $S/ldap
access to * by * read
CONF
  printf 'dn: c=US\nobjectClass: country\nc: US\n\ndn: o=vrouter-lab,c=US\nobjectClass: organization\no: vrouter-lab\n\ndn: ou=SCEP CA,o=vrouter-lab,c=US\nobjectClass: organizationalUnit\nobjectClass: pkiCA\nou: SCEP CA\n' >"$S/base.ldif"
  [ -f "$S/ldap/data.mdb" ] || slapadd -f "$S/slapd.conf" -l "$S/base.ldif" 2>>"$S/slapd.log"
  slapd -f "$S/slapd.conf" -h "ldap://$A/ ldapi://$(printf %s "$S/ldapi" | sed 's|/|%2F|g')" 2>>"$S/slapd.log"
  for i in $(seq 100); do [ -S "$S/ldapi" ] && break; sleep 0.05; done
  crl
  ;;
revoke)
  openssl x509 -inform der -in "$2" -out "$S/revoke.pem"
  openssl ca -config "$S/ca.cnf" -revoke "$S/revoke.pem" -keyfile "$D/ca.key" -passin pass: -cert "$D/ca.pem" 2>>"$S/openssl.log"
  crl
  ;;
*) echo "usage: lab-ca.sh start ADDR | revoke CERT.der" >&2; exit 2 ;;
esac
