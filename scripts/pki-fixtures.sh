#!/bin/sh
# Fixed certificates for the `show ipsec certificates` golden (test/cli/fixtures/pki), made with
# OpenSSL, not with vrouter's code: a CA, gw-a's certificate (with an IP subjectAltName) and a CRL
# revoking serial 4097 (0x1001). Dates are fixed (2026-01-01 to 2036-01-01) so the output is stable.
set -eu
out=$(cd "$(dirname "$0")/../test/cli/fixtures/pki" && pwd)
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
cd "$t"
: > index.txt; echo 1000 > serial; echo 01 > crlnumber
cat > ca.cnf <<CNF
[ca]
default_ca = lab
[lab]
dir = $t
database = $t/index.txt
serial = $t/serial
crlnumber = $t/crlnumber
new_certs_dir = $t
default_md = sha256
policy = any
copy_extensions = copy
default_crl_days = 3650
[any]
countryName = optional
organizationName = optional
organizationalUnitName = optional
commonName = optional
[ee]
subjectAltName = IP:10.5.5.5
CNF
openssl req -x509 -newkey rsa:1024 -nodes -keyout ca.key -subj "/C=US/O=vrouter-lab/OU=Lab CA" -days 3650 -out ca.pem -set_serial 1 2>/dev/null
openssl req -newkey rsa:1024 -nodes -keyout ee.key -subj "/C=US/O=vrouter-lab/CN=gw-a" -out ee.csr 2>/dev/null
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in ee.csr -out ee.pem -startdate 260101000000Z -enddate 360101000000Z -extensions ee -notext 2>/dev/null
openssl req -newkey rsa:1024 -nodes -keyout x.key -subj "/C=US/O=vrouter-lab/CN=gone" -out x.csr 2>/dev/null
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in x.csr -out x.pem -startdate 260101000000Z -enddate 360101000000Z -notext 2>/dev/null
openssl ca -config ca.cnf -cert ca.pem -keyfile ca.key -revoke x.pem 2>/dev/null
openssl ca -config ca.cnf -cert ca.pem -keyfile ca.key -gencrl -out crl.pem 2>/dev/null
cp ca.pem "$out/lab-ca.crt"; openssl x509 -in ee.pem -outform der -out "$out/gw-a.crt"; cp crl.pem "$out/lab-ca.crl"
