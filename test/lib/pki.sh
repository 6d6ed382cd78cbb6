# Throwaway test PKI made with certtool (GnuTLS), following the TS 33.310
# profile: X.509v3, ECDSA P-256/P-384 or RSA >= 2048, SHA-256/384, SAN
# dNSName = Diameter identity, KU digitalSignature, EKU serverAuth +
# clientAuth. Source it; functions write into the current directory.

# pki_ca NAME [CN]: self-signed ECDSA P-384 CA -> NAME.pem, NAME.key
pki_ca() {
	local name=$1 cn=${2:-MB2C Lab Root CA}
	cat >"$name.tmpl" <<T
cn = "$cn"
organization = "MB2C Lab"
serial = $((RANDOM * 32768 + RANDOM))
expiration_days = 3650
ca
cert_signing_key
crl_signing_key
T
	certtool --generate-privkey --key-type=ecdsa --curve=secp384r1 --no-text \
		--outfile "$name.key" 2>/dev/null &&
		certtool --generate-self-signed --load-privkey "$name.key" --template "$name.tmpl" \
			--hash=SHA384 --no-text --outfile "$name.pem" 2>/dev/null
}

# pki_leaf NAME IDENTITY KEYARGS [CA] [HASH] [extra template lines...]
#   KEYARGS e.g. "--key-type=ecdsa --curve=secp256r1" or "--key-type=rsa --bits=2048"
pki_leaf() {
	local name=$1 id=$2 keyargs=$3 ca=${4:-ca} hash=${5:-SHA256}
	shift 5 2>/dev/null || shift $#
	{
		echo "organization = \"MB2C Lab\""
		echo "cn = \"$id\""
		echo "dns_name = \"$id\""
		echo "serial = $((RANDOM * 32768 + RANDOM))"
		echo "expiration_days = 365"
		echo "signing_key"
		echo "tls_www_server"
		echo "tls_www_client"
		printf '%s\n' "$@"
	} >"$name.tmpl"
	# shellcheck disable=SC2086
	certtool --generate-privkey $keyargs --no-text --outfile "$name.key" 2>/dev/null &&
		certtool --generate-certificate --load-privkey "$name.key" \
			--load-ca-certificate "$ca.pem" --load-ca-privkey "$ca.key" \
			--template "$name.tmpl" --hash="$hash" --no-text --outfile "$name.pem" 2>/dev/null
}

# pki_lab DIR: CA + BM-SC (ECDSA P-256) + two GCS AS (RSA-2048, ECDSA P-256)
pki_lab() {
	mkdir -p "$1" && (
		cd "$1" &&
			pki_ca ca &&
			pki_leaf bmsc bmsc.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
			pki_leaf gcs1 gcs1.mb2c.lab "--key-type=rsa --bits=2048" &&
			pki_leaf gcs2 gcs2.mb2c.lab "--key-type=ecdsa --curve=secp256r1"
	)
}

# pki_neg NAME IDENTITY KIND [CA]: a certificate that breaks one rule of the
# TS 33.310 profile (the rest is compliant). KIND: expired notyet rsa1024
# sha1 wrongsan cnonly servonly clionly nokeyusage p521
pki_neg() {
	local name=$1 id=$2 kind=$3 ca=${4:-ca}
	local key="--key-type=ecdsa --curve=secp256r1" hash=SHA256
	local -a t=("organization = \"MB2C Lab\"" "cn = \"$id\"" "serial = $((RANDOM * 32768 + RANDOM))")
	local san="dns_name = \"$id\"" ku="signing_key" eku=("tls_www_server" "tls_www_client")
	local validity="expiration_days = 365"
	case $kind in
	expired) validity=$'activation_date = "2020-01-01 00:00:00"\nexpiration_date = "2021-01-01 00:00:00"' ;;
	notyet) validity=$'activation_date = "2040-01-01 00:00:00"\nexpiration_date = "2041-01-01 00:00:00"' ;;
	rsa1024) key="--key-type=rsa --bits=1024" ;;
	sha1) key="--key-type=rsa --bits=2048" hash=SHA1 ;;
	wrongsan) san='dns_name = "www.example.org"' ;;
	cnonly) san="" ;;
	servonly) eku=("tls_www_server") ;;
	clionly) eku=("tls_www_client") ;;
	nokeyusage) ku="encryption_key" key="--key-type=rsa --bits=2048" ;;
	p521) key="--key-type=ecdsa --curve=secp521r1" ;;
	*) echo "pki_neg: unknown kind $kind" >&2; return 1 ;;
	esac
	{
		printf '%s\n' "${t[@]}" "$validity" "$ku" "${eku[@]}"
		[ -n "$san" ] && echo "$san"
	} >"$name.tmpl"
	# shellcheck disable=SC2086
	certtool --generate-privkey $key --no-text --outfile "$name.key" 2>/dev/null &&
		certtool --generate-certificate --load-privkey "$name.key" \
			--load-ca-certificate "$ca.pem" --load-ca-privkey "$ca.key" \
			--template "$name.tmpl" --hash="$hash" --no-text --outfile "$name.pem" 2>/dev/null
}

# pki_crl CA CERT...: CA.crl.pem revoking the given certificates
pki_crl() {
	local ca=$1; shift
	printf 'crl_next_update = 30\ncrl_number = %d\n' $((RANDOM)) >"$ca.crl.tmpl"
	local args=() c
	for c in "$@"; do cat "$c.pem"; done >"$ca.revoked.pem"
	certtool --generate-crl --load-ca-privkey "$ca.key" --load-ca-certificate "$ca.pem" \
		--load-certificate "$ca.revoked.pem" --template "$ca.crl.tmpl" \
		--outfile "$ca.crl.pem" 2>/dev/null
}

# pki_cert NAME KEYARGS CA [TEMPLATE-LINES...]: any certificate signed by CA
# with exactly the template lines given (organization and serial added), for
# CA certificates and leaves that break one rule. SHA-256.
pki_cert() {
	local name=$1 keyargs=$2 ca=$3
	shift 3
	{
		echo "organization = \"MB2C Lab\""
		echo "serial = $((RANDOM * 32768 + RANDOM))"
		printf '%s\n' "$@"
	} >"$name.tmpl"
	# shellcheck disable=SC2086
	certtool --generate-privkey $keyargs --no-text --outfile "$name.key" 2>/dev/null &&
		certtool --generate-certificate --load-privkey "$name.key" \
			--load-ca-certificate "$ca.pem" --load-ca-privkey "$ca.key" \
			--template "$name.tmpl" --hash=SHA256 --no-text --outfile "$name.pem" 2>/dev/null
}

# pki_crl_from CA NAME [TEMPLATE-LINES...] < certificates: NAME.crl.pem,
# signed with CA.key (or $CRL_KEY.key: a bad signature), revoking the
# certificates read from stdin (none: an empty CRL)
pki_crl_from() {
	local ca=$1 name=$2
	shift 2
	cat >"$name.revoked.pem"
	printf '%s\n' "crl_number = $((RANDOM + 1))" "$@" >"$name.crl.tmpl"
	local load=()
	[ -s "$name.revoked.pem" ] && load=(--load-certificate "$name.revoked.pem")
	certtool --generate-crl --load-ca-privkey "${CRL_KEY:-$ca}.key" \
		--load-ca-certificate "$ca.pem" "${load[@]}" --template "$name.crl.tmpl" \
		--no-text --outfile "$name.crl.pem" 2>/dev/null
}
