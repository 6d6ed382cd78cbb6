# Package lists of the Debian-release roots (sourced by lane.sh and
# pkg_lane.sh; mkroot.sh caches one root per suite and list).
# DEV_PKGS: build the project, run its unit/in-process/daemon tests, build
# and lint the Debian packages (the same root serves the test lane and the
# package build of a release). Names are the same in bookworm and trixie
# (freeDiameter: freediameterd + freediameter-extensions + libfreediameter-dev).
DEV_PKGS=build-essential,debhelper,lintian,cmake,pkg-config
DEV_PKGS+=,libfreediameter-dev,freediameterd,freediameter-extensions
DEV_PKGS+=,libgnutls28-dev,libsqlite3-dev,libconfig-dev,libsctp-dev,libgcrypt20-dev,libidn2-dev
DEV_PKGS+=,gnutls-bin,iproute2,procps,psmisc,sqlite3
# INSTALL_PKGS: the clean root the built packages are installed into with
# apt-get (which pulls freeDiameter from the mirror); only the tools the lab
# run needs on top (certtool for its throwaway PKI, ss, pgrep).
INSTALL_PKGS=gnutls-bin,iproute2,procps
