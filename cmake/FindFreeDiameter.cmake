# Locate freeDiameter (no pkg-config file or CMake package exists upstream).
# Sets FreeDiameter_FOUND, FreeDiameter_INCLUDE_DIR, FreeDiameter_VERSION,
# FreeDiameter_EXTENSIONS_DIR and the imported target FreeDiameter::fd
# (libfdcore + libfdproto + GnuTLS headers).
find_path(FreeDiameter_INCLUDE_DIR NAMES freeDiameter/extension.h)
find_library(FreeDiameter_FDCORE_LIBRARY NAMES fdcore)
find_library(FreeDiameter_FDPROTO_LIBRARY NAMES fdproto)
find_program(FreeDiameter_DAEMON NAMES freeDiameterd)

if(FreeDiameter_INCLUDE_DIR)
  set(_fdh "${FreeDiameter_INCLUDE_DIR}/freeDiameter/freeDiameter-host.h")
  foreach(_part MAJOR MINOR REV API)
    file(STRINGS "${_fdh}" _line REGEX "^#define FD_PROJECT_VERSION_${_part}[ \t]+[0-9]+")
    string(REGEX REPLACE ".*[ \t]([0-9]+)$" "\\1" FreeDiameter_VERSION_${_part} "${_line}")
  endforeach()
  set(FreeDiameter_VERSION
      "${FreeDiameter_VERSION_MAJOR}.${FreeDiameter_VERSION_MINOR}.${FreeDiameter_VERSION_REV}")
  file(STRINGS "${_fdh}" _line REGEX "^#define DEFAULT_EXTENSIONS_PATH")
  string(REGEX REPLACE ".*\"(.*)\".*" "\\1" _extdir "${_line}")
  set(FreeDiameter_EXTENSIONS_DIR "${_extdir}" CACHE PATH "freeDiameter extension directory")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(FreeDiameter
  REQUIRED_VARS FreeDiameter_INCLUDE_DIR FreeDiameter_FDCORE_LIBRARY FreeDiameter_FDPROTO_LIBRARY
  VERSION_VAR FreeDiameter_VERSION)

if(FreeDiameter_FOUND AND NOT TARGET FreeDiameter::fd)
  add_library(FreeDiameter::fd INTERFACE IMPORTED)
  set_target_properties(FreeDiameter::fd PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${FreeDiameter_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${FreeDiameter_FDCORE_LIBRARY};${FreeDiameter_FDPROTO_LIBRARY}")
endif()
