#!/usr/bin/env bash
# test_sec_check.sh TEST_BINARY SOURCE_DIR: makes positive and negative
# certificates with certtool (security-profile.md 13.2/13.3) in a temporary
# directory, adds the SHA-256 of each DER leaf (*.sha256) and the project
# priority string, and runs the C test on that directory.
set -euo pipefail
bin=$(realpath "$1")
src=$(realpath "$2")
command -v certtool >/dev/null || {
	echo "certtool (gnutls-bin) missing" >&2
	exit 1
}
# shellcheck source-path=SCRIPTDIR source=../lib/pki.sh
. "$src/test/lib/pki.sh"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"

die() {
	echo "test_sec_check.sh: $*" >&2
	exit 1
}

# mk NAME KEYARGS HASH CA [TEMPLATE-LINES...]: like pki_leaf, but the whole
# template is given (no defaults), so that negative certificates can leave out
# or change any line. Extra certtool options in $MKOPTS (e.g. --v1).
mk() {
	local name=$1 keyargs=$2 hash=$3 ca=$4
	shift 4
	{
		echo 'organization = "MB2C Lab"'
		echo "serial = $((RANDOM * 32768 + RANDOM))"
		printf '%s\n' "$@"
	} >"$name.tmpl"
	# shellcheck disable=SC2086
	if ! certtool --generate-privkey $keyargs --no-text --outfile "$name.key" 2>/dev/null ||
		! certtool --generate-certificate --load-privkey "$name.key" \
			--load-ca-certificate "$ca.pem" --load-ca-privkey "$ca.key" \
			--template "$name.tmpl" --hash="$hash" --no-text ${MKOPTS:-} \
			--outfile "$name.pem" 2>/dev/null; then
		die "cannot make $name"
	fi
}

ID='gcsas.mb2.test'
EC256='--key-type=ecdsa --curve=secp256r1'
base=("cn = \"$ID\"" "dns_name = \"$ID\"" signing_key tls_www_server tls_www_client)
year='expiration_days = 365'

pki_ca ca || die "cannot make the CA"
# An RSA CA, so that a leaf carries an RSA-SHA256 signature (the C test
# patches its OID into md5WithRSAEncryption: certtool refuses to sign with MD5)
cat >rsaca.tmpl <<'T'
cn = "MB2C Lab RSA CA"
organization = "MB2C Lab"
serial = 7
expiration_days = 3650
ca
cert_signing_key
T
certtool --generate-privkey --key-type=rsa --bits=2048 --no-text --outfile rsaca.key 2>/dev/null ||
	die "cannot make rsaca.key"
certtool --generate-self-signed --load-privkey rsaca.key --template rsaca.tmpl \
	--hash=SHA256 --no-text --outfile rsaca.pem 2>/dev/null || die "cannot make rsaca"
# An intermediate CA signed with SHA-1 by the root, and a good leaf below it
mk inter "$EC256" SHA1 ca 'cn = "MB2C Lab SHA1 Intermediate"' ca cert_signing_key \
	'expiration_days = 1000'

# Positive leaves (project helper)
pki_leaf good "$ID" "$EC256" || die "cannot make good"
pki_leaf rsa2048 "$ID" "--key-type=rsa --bits=2048" || die "cannot make rsa2048"
pki_leaf p384 "$ID" "--key-type=ecdsa --curve=secp384r1" ca SHA384 || die "cannot make p384"
pki_leaf other other.mb2.test "$EC256" || die "cannot make other"

# Leaves for special cases
mk rsaleaf "--key-type=rsa --bits=2048" SHA256 rsaca "${base[@]}" "$year"
mk underinter "$EC256" SHA256 inter "${base[@]}" "$year"
mk multisan "$EC256" SHA256 ca "cn = \"$ID\"" 'ip_address = "192.0.2.7"' \
	'email = "ops@mb2.test"' 'dns_name = "other.mb2.test"' 'dns_name = "GCSAS.Mb2.TEST"' \
	signing_key tls_www_server tls_www_client "$year"
mk wildcard "$EC256" SHA256 ca "cn = \"$ID\"" 'dns_name = "*.mb2.test"' signing_key \
	tls_www_server tls_www_client "$year"
mk widewild "$EC256" SHA256 ca "cn = \"$ID\"" 'dns_name = "*.test"' signing_key \
	tls_www_server tls_www_client "$year"
mk longvalid "$EC256" SHA256 ca "${base[@]}" 'expiration_days = 3650'

# Negative leaves (security-profile.md 13.3)
mk expired "$EC256" SHA256 ca "${base[@]}" 'activation_date = "2020-01-01 00:00:00"' \
	'expiration_date = "2021-01-01 00:00:00"'
mk notyet "$EC256" SHA256 ca "${base[@]}" 'activation_date = "2090-01-01 00:00:00"' \
	'expiration_date = "2091-01-01 00:00:00"'
mk rsa1024 "--key-type=rsa --bits=1024" SHA256 ca "${base[@]}" encryption_key "$year"
mk sha1 "--key-type=rsa --bits=2048" SHA1 ca "${base[@]}" encryption_key "$year"
mk wrongsan "$EC256" SHA256 ca "cn = \"$ID\"" 'dns_name = "www.example.org"' signing_key \
	tls_www_server tls_www_client "$year"
mk cnonly "$EC256" SHA256 ca "cn = \"$ID\"" signing_key tls_www_server tls_www_client "$year"
mk servonly "$EC256" SHA256 ca "cn = \"$ID\"" "dns_name = \"$ID\"" signing_key tls_www_server \
	"$year"
mk clionly "$EC256" SHA256 ca "cn = \"$ID\"" "dns_name = \"$ID\"" signing_key tls_www_client \
	"$year"
mk noeku "$EC256" SHA256 ca "cn = \"$ID\"" "dns_name = \"$ID\"" signing_key "$year"
# certtool always adds digitalSignature to an ECDSA leaf (even with only
# encryption_key, or no usage line at all): RSA keys for the keyUsage cases
mk nokeyusage "--key-type=rsa --bits=2048" SHA256 ca "cn = \"$ID\"" "dns_name = \"$ID\"" \
	encryption_key tls_www_server tls_www_client "$year"
mk noku "--key-type=rsa --bits=2048" SHA256 ca "cn = \"$ID\"" "dns_name = \"$ID\"" \
	tls_www_server tls_www_client "$year"
mk p521 "--key-type=ecdsa --curve=secp521r1" SHA256 ca "${base[@]}" "$year"
mk ed25519 "--key-type=ed25519" SHA256 ca "${base[@]}" "$year"
MKOPTS=--v1 mk v1 "$EC256" SHA256 ca "${base[@]}" "$year"

# Whole-chain profile (TS 33.310): a three-level PKI, CA certificates that
# break one rule each, a leaf that is a CA, a path of three intermediates
cak='ca cert_signing_key crl_signing_key'
mk i1 "$EC256" SHA256 ca 'cn = "MB2C Lab Inter 1"' $cak 'expiration_days = 1000'
mk leaf3 "$EC256" SHA256 i1 "${base[@]}" "$year"
mk i2 "$EC256" SHA256 i1 'cn = "MB2C Lab Inter 2"' $cak 'expiration_days = 1000'
mk i3 "$EC256" SHA256 i2 'cn = "MB2C Lab Inter 3"' $cak 'expiration_days = 1000'
mk leaf5 "$EC256" SHA256 i3 "${base[@]}" "$year"
mk inoks "--key-type=rsa --bits=2048" SHA256 ca 'cn = "MB2C Lab Inter no keyCertSign"' ca \
	crl_signing_key 'expiration_days = 1000'
mk leafnoks "$EC256" SHA256 inoks "${base[@]}" "$year"
mk i1024 "--key-type=rsa --bits=1024" SHA256 ca 'cn = "MB2C Lab Inter RSA-1024"' $cak \
	'expiration_days = 1000'
mk leaf1024 "$EC256" SHA256 i1024 "${base[@]}" "$year"
mk leafca "$EC256" SHA256 ca "${base[@]}" ca "$year"
certtool --certificate-info --infile inoks.pem | grep -q 'Certificate signing' &&
	die "inoks.pem has keyCertSign"
certtool --certificate-info --infile leafca.pem | grep -q 'Certificate Authority (CA): TRUE' ||
	die "leafca.pem is not cA=TRUE"
certtool --certificate-info --infile i1024.pem | grep -q 'Modulus (bits 1024)' ||
	die "i1024.pem is not RSA-1024"

# TS 33.310 cross certification: operator A trusts its Interconnection CA
# icA; icA cross-certifies operator B's root (same name and key as B's
# self-signed root). B presents leafB, interB, crossB. A rogue IC's cross
# certificate of the same root (crossR) leads to no anchor of A.
pki_ca icA "Operator A Interconnection CA" || die "cannot make icA"
pki_ca rootB "Operator B Root CA" || die "cannot make rootB"
pki_ca icR "Rogue Interconnection CA" || die "cannot make icR"
mk interB "$EC256" SHA256 rootB 'cn = "Operator B Inter"' $cak 'expiration_days = 1000'
mk leafB "$EC256" SHA256 interB "${base[@]}" "$year"
for x in A R; do
	certtool --generate-certificate --load-privkey rootB.key --load-ca-certificate "ic$x.pem" \
		--load-ca-privkey "ic$x.key" --template rootB.tmpl --hash=SHA384 --no-text \
		--outfile "cross$x.pem" 2>/dev/null || die "cannot make cross$x"
done

# CRLs: by the root (revokes rsa2048), by intermediate i1 (revokes leaf3), one
# already stale, and one with the root's name but signed by another key
crl() { # NAME CA SIGNKEY [template lines...] < certificates to revoke
	local name=$1 ca=$2 key=$3
	shift 3
	cat >"$name.revoked.pem"
	printf '%s\n' "crl_number = $((RANDOM))" "$@" >"$name.crl.tmpl"
	certtool --generate-crl --load-ca-privkey "$key.key" --load-ca-certificate "$ca.pem" \
		--load-certificate "$name.revoked.pem" --template "$name.crl.tmpl" --no-text \
		--outfile "$name.crl" 2>/dev/null || die "cannot make CRL $name"
}
pki_ca rogue "Rogue CA" || die "cannot make rogue"
crl crlroot ca ca 'crl_next_update = 30' <rsa2048.pem
crl crli1 i1 i1 'crl_next_update = 30' <leaf3.pem
crl crlstale ca ca 'crl_this_update_date = "2020-01-01 00:00:00"' \
	'crl_next_update_date = "2020-02-01 00:00:00"' <rsa2048.pem
crl crlbadsig ca rogue 'crl_next_update = 30' <rsa2048.pem
certtool --crl-info --infile crlstale.crl | grep -q 'Next at: .*2020' || die "crlstale is not stale"

# OCSP responses made by openssl's responder (offline mode: -reqin/-respout)
# from index files: good, revoked, unknown (not in the index), one signed by
# a CA that is not the issuer
command -v openssl >/dev/null || die "openssl missing"
idx() { # CERT STATUS(V|R) -> one index line
	local serial
	serial=$(openssl x509 -in "$1.pem" -noout -serial | cut -d= -f2)
	if [ "$2" = R ]; then
		printf 'R\t301231235959Z\t240101000000Z\t%s\tunknown\t/CN=%s\n' "$serial" "$1"
	else
		printf 'V\t301231235959Z\t\t%s\tunknown\t/CN=%s\n' "$serial" "$1"
	fi
}
ocsp() { # NAME INDEX-FILE CERT SIGNER
	openssl ocsp -issuer ca.pem -cert "$3.pem" -no_nonce -reqout "$1.req" >/dev/null 2>&1 &&
		openssl ocsp -index "$2" -rsigner "$4.pem" -rkey "$4.key" -CA ca.pem -reqin "$1.req" \
			-respout "$1.ocsp" -ndays 1 >/dev/null 2>&1 || die "cannot make OCSP response $1"
}
idx good V >good.idx
idx good R >revoked.idx
: >empty.idx
ocsp ocspgood good.idx good ca
ocsp ocsprevoked revoked.idx good ca
ocsp ocspunknown empty.idx good ca
ocsp ocspbadsig good.idx good rogue
openssl ocsp -respin ocsprevoked.ocsp -resp_text -noverify 2>/dev/null | grep -q "Cert Status: revoked" ||
	die "ocsprevoked is not a revoked response"

# The material really is what the C test assumes (else its tests are moot)
certtool --certificate-info --infile v1.pem | grep -q 'Version: 1$' || die "v1.pem is not v1"
certtool --certificate-info --infile nokeyusage.pem | grep -q 'Digital signature' &&
	die "nokeyusage.pem has digitalSignature"
certtool --certificate-info --infile noku.pem | grep -q 'Key Usage' && die "noku.pem has keyUsage"
certtool --certificate-info --infile sha1.pem | grep -q 'Signature Algorithm: ECDSA-SHA1' ||
	die "sha1.pem is not signed with SHA-1"

# Expected pins, computed outside the code under test
for f in good rsa1024 multisan; do
	certtool --certificate-info --infile "$f.pem" --outder | sha256sum | cut -d' ' -f1 >"$f.sha256"
	fp=$(certtool --fingerprint --hash=sha256 --infile "$f.pem")
	[ "$fp" = "$(cat "$f.sha256")" ] || die "sha256sum and certtool --fingerprint differ for $f"
done

cp "$src/profiles/tls/3gpp-tls-profile.prio" .
"$bin" "$dir"
