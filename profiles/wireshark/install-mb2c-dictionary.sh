#!/bin/bash
# Builds a personal Wireshark data folder DESTDIR whose diameter/ dictionary
# is the system one plus the MB2-C fragment (mb2c-29468.xml, AVPs 3518-3533).
# The system folder is never modified.
#
# usage: install-mb2c-dictionary.sh DESTDIR
#   then: WIRESHARK_DATA_DIR=DESTDIR tshark ...     (as a non-root user)
#
# Why a whole data folder: Wireshark 4.0 loads the Diameter dictionary only
# from <data dir>/diameter/dictionary.xml (there is no preference for it, and
# the personal configuration folder is not searched). The data dir can be
# moved with the WIRESHARK_DATA_DIR environment variable, which Wireshark
# ignores when it runs with special privileges (root included). DESTDIR
# therefore holds symbolic links to every entry of the system data folder
# except diameter/, which is a real copy with the fragment added.
#
# Environment: WIRESHARK_SYSTEM_DATA_DIR overrides the system data folder
# (default: tshark's "Global configuration" folder, else /usr/share/wireshark).
set -euo pipefail

die() {
	echo "install-mb2c-dictionary: $*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: $0 DESTDIR"
dest=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fragment=$here/mb2c-29468.xml
[ -f "$fragment" ] || die "missing $fragment"

sys=${WIRESHARK_SYSTEM_DATA_DIR:-}
if [ -z "$sys" ] && command -v tshark >/dev/null 2>&1; then
	# WIRESHARK_DATA_DIR must not leak into the question
	sys=$(env -u WIRESHARK_DATA_DIR tshark -G folders 2>/dev/null |
		sed -n 's/^Global configuration:[[:space:]]*//p' || true)
fi
sys=${sys:-/usr/share/wireshark}
[ -f "$sys/diameter/dictionary.xml" ] || die "no $sys/diameter/dictionary.xml"

sys_real=$(realpath "$sys")
dest_real=$(realpath -m "$dest")
[ "$dest_real" != "$sys_real" ] || die "DESTDIR must not be the system folder $sys"
case "$dest_real/" in
"$sys_real"/*) die "DESTDIR must not be inside the system folder $sys" ;;
esac
mkdir -p "$dest"

# 1. the rest of the data folder, as links
for entry in "$sys"/* "$sys"/.[!.]*; do
	[ -e "$entry" ] || continue
	name=$(basename "$entry")
	[ "$name" = diameter ] && continue
	ln -sfn "$entry" "$dest/$name"
done

# 2. a real copy of the dictionary folder (replaces an older copy)
rm -rf "$dest/diameter"
cp -R "$sys/diameter" "$dest/diameter"
chmod -R u+w "$dest/diameter"
cp "$fragment" "$dest/diameter/mb2c-29468.xml"

# 3. declare the entity and reference it next to Wireshark's &Custom;
dict=$dest/diameter/dictionary.xml
grep -q '<!ENTITY[[:space:]]\+Custom[[:space:]]' "$dict" ||
	die "$dict: no Custom entity declaration to anchor on"
grep -q '^[[:space:]]*&Custom;' "$dict" || die "$dict: no &Custom; reference to anchor on"
sed -i \
	-e '/<!ENTITY[[:space:]]\+Custom[[:space:]]/a\	<!ENTITY MB2C\t\tSYSTEM "mb2c-29468.xml">' \
	-e '/^[[:space:]]*&Custom;/a\	&MB2C;' "$dict"
[ "$(grep -c 'ENTITY MB2C' "$dict")" -eq 1 ] || die "$dict: entity not added once"
[ "$(grep -c '&MB2C;' "$dict")" -eq 1 ] || die "$dict: reference not added once"

# a future Wireshark that knows these codes would clash with the fragment
codes='code="35(1[89]|2[0-9]|3[0-3])"'
tgpp='vendor-id="TGPP"'
if grep -qE "${codes}[^>]*${tgpp}|${tgpp}[^>]*${codes}" "$sys"/diameter/*.xml; then
	echo "install-mb2c-dictionary: warning: $sys/diameter already defines some of" \
		"AVPs 3518-3533; check for duplicates" >&2
fi

echo "MB2-C Wireshark dictionary installed in $dest_real"
echo "use: WIRESHARK_DATA_DIR=$dest_real tshark ...   (not as root; see README.md)"
