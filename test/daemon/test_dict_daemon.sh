#!/usr/bin/env bash
# A real freeDiameterd starts with dict_mb2c alone and with Debian's stock
# dictionary chain in both orders; a conflicting dictionary or a bad option
# stops it at start-up with a clear line.
# usage: test_dict_daemon.sh FDXDIR TOOLSDIR
set -uo pipefail
FDX=$1
TOOLS=$2
. "$(dirname "$0")/../lib/common.sh"
STOCK=${FD_STOCK_EXT_DIR:-/usr/lib/freeDiameter}

conf() { # conf NAME EXT-LINES...
	local name=$1; shift
	{
		echo "Identity = \"bmsc.mb2c.lab\"; Realm = \"mb2c.lab\";"
		echo "Port = $(free_port); SecPort = 0; No_SCTP; No_IPv6; NoRelay;"
		printf '%s\n' "$@"
	} >"$T/$name.conf"
	echo "$T/$name.conf"
}
own="LoadExtension = \"$FDX/dict_mb2c.fdx\";"
chain=("LoadExtension = \"$STOCK/dict_nasreq.fdx\";"
	"LoadExtension = \"$STOCK/dict_dcca.fdx\";"
	"LoadExtension = \"$STOCK/dict_dcca_3gpp.fdx\";")

starts() { # starts NAME CONF
	start_daemon "$1" "$2"
	if wait_log "$T/$1.log" "$FD_READY" 10 &&
		grep -q "dict_mb2c: MB2-C dictionary loaded" "$T/$1.log"; then
		stop_daemon "$1"
		[ "$STOP_RC" = 0 ] || { echo "  exit code $STOP_RC after SIGTERM"; return 1; }
		return 0
	fi
	sed 's/^/  | /' "$T/$1.log" | tail -20
	return 1
}

refuses() { # refuses NAME CONF REGEX: exits $FD_REFUSE_RC at start-up with REGEX logged
	local rc=0
	timeout -k 5 15 "$FDD" -c "$2" >"$T/$1.log" 2>&1 || rc=$?
	rc=$(fdd_rc "$rc" "$T/$1.log" "$FD_REFUSE_RC")
	if [ "$rc" = "$FD_REFUSE_RC" ] && grep -Eq -- "$3" "$T/$1.log" &&
		! grep -Eq "$FD_READY" "$T/$1.log"; then
		return 0
	fi
	echo "  rc=$rc"; sed 's/^/  | /' "$T/$1.log" | tail -8
	return 1
}

check "daemon starts with dict_mb2c alone" starts alone "$(conf alone "$own")"
check "daemon starts with dict_mb2c before the stock chain" \
	starts before "$(conf before "$own" "${chain[@]}")"
check "daemon starts with dict_mb2c after the stock chain" \
	starts after "$(conf after "${chain[@]}" "$own")"
check "strict Supported-Features option accepted" starts sfreq \
	"$(conf sfreq "LoadExtension = \"$FDX/dict_mb2c.fdx\" : \"supported_features=required\";")"
check "conflicting AVP definition stops the daemon with both names" refuses conflict \
	"$(conf conflict "LoadExtension = \"$TOOLS/dict_conflict.fdx\";" "$own")" \
	"dict_mb2c: AVP 3508 \(vendor 10415\) already defined as 'Radio-Frequency-Bogus' of type OctetString; MB2-C needs 'Radio-Frequency-29.468' of type Unsigned32"
check "unknown dict_mb2c option stops the daemon" refuses badopt \
	"$(conf badopt "LoadExtension = \"$FDX/dict_mb2c.fdx\" : \"bogus=1\";")" \
	"dict_mb2c: unknown option 'bogus=1'"
finish
